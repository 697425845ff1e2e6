import AgentSupport
import Foundation
import Testing
import TestSupport

/// Diskless NFS-root nodes end to end (HOWTO 10.2 with one shared root): `clumpbuild generate` writes
/// the nodes' trees, exports and nfs-ganesha configuration; ganesha serves them with that very
/// configuration and `clumpbuild serve` gives DHCP and PXE, both in a master namespace; drones on
/// taps boot the agent's nfsroot mode into a small busybox root whose /sbin/init checks the node
/// from the inside and powers off.
@Suite("NFS-root nodes", .serialized)
struct NFSRootTests {
    static let bootSeconds = 400.0
    static let network = "10.67.0.0/24"
    static let server = "10.67.0.1"
    /// node11 and node12 boot the shared root; node13 a root without /sbin/init; node14 is given
    /// node11's tree on its command line, which the master must refuse to node14's address.
    static let macs = ["52:54:00:67:00:11", "52:54:00:67:00:12", "52:54:00:67:00:13", "52:54:00:67:00:14"]

    static func sha256(_ data: Data) -> String {
        Hex.encode(SHA256.hash(Array(data)))
    }

    /// The shared root's password hashes.
    static let shadow = "root:$y$j9T$nfsrootnfsrootnf$Zq0123456789012345678901234567890123456789:19700:0:99999:7:::\n"

    /// The root's /sbin/init: the node's view of itself, printed on the serial console.
    static let initScript = """
        #!/bin/sh
        export PATH=/bin
        exec >/dev/ttyS0 2>&1
        hostname -F /etc/hostname
        echo "clump-test: hostname $(hostname)"
        echo "written by $(hostname)" > /var/log/clump-test.log && echo "clump-test: wrote /var/log/clump-test.log"
        echo "in RAM only" > /etc/clump-test-ram
        # The secrets the master handed over in the join session, and their owner and mode.
        for secret in /etc/shadow /etc/ssh/ssh_host_ed25519_key; do
            if [ -r $secret ]; then echo "clump-test: secret $secret $(sha256sum < $secret | cut -d" " -f1) $(stat -c "%a %u %g" $secret)"
            else echo "clump-test: no secret $secret"; fi
        done
        # What a tampered tree must not have given the node: setuid bits, device nodes, binds outside the data.
        [ -e /bin/planted ] && echo "clump-test: planted mode $(stat -c %a /bin/planted)"
        if [ -e /etc/planted-device ]; then echo "clump-test: device node laid"; else echo "clump-test: no device node"; fi
        if grep -q " /sbin " /proc/mounts; then echo "clump-test: /sbin bound"; else echo "clump-test: /sbin not bound"; fi
        echo "clump-test: var/log mount $(grep " /var/log " /proc/mounts | cut -d" " -f4)"
        for word in $(cat /proc/cmdline); do
            case "$word" in clump.root=*) root=${word#clump.root=} ;; clump.node=*) node=${word#clump.node=} ;; esac
        done
        server=${root%%:*}
        me=$(ip -4 -o addr show dev eth0 | sed 's/.*inet \\([0-9.]*\\).*/\\1/')
        mkdir -p /mnt/shared /mnt/other
        if mount -t nfs4 -o vers=4.1,addr=$server,clientaddr=$me $root /mnt/shared; then
            if touch /mnt/shared/written-by-$(hostname); then echo "clump-test: shared root write succeeded"
            else echo "clump-test: shared root write failed"; fi
            if cat /mnt/shared/etc/shadow > /dev/null 2>&1; then echo "clump-test: shared shadow readable"
            else echo "clump-test: shared shadow unreadable"; fi
        else
            echo "clump-test: shared root mount failed"
        fi
        for other in node11 node12; do
            [ "$other" = "$(hostname)" ] && continue
            if mount -t nfs4 -o vers=4.1,addr=$server,clientaddr=$me ${node%/*}/$other /mnt/other; then
                echo "clump-test: mounted $other's tree"
            else
                echo "clump-test: cannot mount $other's tree"
            fi
        done
        echo "clump-test: done"
        poweroff -f

        """

    /// The master's files: spec, inventory, the two roots, and the built image under out/.
    struct Master {
        let directory: String
        let spec: String
        let out: String
        var root: String { directory + "/root" }
        var noInit: String { directory + "/noinit" }
        var master: String { out + "/master" }
        var tftp: String { master + "/tftp" }
        func tree(_ name: String) -> String { master + "/nfsroot/nodes/" + name }
        func data(_ name: String) -> String { master + "/nfsroot/data/" + name }
        func hostKey(_ name: String) -> String { out + "/join/nodes/" + name + "/ssh_host_ed25519_key" }

        init() throws {
            directory = try Harness.scratch("nfsroot")
            spec = directory + "/clump.yaml"
            out = directory + "/out"
            try """
                cluster:
                  network: \(NFSRootTests.network)
                  join: known-macs
                boot:
                  timeout: 0
                nfsroot:
                  root: \(directory)/root
                  writable: [/var/log]

                """.write(toFile: spec, atomically: true, encoding: .utf8)
            let macs = NFSRootTests.macs
            try """
                - {mac: "\(macs[0])", address: 10.67.0.11, boot: nfsroot}
                - {mac: "\(macs[1])", address: 10.67.0.12, boot: nfsroot}
                - mac: "\(macs[2])"
                  address: 10.67.0.13
                  boot: nfsroot
                  root: \(directory)/noinit
                - mac: "\(macs[3])"
                  address: 10.67.0.14
                  boot: nfsroot
                  kernel-args: ["clump.node=\(NFSRootTests.server):\(out)/master/nfsroot/nodes/node11"]

                """.write(toFile: directory + "/nodes.yaml", atomically: true, encoding: .utf8)
            try Self.makeRoot(root, initScript: NFSRootTests.initScript)
            try Self.makeRoot(noInit, initScript: nil)
            let built = try Harness.run(
                [try Harness.clumpbuild, "build", "--spec", spec, "--out", out], cwd: directory,
                environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            guard built.status == 0 else { throw HarnessError("clumpbuild build failed:\n\(built.output)") }
            // The drones' image leaves the NFS client out; the nodes boot through the add-on beside it.
            guard built.output.contains("nfsroot add-on:"),
                FileManager.default.fileExists(atPath: out + "/tftpboot/nfsroot.img")
            else { throw HarnessError("no nfsroot.img add-on in the build:\n\(built.output)") }
            let generated = try Harness.run([try Harness.clumpbuild, "generate", "--spec", spec, "--out", out], cwd: directory)
            guard generated.status == 0 else { throw HarnessError("clumpbuild generate failed:\n\(generated.output)") }
        }

        /// A busybox root (Debian's busybox-static): the applets the init script uses, an
        /// /etc/hostname the node's own must replace, and the init when given.
        static func makeRoot(_ root: String, initScript: String?) throws {
            let fm = FileManager.default
            for directory in ["bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "mnt", "var/log"] {
                try fm.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
            }
            try fm.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
            for applet in ["sh", "mount", "hostname", "cat", "echo", "touch", "poweroff", "mkdir", "sed", "ip", "stat", "grep", "cut", "sha256sum"] {
                try fm.createSymbolicLink(atPath: root + "/bin/" + applet, withDestinationPath: "busybox")
            }
            try "sharedroot\n".write(toFile: root + "/etc/hostname", atomically: true, encoding: .utf8)
            // Root's only (group shadow, no group bits), as the shared-root check wants it: nodes get it in their session.
            try NFSRootTests.shadow.write(toFile: root + "/etc/shadow", atomically: true, encoding: .utf8)
            chown(root + "/etc/shadow", 0, 42)
            chmod(root + "/etc/shadow", 0o600)
            if let initScript {
                try initScript.write(toFile: root + "/sbin/init", atomically: true, encoding: .utf8)
                try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/sbin/init")
            }
        }

        func boot(_ index: Int, lan: NFSRootLAN) throws -> Console {
            try Console(
                "nfsroot-node\(11 + index)",
                bootArguments: [
                    tftp, "--nic", "e1000,tap=\(lan.tap(index + 1)),mac=\(NFSRootTests.macs[index])", "--memory", "256",
                    "--timeout", "\(Int(NFSRootTests.bootSeconds))",
                ], namespace: lan.namespace)
        }
    }

    @Test("nfsroot nodes boot the shared root with their own files; refused, silent and init-less roots fail clearly")
    func nfsrootNodes() throws {
        let master = try Master()
        defer { try? FileManager.default.removeItem(atPath: master.directory) }

        // The exports name hosts, never `*`: the shared root read-only and squashed, each tree to its node.
        let exports = try String(contentsOfFile: master.master + "/nfs/exports", encoding: .utf8)
        let lines = exports.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!exports.contains("*"), "\(exports)")
        #expect(lines.contains("\(master.root) " + (11...14).filter { $0 != 13 }.map {
            "10.67.0.\($0)(ro,root_squash,no_subtree_check,sec=sys)" }.joined(separator: " ")), "\(exports)")
        #expect(lines.contains("\(master.tree("node11")) 10.67.0.11(ro,root_squash,no_subtree_check,sec=sys)"), "\(exports)")
        #expect(lines.contains("\(master.data("node11")) 10.67.0.11(rw,root_squash,no_subtree_check,sec=sys)"), "\(exports)")
        #expect(!exports.contains("no_root_squash"), "\(exports)")
        #expect(try String(contentsOfFile: master.tree("node11") + "/files/etc/hostname", encoding: .utf8) == "node11\n")

        // node12's description as if someone had written it: a setuid program, a device node, and
        // writable directories naming the whole root and /sbin. None of it may reach the node.
        let tampered = master.tree("node12")
        try FileManager.default.createDirectory(atPath: tampered + "/files/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: tampered + "/files/bin/planted")
        chmod(tampered + "/files/bin/planted", 0o4755)
        #expect(mknod(tampered + "/files/etc/planted-device", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0, "mknod: the null device's numbers, 1:3")
        try "/var/log\n/\n/sbin\n".write(toFile: tampered + "/writable.list", atomically: true, encoding: .utf8)

        let lan = try NFSRootLAN(taps: 4)
        defer { lan.remove() }
        let serve = try Console(
            "serve", clumpbuild: ["serve", "--spec", master.spec, "--out", master.out, "--interface", "br0"],
            namespace: lan.namespace)
        defer { _ = try? serve.stop() }
        try serve.expect("clump: serving DHCP and TFTP on br0", within: 60)
        try lan.startGanesha(config: master.master + "/nfs/ganesha.conf")

        // 1. Two nodes on the shared root.
        let nodes = try (0..<2).map { try master.boot($0, lan: lan) }
        for (index, node) in nodes.enumerated() {
            let name = "node\(11 + index)"
            let address = "10\\.67\\.0\\.\(11 + index)"
            try node.expect("clump: lease eth0 \(address)/24", within: Self.bootSeconds)
            // It joins (its MAC is in the inventory, and the spec says known-macs) before it mounts anything.
            try node.expect("clump: joined 10\\.67\\.0\\.1 \\(approved by mac\\)", within: 60)
            try serve.expect(
                "clump: join: \(name) gets etc/ssh/ssh_host_ed25519_key etc/ssh/ssh_host_ed25519_key.pub etc/shadow \\(", within: 30)
            try node.expect("clump: nfsroot 10\\.67\\.0\\.1:\(NSRegularExpression.escapedPattern(for: master.root))\r?\n", within: 60)
            if index == 1 {
                try node.expect("clump: nfsroot ignored files/bin/planted: its setuid, setgid or sticky bits were dropped", within: 120)
                try node.expect("clump: nfsroot ignored files/etc/planted-device: a device node, not laid", within: 60)
                try node.expect("clump: nfsroot ignored a writable directory: / is not a plain absolute directory", within: 60)
                try node.expect("clump: nfsroot ignored a writable directory: /sbin is outside the data areas", within: 60)
            }
            try node.expect("clump: nfsroot node files .*nodes/\(name), writable /var/log\r?\n", within: 120)
            try node.expect(
                "clump: nfsroot secrets of \(name) in RAM: etc/ssh/ssh_host_ed25519_key etc/ssh/ssh_host_ed25519_key.pub etc/shadow\r?\n",
                within: 60)
            try node.expect("clump: nfsroot switching to /sbin/init", within: 60)
            try node.expect("clump-test: hostname \(name)\r?\n", within: 60)
            try node.expect("clump-test: wrote /var/log/clump-test.log", within: 60)
            // The root's hashes as the root has them, and the node's own host key as serve keeps it.
            let hostKey = try Data(contentsOf: URL(fileURLWithPath: master.hostKey(name)))
            try node.expect("clump-test: secret /etc/shadow \(Self.sha256(Data(Self.shadow.utf8))) 600 0 42\r?\n", within: 60)
            try node.expect("clump-test: secret /etc/ssh/ssh_host_ed25519_key \(Self.sha256(hostKey)) 600 0 0\r?\n", within: 60)
            if index == 1 { try node.expect("clump-test: planted mode 755\r?\n", within: 60) }
            try node.expect("clump-test: no device node", within: 60)
            try node.expect("clump-test: /sbin not bound", within: 60)
            try node.expect("clump-test: var/log mount rw,nosuid,nodev", within: 60)
            try node.expect("clump-test: shared root write failed", within: 120)
            try node.expect("clump-test: shared shadow unreadable", within: 60)
            let other = index == 0 ? "node12" : "node11"
            try node.expect("clump-test: cannot mount \(other)'s tree", within: 120)
            try node.expect("clump-test: done", within: 60)
            #expect(!node.transcript.contains("clump-test: mounted"), "\(node.transcript.suffix(2000))")
            _ = try node.waitForExit(within: 120)
        }
        // Each node has a host key of its own, in serve's state only; the known-hosts file has the public halves.
        let keys = try ["node11", "node12"].map { try Data(contentsOf: URL(fileURLWithPath: master.hostKey($0))) }
        #expect(keys[0] != keys[1])
        let knownHosts = try String(contentsOfFile: master.master + "/ssh_known_hosts", encoding: .utf8)
        for name in ["node11", "node12"] {
            let pub = try String(contentsOfFile: master.hostKey(name) + ".pub", encoding: .utf8)
            #expect(knownHosts.contains("\(name),10.67.0.\(name.suffix(2)) \(pub)"), "\(knownHosts)")
        }
        // Nothing the master serves holds a host key or the hash: the node trees, TFTP, images.
        let hash = String(Self.shadow.split(separator: ":")[1])
        let needles = [(name: "the root's hash", bytes: Data(hash.utf8))] + keys.enumerated().map { index, key in
            // The fourth line of the armour: bytes 157-210 of the file, which hold the private half.
            let body = String(decoding: key, as: UTF8.self).split(separator: "\n")[4]
            return (name: "node1\(index + 1)'s host key", bytes: Data(body.utf8))
        }
        let found = try SecretScan.find(needles, under: master.out, scratch: master.directory + "/unpacked", skipping: ["join"])
        #expect(found.isEmpty, "secrets in what the master serves: \(found)")

        // Each node's log is in its own tree and nowhere else; nothing reached the shared root.
        // Root's writes there are squashed: the file is nobody's.
        for name in ["node11", "node12"] {
            let log = try String(contentsOfFile: master.data(name) + "/var/log/clump-test.log", encoding: .utf8)
            #expect(log == "written by \(name)\n")
            var info = stat()
            #expect(stat(master.data(name) + "/var/log/clump-test.log", &info) == 0 && info.st_uid == 65534)
        }
        let logs = try FileManager.default.subpathsOfDirectory(atPath: master.master).filter { $0.hasSuffix("clump-test.log") }
        #expect(Set(logs) == ["nfsroot/data/node11/var/log/clump-test.log", "nfsroot/data/node12/var/log/clump-test.log"])
        #expect(!FileManager.default.fileExists(atPath: master.tree("node11") + "/files/etc/clump-test-ram"), "RAM writes stay on the node")
        let rootFiles = try FileManager.default.subpathsOfDirectory(atPath: master.root)
        #expect(!rootFiles.contains { $0.contains("clump-test") || $0.contains("written-by") }, "\(rootFiles)")
        #expect(try String(contentsOfFile: master.root + "/etc/hostname", encoding: .utf8) == "sharedroot\n")

        // 2. Someone takes node11's address while it is off, as root on their own PC, with a user-space
        // NFS client claiming uid 0: the description stays as the master wrote it, and what they can
        // write into the data is nobody's, never a setuid root program.
        let attacker = try lan.addHost(address: "10.67.0.11/24")
        let planted = master.directory + "/planted"
        try "#!/bin/sh\nid\n".write(toFile: planted, atomically: true, encoding: .utf8)
        chmod(planted, 0o4755)
        let description = [master.tree("node11") + "/writable.list", master.tree("node11") + "/files/etc/hostname"]
        let before = description.map { FileManager.default.contents(atPath: $0) }
        for target in description {
            let copy = try Harness.run(["ip", "netns", "exec", attacker, "nfs-cp", planted, NFSRootLAN.url(target)])
            #expect(copy.status != 0, "the attacker wrote \(target): \(copy.output)")
        }
        #expect(description.map { FileManager.default.contents(atPath: $0) } == before, "the description changed")
        let dropped = master.data("node11") + "/var/log/planted"
        // The data export takes the file (libnfs may report its write failing: it is made all the same),
        // as nobody's, never a setuid program of root's.
        let copy = try Harness.run(["ip", "netns", "exec", attacker, "nfs-cp", planted, NFSRootLAN.url(dropped)])
        var info = stat()
        #expect(stat(dropped, &info) == 0, "the attack did not reach the data export: \(copy.output)")
        #expect(info.st_uid == 65534 && info.st_gid == 65534, "owner \(info.st_uid):\(info.st_gid)")
        #expect(info.st_uid != 0 || info.st_mode & (S_ISUID | S_ISGID) == 0, "a setuid program of root's")
        lan.removeHost(attacker)

        // 3. A root without /sbin/init.
        let noInit = try master.boot(2, lan: lan)
        try noInit.expect("clump: nfsroot failed: no /sbin/init in the root 10\\.67\\.0\\.1:", within: Self.bootSeconds)
        _ = try noInit.stop()

        // 4. node14 asks for node11's tree: the master refuses it to node14's address.
        let refused = try master.boot(3, lan: lan)
        try refused.expect(
            "clump: nfsroot failed: the server (refused the export|has no export) 10\\.67\\.0\\.1:.*nodes/node11",
            within: Self.bootSeconds)
        _ = try refused.stop()

        // 5. The server is down: a line per attempt, then a clear failure, no silent hang.
        lan.stopGanesha()
        let down = try master.boot(0, lan: lan)
        try down.expect(
            "clump: nfsroot server 10\\.67\\.0\\.1 not answering \\(.*\\), attempt 1 of 5; again in 2 s", within: Self.bootSeconds)
        try down.expect("attempt 2 of 5", within: 60)
        try down.expect("clump: nfsroot failed: server 10\\.67\\.0\\.1 not answering on NFS port 2049", within: 120)
        _ = try down.stop()
    }
}

/// The master's LAN for NFS-root nodes, in a namespace of its own: a bridge at 10.67.0.1/24 (a
/// network no other test uses), a tap per drone, and nfs-ganesha started on demand.
final class NFSRootLAN: @unchecked Sendable {
    let namespace: String
    private let directory: String
    private var ganesha: pid_t?

    init(taps: Int) throws {
        namespace = "clumpnfs\(getpid() % 100_000)"
        directory = try Harness.scratch("nfslan")
        if (try? Spawn.run(["which", "ganesha.nfsd"])) == nil || (try? Spawn.run(["which", "nfs-cp"])) == nil {
            throw HarnessError(
                "the NFS-root test needs nfs-ganesha and libnfs' tools: apt-get install nfs-ganesha nfs-ganesha-vfs libnfs-utils")
        }
        do {
            try DroneLAN.makeBridge(in: namespace, address: "10.67.0.1/24", taps: (1...taps).map(tap))
        } catch {
            remove()
            throw error
        }
    }

    func tap(_ drone: Int) -> String { "tap\(drone)" }

    /// Starts ganesha in the namespace with `config` and waits until it listens on 2049.
    func startGanesha(config: String) throws {
        let pid = try Spawn.start(
            [
                "ip", "netns", "exec", namespace, "ganesha.nfsd", "-F", "-f", config, "-L", directory + "/ganesha.log",
                "-p", directory + "/ganesha.pid",
            ], output: directory + "/ganesha.out")
        ganesha = pid
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let status = Spawn.wait(pid, timeout: 0) {
                ganesha = nil
                throw HarnessError("ganesha exited (\(status)): \(log)")
            }
            let listening = (try? Spawn.run(["ip", "netns", "exec", namespace, "ss", "-Hltn", "sport", "=", ":2049"])) ?? ""
            if listening.contains("2049") { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw HarnessError("ganesha does not listen on 2049 after 60 s: \(log)")
    }

    func addHost(address: String) throws -> String { try DroneLAN.addHost(to: namespace, address: address) }

    func removeHost(_ host: String) { DroneLAN.removeHost(host) }

    /// A libnfs URL (libnfs-utils: the host kernel may have no NFS client) for `path` on the master,
    /// NFSv4 as ganesha serves it, claiming root as any PC can with `sec=sys`.
    static func url(_ path: String) -> String {
        "nfs://\(NFSRootTests.server)\(path)?version=4&uid=0&gid=0"
    }

    func stopGanesha() {
        if let ganesha { Spawn.stop(ganesha) }
        ganesha = nil
    }

    var log: String { (try? String(contentsOfFile: directory + "/ganesha.log", encoding: .utf8)) ?? "(no log)" }

    func remove() {
        stopGanesha()
        removeHost(namespace + "x")
        _ = try? Spawn.run(["ip", "netns", "del", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
