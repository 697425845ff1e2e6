import Foundation
import Glibc
import TestSupport
import Testing

/// The engine end to end: a master namespace runs munged and slurmctld on the configuration
/// `clumpbuild generate` wrote; drones booted from an image with `engine.slurm` register as dynamic
/// nodes and run jobs; one leaves from its view, drained first. Network 10.69.0.0/24, namespace
/// clumpslurm<pid>: no other test uses them.
@Suite(.serialized) struct SlurmTests {
    static let bootSeconds = 600.0
    static let prefix = "10.69.0"

    /// A spec with the engine on, for the master `master`, with the MUNGE key `key`; `join: open`
    /// puts that key in the image, the default keeps it on the master for joined drones.
    static func spec(key: String, socket: String, join: String = "approve") -> String {
        """
        cluster:
          network: \(prefix).0/24
          join: \(join)
        boot:
          timeout: 1
        engine:
          slurm:
            controller: \(prefix).1
            munge-key-file: \(key)
            munge-socket: \(socket)
            features: [clump]

        """
    }

    /// Builds the image (and, with `generate`, the master directory) from `spec` into `work`/out.
    static func build(_ spec: String, in work: String, generate: Bool) throws -> String {
        try spec.write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
        let out = work + "/out"
        var steps = [["build", "--spec", work + "/clump.yaml", "--out", out]]
        if generate { steps.append(["generate", "--spec", work + "/clump.yaml", "--out", out]) }
        for step in steps {
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild] + step, cwd: work, environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            guard status == 0 else { throw HarnessError("clumpbuild \(step[0]) failed (\(status)):\n\(output)") }
        }
        return out
    }

    static func boot(_ lan: DroneLAN, _ drone: Int, iso: String) throws -> Console {
        try Console(
            "slurm-drone-\(drone)",
            bootArguments: [iso, "--mode", "auto"] + lan.nic(drone) + ["--memory", "256", "--timeout", "900"],
            namespace: lan.namespace)
    }

    /// `sinfo` per node: `node11 idle`, one line each.
    static func nodes(_ master: SlurmMaster) throws -> [String: String] {
        let (status, output) = try master.run(["sinfo", "--noheader", "--Node", "--format=%N %t"])
        guard status == 0 else { throw HarnessError("sinfo failed: \(output)") }
        var states: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 2 { states[String(words[0])] = String(words[1]) }
        }
        return states
    }

    static func hex(_ bytes: Data) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A PC on the LAN that listens on the cluster port, keeps a few announcements it hears, and
    /// sends them back to the cluster's broadcast, each as it was (a replay) and with a byte of its
    /// MAC changed (tampered), a few rounds a second.
    struct DatagramAttack: Sendable {
        let namespace: String
        let broadcast: String

        struct Sent: CustomStringConvertible {
            var replayed = 0
            var tampered = 0
            var description: String { "\(replayed) replayed, \(tampered) tampered" }
        }

        /// Waits `delay` s (so the view hears the originals first), captures, then attacks for `seconds`.
        func run(after delay: Double, for seconds: Double) throws -> Sent {
            final class Box: @unchecked Sendable { var result: Swift.Result<Sent, Error> = .failure(HarnessError("never ran")) }
            let box = Box()
            let done = DispatchSemaphore(value: 0)
            let (namespace, broadcast) = (namespace, broadcast)
            let thread = Thread {
                defer { done.signal() }
                box.result = Swift.Result {
                    try Namespace.enter(namespace)
                    return try Self.attack(broadcast: broadcast, delay: delay, seconds: seconds)
                }
            }
            thread.start()
            done.wait()
            return try box.result.get()
        }

        static func attack(broadcast: String, delay: Double, seconds: Double) throws -> Sent {
            let fd = try broadcastSocket(port: 7077)
            defer { close(fd) }
            Thread.sleep(forTimeInterval: delay)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var heard: [[UInt8]] = []
            var buffer = [UInt8](repeating: 0, count: 2048)
            let listenUntil = Date().addingTimeInterval(10)
            while heard.count < 4, Date() < listenUntil {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 32 { heard.append(Array(buffer.prefix(count))) }
            }
            guard !heard.isEmpty else { throw HarnessError("the attacker heard no announcement on the LAN") }
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = UInt16(7077).bigEndian
            inet_pton(AF_INET, broadcast, &target.sin_addr)
            func send(_ bytes: [UInt8]) -> Bool {
                withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == bytes.count
                    }
                }
            }
            var sent = Sent()
            let until = Date().addingTimeInterval(seconds)
            while Date() < until {
                for datagram in heard {
                    if send(datagram) { sent.replayed += 1 }
                    var changed = datagram
                    changed[changed.count - 1 - sent.tampered % 16] ^= 0x5A
                    if send(changed) { sent.tampered += 1 }
                }
                Thread.sleep(forTimeInterval: 0.25)
            }
            return sent
        }
    }

    /// The LAN, the controller on the generated configuration, the image with the engine, and the
    /// master's join service (`serve --join-only --enrol`: the window lets the drones in, and they
    /// get the MUNGE key over their sessions; the image has none).
    final class Lab {
        let lan: DroneLAN
        let work: String
        let master: SlurmMaster
        let out: String
        var serve: Console?

        init(drones: Int, name: String, serving: Bool = true) throws {
            lan = try DroneLAN(drones: drones, name: name, prefix: SlurmTests.prefix)
            let lan = lan
            var made: (work: String, master: SlurmMaster)?
            do {
                let work = try Harness.scratch(name)
                let master = try SlurmMaster(namespace: lan.namespace, directory: work + "/master")
                made = (work, master)
                self.work = work
                self.master = master
                out = try SlurmTests.build(
                    SlurmTests.spec(key: self.master.keyFile, socket: self.master.socket), in: work, generate: true)
                try self.master.start(
                    slurmConf: String(contentsOfFile: out + "/master/slurm/slurm.conf", encoding: .utf8),
                    cgroupConf: String(contentsOfFile: out + "/master/slurm/cgroup.conf", encoding: .utf8))
                if serving {
                    let serve = try Self.serve(work + "/clump.yaml", out, lan: lan, slurm: master)
                    self.serve = serve
                }
            } catch {
                made?.master.stop()
                if let work = made?.work { try? FileManager.default.removeItem(atPath: work) }
                lan.remove()
                throw error
            }
        }

        /// `serve --join-only --enrol` for `spec` on the LAN's bridge, with the controller's configuration
        /// for `scontrol`; returns once it listens.
        static func serve(_ spec: String, _ out: String, lan: DroneLAN, slurm: SlurmMaster, name: String = "serve") throws -> Console {
            let serve = try Console(
                name, clumpbuild: ["serve", "--spec", spec, "--out", out, "--interface", "br0", "--join-only", "--enrol"],
                namespace: lan.namespace, environment: ["SLURM_CONF": slurm.configuration])
            do {
                try serve.expect("clump: serving joins only on 10\\.69\\.0\\.1 port 7078", within: 60)
            } catch {
                _ = try? serve.stop()
                throw error
            }
            return serve
        }

        func remove() {
            _ = try? serve?.stop()
            master.stop()
            lan.remove()
            try? FileManager.default.removeItem(atPath: work)
        }
    }

    @Test("two drones run srun -N2; one is revoked (off the controller, out of the master's view, refused), the other leaves drained")
    func twoDronesTakeJobs() async throws {
        let lab = try Lab(drones: 2, name: "clumpslurm")
        defer { lab.remove() }
        let (lan, master, out) = (lab.lan, lab.master, lab.out)

        let drones = try (1...2).map { try Self.boot(lan, $0, iso: out + "/clump.iso") }
        for (index, drone) in drones.enumerated() {
            let name = "node\(11 + index)"
            try drone.expect(#"clump: node \#(11 + index) network 10\.69\.0\.0/24"#, within: Self.bootSeconds)
            try drone.expect(#"clump: joined 10\.69\.0\.1 \(approved by window\)"#, within: 120)
            try drone.expect(#"clump: slurm registered with 10\.69\.0\.1 as \#(name)"#, within: 180)
        }
        // The announcements carry the engine (version 5 datagrams): the view's list grows a SLURM column.
        try drones[1].expect("AGE SLURM", within: 120)
        try master.waitFor("both drones idle", seconds: 60) {
            let states = (try? Self.nodes(master)) ?? [:]
            return states["node11"] == "idle" && states["node12"] == "idle"
        }
        // DisableRootJobs: root's job is refused; the image carries the master's regular users and
        // nobody, so a job as nobody runs on both.
        let rootJob = try master.run(["srun", "-N2", "--time=1", "--chdir=/tmp", "hostname"], timeout: 60)
        #expect(rootJob.status != 0, "root's job ran: \(rootJob.output)")
        let job = try master.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "srun", "-N2", "--time=1", "--chdir=/tmp",
             "hostname"], timeout: 180)
        #expect(job.status == 0, "\(job.output)\n\(master.log)")
        #expect(job.output.split(separator: "\n").map(String.init).sorted() == ["node11", "node12"], "\(job.output)")

        // The master's view, on the keys serve keeps for it, hears both.
        let view = { (wait: Int) throws -> Set<String> in
            let (status, output) = try Harness.run([
                "ip", "netns", "exec", lan.namespace, try Harness.binDir + "/clumpview", "--json", "--join", "\(Self.prefix).0/24",
                "--key", out + "/join/cluster.key", "--wait", "\(wait)",
            ])
            guard status == 0 else { throw HarnessError("clumpview failed (\(status)): \(output)") }
            return try MasterServeTests.upAddresses(output)
        }
        #expect(try view(30).isSuperset(of: ["\(Self.prefix).11", "\(Self.prefix).12"]))

        // The MUNGE key rotated as the README says (a new key renamed over the spec's file, munged on the
        // controller started again): serve sees it within a second and sends it over both sessions, and
        // each drone starts its munged again with it; a job on both nodes proves both ends have it.
        let serve = try #require(lab.serve)
        try master.rotateKey()
        try serve.expect("clump: join: the MUNGE key in .* changed: 2 joined drones get it now", within: 10)
        for drone in drones {
            try drone.expect("clump: slurm: the master sent a new MUNGE key: munged starts again with it", within: 30)
        }
        let rotatedJob = try master.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "srun", "-N2", "--time=1", "--chdir=/tmp",
             "hostname"], timeout: 180)
        #expect(rotatedJob.status == 0, "\(rotatedJob.output)\n\(master.log)")
        #expect(rotatedJob.output.split(separator: "\n").map(String.init).sorted() == ["node11", "node12"], "\(rotatedJob.output)")

        // An attacker's PC on the LAN with everything the image holds: no MUNGE key is in it, old or new,
        // so the credentials its own munged makes are refused by slurmctld; and what it sends on the
        // cluster port (announcements it heard, replayed and tampered with) is dropped, not believed.
        let key = try Data(contentsOf: URL(fileURLWithPath: master.keyFile))
        let needles = [
            (name: "the MUNGE key (bytes)", bytes: key.prefix(64)), (name: "the MUNGE key (hex)", bytes: Data(Self.hex(key.prefix(64)).utf8)),
            (name: "the MUNGE key (base64)", bytes: Data(key.prefix(63).base64EncodedString().utf8)),
        ]
        let leaked = try SecretScan.find(needles, under: out, scratch: lab.work + "/unpacked", skipping: ["join"])
        #expect(leaked.isEmpty, "the MUNGE key in what the master hands out: \(leaked)")
        let host = try DroneLAN.addHost(to: lan.namespace, address: "\(Self.prefix).66/24")
        defer { DroneLAN.removeHost(host) }
        let attacker = try SlurmMaster(namespace: host, directory: lab.work + "/attacker")
        defer { attacker.stop() }
        try attacker.startMunged()
        try String(contentsOfFile: master.configuration, encoding: .utf8)
            .replacingOccurrences(of: master.socket, with: attacker.socket)
            .write(toFile: attacker.configuration, atomically: true, encoding: .utf8)
        // Only what slurmctld logs from here on: the rotation may have logged refusals of its own.
        let controllerLog = master.directory + "/log/slurmctld.log"
        let logged = (try? Data(contentsOf: URL(fileURLWithPath: controllerLog)))?.count ?? 0
        let forged = try attacker.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "srun", "-N1", "--time=1", "--chdir=/tmp",
             "hostname"], timeout: 60)
        #expect(forged.status != 0, "a job with the attacker's credential ran: \(forged.output)")
        // slurmctld hangs up on it ("zero bytes were transmitted or received") and logs why.
        try master.waitFor("slurmctld's refusal in its log", seconds: 10) {
            let text = String(decoding: ((try? Data(contentsOf: URL(fileURLWithPath: controllerLog))) ?? Data()).dropFirst(logged), as: UTF8.self)
            return text.contains("Munge decode failed: Invalid credential") || text.contains("has authentication error")
        }
        let takenDown = try attacker.run(["scontrol", "update", "nodename=node11", "state=down", "reason=attack"])
        #expect(takenDown.status != 0, "\(takenDown.output)")
        #expect(try Self.nodes(master)["node11"] == "idle", "\(master.log)")

        // The drones' own views count what they drop, and show it in their footer (`dropped N`).
        let marks = drones.map(\.mark)
        let listening = try Spawn.start(
            [
                "ip", "netns", "exec", lan.namespace, try Harness.binDir + "/clumpview", "--json", "--join", "\(Self.prefix).0/24",
                "--key", out + "/join/cluster.key", "--wait", "14",
            ], output: lab.work + "/attacked-view.json")
        let sent = try DatagramAttack(namespace: host, broadcast: "\(Self.prefix).255").run(after: 2, for: 6)
        #expect(sent.replayed > 0 && sent.tampered > 0, "\(sent)")
        for (drone, mark) in zip(drones, marks) { try drone.expect("dropped [1-9][0-9]*", within: 30, after: mark) }
        #expect(Spawn.wait(listening, timeout: 60) == 0)
        // The master's view, all along: the two drones up, nobody invented, the attacker not among them.
        let report = try String(contentsOfFile: lab.work + "/attacked-view.json", encoding: .utf8)
        let up = try MasterServeTests.upAddresses(report)
        #expect(up.isSuperset(of: ["\(Self.prefix).11", "\(Self.prefix).12"]), "\(report)")
        #expect(up.isSubset(of: ["\(Self.prefix).1", "\(Self.prefix).11", "\(Self.prefix).12"]), "\(report)")

        // Revoked: node12's session ends and it is refused from then on, the controller forgets it, and
        // node11 gets the new key epoch's key over its session; the revoked node's old key goes stale.
        #expect(FileManager.default.fileExists(atPath: out + "/join/cluster.key"))
        let revoke = try Harness.run([try Harness.clumpbuild, "revoke", "node12", "--out", out])
        #expect(revoke.status == 0, "\(revoke.output)")
        #expect(revoke.output == "revoked node12: 1 sessions ended; key epoch 2 begins in 3 s without it\n", "\(revoke.output)")
        try serve.expect(#"clump: join: node12 \(52:54:00:[0-9a-f:]+\) revoked by the operator; 1 sessions ended"#, within: 10)
        try serve.expect("clump: join: node12 removed from the Slurm controller", within: 30)
        try serve.expect("clump: join: key epoch 2 begins; 1 joined drones have its key", within: 10)
        try drones[1].expect("clump: join: 10\\.69\\.0\\.1 refused this machine: node12 was revoked by the operator", within: 60)
        #expect(try Self.nodes(master)["node12"] == nil, "\(master.log)")
        try master.waitFor("node12 out of the master's view", seconds: 120) {
            let up = (try? view(8)) ?? []
            return up.contains("\(Self.prefix).11") && !up.contains("\(Self.prefix).12")
        }
        // Once epoch 2's overlap is over, only its key is accepted anywhere, the master's view included:
        // node11, still heard, took it over its session; node12, still announcing, is heard by nobody.
        try master.waitFor("the end of the overlap", seconds: 120) { !FileManager.default.fileExists(atPath: out + "/join/cluster.key.previous") }
        let settled = try view(10)
        #expect(settled.contains("\(Self.prefix).11") && !settled.contains("\(Self.prefix).12"), "\(settled)")

        // ESC and y on node11's console: it drains and leaves before it powers off.
        drones[0].press("\u{1b}")
        try drones[0].expect("Shut down this node\\? y/n", within: 60)
        let asked = drones[0].mark
        drones[0].press("y")
        // The job's slurmstepd may still be ending when ESC comes: then the view asks a second time
        // ("1 job runs here" or "2 jobs run here").
        if try drones[0].expect("clump: slurm: draining node11|jobs? runs? here", within: 60, after: asked)
            != "clump: slurm: draining node11"
        {
            drones[0].press("y")
        }
        try drones[0].expect("clump: slurm: draining node11", within: 60, after: asked)
        try drones[0].expect("clump: powering off", within: 60)
        #expect(try drones[0].waitForExit(within: 120) == 0)
        let states = try Self.nodes(master)
        #expect(
            states["node11"] == nil
                || ["drain", "down", "drng"].contains(where: { states["node11"]?.hasPrefix($0) == true }),
            "\(states)")
        #expect(states["node12"] == nil, "revoked, and still on the controller: \(states)")
        _ = try drones[1].stop()
    }

    @Test("a rogue master with another key holds the master's address first: the drone refuses it and tells it nothing, then joins the real one")
    func rogueMaster() async throws {
        let lab = try Lab(drones: 1, name: "clumprogue", serving: false)
        defer { lab.remove() }
        // The rogue: the same spec built elsewhere, so another join key, serving joins on the master's address.
        let rogueWork = lab.work + "/rogue"
        try FileManager.default.createDirectory(atPath: rogueWork, withIntermediateDirectories: true)
        let rogueOut = try Self.build(Self.spec(key: lab.master.keyFile, socket: lab.master.socket), in: rogueWork, generate: false)
        let rogue = try Lab.serve(rogueWork + "/clump.yaml", rogueOut, lan: lab.lan, slurm: lab.master, name: "rogue")
        let drone = try Self.boot(lab.lan, 1, iso: lab.out + "/clump.iso")
        try drone.expect(#"clump: node 11 network 10\.69\.0\.0/24"#, within: Self.bootSeconds)
        try drone.expect(
            #"clump: join: 10\.69\.0\.1 closed the connection during the handshake: it does not hold this image's master key"#,
            within: 120)
        // The drone's first message is sealed to the real master's key: the rogue learned not even a MAC.
        #expect(!rogue.transcript.contains(lab.lan.mac(1)), "\(rogue.transcript)")
        #expect(!rogue.transcript.contains("joined"), "\(rogue.transcript)")
        #expect(!drone.transcript.contains("clump: joined"))
        _ = try rogue.stop()
        lab.serve = try Lab.serve(lab.work + "/clump.yaml", lab.out, lan: lab.lan, slurm: lab.master)
        // It keeps looking (backing off to 30 s at most) and joins the real master.
        try drone.expect(#"clump: joined 10\.69\.0\.1 \(approved by window\)"#, within: 90)
        try drone.expect(#"clump: slurm registered with 10\.69\.0\.1 as node11"#, within: 180)
        _ = try drone.stop()
    }

    @Test("a drone with another MUNGE key says the controller rejected it, and the controller never lists it")
    func aWrongKeyIsRejected() async throws {
        let lab = try Lab(drones: 1, name: "clumpslurmkey")
        defer { lab.remove() }
        let (lan, master) = (lab.lan, lab.master)
        // The same spec with another key, in the image (open): an image for some other cluster.
        let other = lab.work + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try SlurmMaster.makeKey(at: other + "/munge.key")
        let otherOut = try Self.build(
            Self.spec(key: other + "/munge.key", socket: master.socket, join: "open"), in: other, generate: false)

        let drone = try Self.boot(lan, 1, iso: otherOut + "/clump.iso")
        try drone.expect(#"clump: node 11 network 10\.69\.0\.0/24"#, within: Self.bootSeconds)
        try drone.expect(#"clump: slurm not registered with 10\.69\.0\.1: [^\r\n]*MUNGE"#, within: 180)
        #expect(try Self.nodes(master).isEmpty, "\(master.log)")
        #expect(!drone.transcript.contains("clump: slurm registered"))
        _ = try drone.stop()
    }
}
