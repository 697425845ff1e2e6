import AgentSupport
import AutoMap
import Foundation
import ImageSpec
import Testing

@testable import MasterSide

@Suite struct NFSRootFilesTests {
    /// A fixture whose inventory makes every other node an NFS-root node (node 3 on a root of its own).
    static func nfsrootInventory(_ count: Int) -> String {
        (0..<count).map { index in
            let mac = MasterFixture.mac(index)
            switch index % 4 {
            case 1: return "- {mac: \"\(mac)\", boot: nfsroot}\n"
            case 3: return "- mac: \"\(mac)\"\n  boot: nfsroot\n  root: /srv/roots/other\n"
            default: return "- mac: \"\(mac)\"\n"
            }
        }.joined()
    }

    static func fixture(_ count: Int) throws -> MasterFixture {
        let fixture = try MasterFixture(count: 0)
        try nfsrootInventory(count).write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        return fixture
    }

    @Test func nodeTreesHoldWhatDiffersAndTheExportsNameHosts() throws {
        let fixture = try Self.fixture(8)
        defer { fixture.remove() }
        let report = try fixture.generator().generate()
        let master = report.directory
        func read(_ path: String) throws -> String { try String(contentsOfFile: master + "/" + path, encoding: .utf8) }

        #expect(try read("nfsroot/nodes/node3/files/etc/hostname") == "node3\n")
        #expect(try read("nfsroot/nodes/node3/files/etc/hosts").contains("10.0.0.3\tnode3"))
        #expect(try read("nfsroot/nodes/node3/files/etc/hosts").contains("10.0.0.1\tmaster"))
        #expect(try read("nfsroot/nodes/node3/files/etc/mosix.map").contains("this node is node 3"))
        #expect(try read("nfsroot/nodes/node3/writable.list") == "/var/log\n/home\n")
        #expect(!FileManager.default.fileExists(atPath: master + "/nfsroot/nodes/node2"), "a drone has no tree")

        let exports = try read(MasterLayout.exports)
        #expect(!exports.contains("*"))
        let lines = exports.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        let roots: [String] = [
            "/srv/clump/root 10.0.0.3(ro,root_squash,no_subtree_check,sec=sys) "
                + "10.0.0.7(ro,root_squash,no_subtree_check,sec=sys)",
            "/srv/roots/other 10.0.0.5(ro,root_squash,no_subtree_check,sec=sys) "
                + "10.0.0.9(ro,root_squash,no_subtree_check,sec=sys)",
        ]
        var trees: [String] = []
        for node in [3, 5, 7, 9] {
            trees.append("\(master)/nfsroot/nodes/node\(node) 10.0.0.\(node)(ro,root_squash,no_subtree_check,sec=sys)")
            trees.append("\(master)/nfsroot/data/node\(node) 10.0.0.\(node)(rw,root_squash,no_subtree_check,sec=sys)")
        }
        #expect(lines == roots + trees)
        #expect(!exports.contains("no_root_squash"))

        // The writable directories are made by the master, owned by the user a squashed root becomes.
        var info = stat()
        #expect(lstat(master + "/nfsroot/data/node3/var/log", &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFDIR && info.st_mode & 0o7777 == 0o755)
        if geteuid() == 0 { #expect(info.st_uid == 65534 && info.st_gid == 65534) }
        #expect(lstat(master + "/nfsroot/data/node3/var", &info) == 0 && info.st_uid == geteuid())
        // Removed by hand, it is made again by the next generate, though nothing about node 3 changed.
        try FileManager.default.removeItem(atPath: master + "/nfsroot/data/node3/var/log")
        _ = try fixture.generator().generate()
        #expect(lstat(master + "/nfsroot/data/node3/var/log", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        if geteuid() == 0 { #expect(info.st_uid == 65534) }

        let ganesha = try read(MasterLayout.ganesha)
        #expect(ganesha.contains("Protocols = 4;"))
        #expect(ganesha.contains("Path = \"\(master)/nfsroot/nodes/node5\";\n    Pseudo = \"\(master)/nfsroot/nodes/node5\";"))
        #expect(ganesha.contains("Export_Id = 65526;\n    Path = \"\(master)/nfsroot/nodes/node5\";"), "node 5's tree")
        #expect(ganesha.contains("Export_Id = 65525;\n    Path = \"\(master)/nfsroot/data/node5\";"), "node 5's data")
        #expect(ganesha.contains("Clients = 10.0.0.3, 10.0.0.7;\n        Access_Type = RO;\n        Squash = root_squash;"))
        #expect(ganesha.contains("Clients = 10.0.0.5;\n        Access_Type = RW;\n        Squash = root_squash;"))
        #expect(!ganesha.contains("no_root_squash"))
        #expect(!ganesha.contains("*"))

        let ipxe = try read("tftp/nodes/\(MasterFixture.mac(3).replacingOccurrences(of: ":", with: "-")).ipxe")
        #expect(ipxe.contains("set mode nfsroot"))
        #expect(ipxe.contains("clump.mode=nfsroot"))
        #expect(
            ipxe.contains(
                "clump.root=10.0.0.1:/srv/roots/other clump.node=10.0.0.1:\(master)/nfsroot/nodes/node5 "
                    + "clump.data=10.0.0.1:\(master)/nfsroot/data/node5"))
    }

    @Test func addingAnNFSRootNodeWritesItsFilesAndTheExportsOnly() throws {
        let fixture = try Self.fixture(40)
        defer { fixture.remove() }
        _ = try fixture.generator().generate()
        #expect(try fixture.generator().generate().written.isEmpty)

        try (Self.nfsrootInventory(40) + "- {mac: \"02:00:00:00:00:77\", boot: nfsroot}\n")
            .write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let added = try fixture.generator().generate()
        let tree = "nfsroot/nodes/node42/"
        #expect(
            Set(added.written)
                == Set(
                    [
                        "dnsmasq/hosts/node42", "tftp/pxelinux.cfg/01-02-00-00-00-00-77", "tftp/nodes/02-00-00-00-00-77.ipxe",
                        "tftp/grub/nodes/02-00-00-00-00-77.cfg", MasterLayout.dhcpd, MasterLayout.kea, MasterLayout.exports,
                        MasterLayout.ganesha, tree + "writable.list",
                    ] + NFSRootFiles.overlayFiles.map { tree + "files/" + $0 }))

        // Its data stays when the node goes; its generated files go.
        let data = added.directory + "/nfsroot/data/node42/"
        try "kept\n".write(toFile: data + "var/log/syslog", atomically: true, encoding: .utf8)
        try Self.nfsrootInventory(40).write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let removed = try fixture.generator().generate()
        #expect(removed.removed.contains(tree + "files/etc/hostname"))
        #expect(!FileManager.default.fileExists(atPath: added.directory + "/" + tree + "files/etc/hostname"))
        #expect(FileManager.default.fileExists(atPath: data + "var/log/syslog"))
    }

    /// What a node, or anyone with its address, could do through an export that was writable: put a
    /// link where generate writes as root. Generate fails naming it and writes nothing through it,
    /// both when it rewrites the node's files beside a manifest and when it writes a first generation.
    @Test(arguments: [
        ("nfsroot/nodes/node3/files/etc", false), ("nfsroot/nodes/node3/files/etc/hostname", false),
        ("nfsroot/nodes/node3", false), ("nfsroot/nodes/node3/files/etc", true), ("nfsroot/nodes/node3/writable.list", true),
    ])
    func aPlantedSymbolicLinkStopsGenerateAndItsTargetIsUntouched(_ planted: String, _ firstGeneration: Bool) throws {
        let fixture = try Self.fixture(4)
        defer { fixture.remove() }
        let master = try fixture.generator().generate().directory
        let victim = fixture.directory + "/victim"
        try FileManager.default.createDirectory(atPath: victim + "/etc", withIntermediateDirectories: true)
        for file in ["hostname", "writable.list", "etc/hostname"] {
            try "the master's own file\n".write(toFile: victim + "/" + file, atomically: true, encoding: .utf8)
        }
        func snapshot() throws -> [String: Data] {
            var files: [String: Data] = [:]
            for path in try FileManager.default.subpathsOfDirectory(atPath: victim) {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: victim + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files[path] = try Data(contentsOf: URL(fileURLWithPath: victim + "/" + path))
                }
            }
            return files
        }
        let before = try snapshot()
        try FileManager.default.removeItem(atPath: master + "/" + planted)
        let target = planted.hasSuffix("/hostname") || planted.hasSuffix(".list") ? victim + "/hostname" : victim
        try FileManager.default.createSymbolicLink(atPath: master + "/" + planted, withDestinationPath: target)
        // Node 3's files are written again: with no manifest at all, or without its record in it.
        let manifest = master + "/" + MasterLayout.manifest
        if firstGeneration {
            try FileManager.default.removeItem(atPath: manifest)
        } else {
            let lines = try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n")
            try lines.filter { !($0.hasPrefix("N ") && $0.contains(" node3 ")) }.joined(separator: "\n")
                .write(toFile: manifest, atomically: true, encoding: .utf8)
        }
        #expect {
            try fixture.generator().generate()
        } throws: { error in
            "\(error)".hasPrefix("\(master)/\(planted): refusing the symbolic link\n  hint: something that can write")
        }
        #expect(try snapshot() == before, "the link's target changed")
        #expect(Set(try FileManager.default.subpathsOfDirectory(atPath: victim)) == ["etc", "etc/hostname", "hostname", "writable.list"])
    }
}

@Suite struct SharedRootCheckTests {
    typealias P = SharedRootCheck.Permissions
    static let directory = S_IFDIR | 0o755
    static let file = S_IFREG

    /// Root squashed, every other user and group claimable: who can read the last object.
    @Test(arguments: [
        // Debian's /etc/shadow: root:shadow 0640, below root-owned 0755 directories.
        ([P(mode: directory, uid: 0, gid: 0), P(mode: directory, uid: 0, gid: 0), P(mode: file | 0o640, uid: 0, gid: 42)], true),
        // root:root 0600 or 0640: root is squashed, and gid 0 too.
        ([P(mode: directory, uid: 0, gid: 0), P(mode: file | 0o600, uid: 0, gid: 0)], false),
        ([P(mode: directory, uid: 0, gid: 0), P(mode: file | 0o640, uid: 0, gid: 0)], false),
        // World-readable.
        ([P(mode: directory, uid: 0, gid: 0), P(mode: file | 0o644, uid: 0, gid: 0)], true),
        // A service user's key: the client claims that user.
        ([P(mode: directory, uid: 0, gid: 0), P(mode: file | 0o400, uid: 990, gid: 990)], true),
        // Behind a directory only root can search: unreachable.
        ([P(mode: S_IFDIR | 0o700, uid: 0, gid: 0), P(mode: file | 0o644, uid: 0, gid: 0)], false),
        // /etc/ssl/private: root:ssl-cert 0710, key root:ssl-cert 0640: the group reaches both.
        ([P(mode: S_IFDIR | 0o710, uid: 0, gid: 110), P(mode: file | 0o640, uid: 0, gid: 110)], true),
        // One claimed user for the whole path: a directory of user 1000 (0700) and a file of user 1001 (0600).
        ([P(mode: S_IFDIR | 0o700, uid: 1000, gid: 1000), P(mode: file | 0o600, uid: 1001, gid: 1001)], false),
        ([P(mode: S_IFDIR | 0o700, uid: 1000, gid: 1000), P(mode: file | 0o600, uid: 1000, gid: 1000)], true),
        // A link is not read through.
        ([P(mode: directory, uid: 0, gid: 0), P(mode: S_IFLNK | 0o777, uid: 0, gid: 0)], false),
    ])
    func whatAClientCanRead(_ chain: [P], _ readable: Bool) {
        #expect(SharedRootCheck.readable(chain) == readable)
    }

    @Test(arguments: [
        ("root:$6$salt$hash:19700::::::\n", true), ("root:!$y$j9T$x:19700::::::\n", true), ("root:*:19700::::::\n", false),
        ("root:!:19700::::::\nbin:!*:1::::::\n", false), ("root:x:0:0:root:/root:/bin/sh\n", false), ("", false),
    ])
    func passwordHashes(_ text: String, _ holds: Bool) {
        #expect(SharedRootCheck.holdsHash(text) == holds)
    }
}

@Suite struct BeneathDirectoryTests {
    /// A first generation writes in place: a hard link there (planted while a tree was writable)
    /// would make root write the file it shares its inode with. Refused, that file untouched.
    @Test func aHardLinkIsNotWrittenInPlace() throws {
        let base = NSTemporaryDirectory() + "clump-beneath-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base + "/tree", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try "secret\n".write(toFile: base + "/victim", atomically: true, encoding: .utf8)
        #expect(link(base + "/victim", base + "/tree/hostname") == 0)
        #expect(throws: (any Error).self) {
            try BeneathDirectory.write(Array("node3\n".utf8), to: "tree/hostname", below: base, inPlace: true)
        }
        #expect(try String(contentsOfFile: base + "/victim", encoding: .utf8) == "secret\n")
        // Beside a manifest the file is replaced by rename, which leaves the other name alone.
        try BeneathDirectory.write(Array("node3\n".utf8), to: "tree/hostname", below: base)
        #expect(try String(contentsOfFile: base + "/victim", encoding: .utf8) == "secret\n")
        #expect(try String(contentsOfFile: base + "/tree/hostname", encoding: .utf8) == "node3\n")
    }

    /// In place, a file that is not there yet is made by the open itself (O_EXCL): its mode is the
    /// one asked for, a symbolic link in its place is refused, and an existing file is rewritten.
    @Test func inPlaceMakesNewFilesAndRefusesALink() throws {
        let base = NSTemporaryDirectory() + "clump-beneath-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base + "/tree", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        // No umask named by the caller: the mode is set whatever the umask is (0o666 is more than
        // most umasks leave).
        try BeneathDirectory.write(Array("a\n".utf8), to: "tree/new", below: base, mode: 0o666, inPlace: true)
        var info = stat()
        #expect(lstat(base + "/tree/new", &info) == 0 && info.st_mode & 0o777 == 0o666)
        try BeneathDirectory.write(Array("longer\n".utf8), to: "tree/new", below: base, mode: 0o644, inPlace: true)
        try BeneathDirectory.write(Array("b\n".utf8), to: "tree/new", below: base, mode: 0o644, inPlace: true)
        #expect(try String(contentsOfFile: base + "/tree/new", encoding: .utf8) == "b\n")
        try "secret\n".write(toFile: base + "/victim", atomically: true, encoding: .utf8)
        #expect(symlink(base + "/victim", base + "/tree/hostname") == 0)
        #expect {
            try BeneathDirectory.write(Array("node3\n".utf8), to: "tree/hostname", below: base, inPlace: true)
        } throws: { "\($0)".contains("refusing the symbolic link") }
        #expect(try String(contentsOfFile: base + "/victim", encoding: .utf8) == "secret\n")
    }
}

@Suite struct ServeMonitorConsoleTests {
    /// A PC asks TFTP for a file whose name is a terminal escape: the admin's console gets it printable.
    @Test func whatAClientNamesReachesTheConsolePrintable() throws {
        var cluster = Spec.Cluster()
        cluster.network = try IPv4Network(parsing: "10.0.2.0/24")
        let inventory = try InventoryLoader.parse(yaml: "", file: "nodes.yaml", cluster: cluster)
        var monitor = ServeMonitor(inventory: inventory, cluster: cluster, tftpRoot: "/m/tftp", enrol: false)
        let actions = monitor.feed("dnsmasq-tftp[7]: file /m/tftp/\u{1b}]0;owned\u{07}\u{1b}[2J not found for 10.0.2.200")
        #expect(actions == [.print("clump: 10.0.2.200 asked for ?]0;owned??[2J, which is not in the TFTP root")])
    }
}

/// nfs-ganesha's export ids are 16 bits and a /16's node numbers go to 65534: two ids per node
/// once overflowed into 0 and below for numbers past 32,767.
@Suite struct GaneshaExportIDTests {
    static func generate(_ addresses: [String]) throws -> (String, MasterFixture) {
        let fixture = try MasterFixture(count: 0)
        let inventory = addresses.enumerated().map { index, address in
            "- {mac: \"\(MasterFixture.mac(index))\", boot: nfsroot, address: \(address)}\n"
        }.joined()
        try inventory.write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        do {
            let report = try fixture.generator().generate()
            return (try String(contentsOfFile: report.directory + "/" + MasterLayout.ganesha, encoding: .utf8), fixture)
        } catch {
            fixture.remove()
            throw error
        }
    }

    @Test func everyNodeOfASlash16GetsIdsInRangeAndUnique() throws {
        let (ganesha, fixture) = try Self.generate(["10.0.0.5", "10.0.127.255", "10.0.156.65", "10.0.191.254"])
        defer { fixture.remove() }
        let ids = ganesha.split(separator: "\n").compactMap { line -> Int? in
            guard line.contains("Export_Id = ") else { return nil }
            return Int(line.split(separator: "=")[1].trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: ";"))))
        }
        #expect(ids.count == 1 + 2 * 4)
        #expect(Set(ids).count == ids.count, "ids \(ids)")
        #expect(ids.allSatisfy { (1...65535).contains($0) }, "ids \(ids)")
        // Node numbers up to 32,766 keep the ids they always had.
        #expect(ganesha.contains("Export_Id = 65526;\n    Path = \"\(fixture.outDir)/master/nfsroot/nodes/node5\";"), "\(ganesha.prefix(2000))")
    }

    @Test func twoNodesThatWouldShareIdsAreAnErrorNamingBoth() throws {
        // With one root there is room for 32,766 nodes: numbers 5 and 32,771 meet.
        #expect {
            _ = try Self.generate(["10.0.0.5", "10.0.128.3"])
        } throws: { error in
            let text = "\(error)"
            return text.contains("node5 (10.0.0.5) and node32771 (10.0.128.3) would share an nfs-ganesha export id")
                && text.contains("node numbers 32766 apart meet") && text.contains("nodes.yaml") && text.contains("hint: ")
        }
    }
}
