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
        #expect(
            lines == [
                "/srv/clump/root 10.0.0.3(ro,root_squash,no_subtree_check,sec=sys) "
                    + "10.0.0.7(ro,root_squash,no_subtree_check,sec=sys)",
                "/srv/roots/other 10.0.0.5(ro,root_squash,no_subtree_check,sec=sys) "
                    + "10.0.0.9(ro,root_squash,no_subtree_check,sec=sys)",
            ] + [3, 5, 7, 9].map { "\(master)/nfsroot/nodes/node\($0) 10.0.0.\($0)(rw,no_root_squash,no_subtree_check,sec=sys)" })

        let ganesha = try read(MasterLayout.ganesha)
        #expect(ganesha.contains("Protocols = 4;"))
        #expect(ganesha.contains("Path = \"\(master)/nfsroot/nodes/node5\";\n    Pseudo = \"\(master)/nfsroot/nodes/node5\";"))
        #expect(ganesha.contains("Export_Id = 65531;"), "node 5's tree")
        #expect(ganesha.contains("Clients = 10.0.0.3, 10.0.0.7;\n        Access_Type = RO;\n        Squash = root_squash;"))
        #expect(!ganesha.contains("*"))

        let ipxe = try read("tftp/nodes/\(MasterFixture.mac(3).replacingOccurrences(of: ":", with: "-")).ipxe")
        #expect(ipxe.contains("set mode nfsroot"))
        #expect(ipxe.contains("clump.mode=nfsroot"))
        #expect(ipxe.contains("clump.root=10.0.0.1:/srv/roots/other clump.node=10.0.0.1:\(master)/nfsroot/nodes/node5"))
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
        // (The node makes its writable directories on first boot.)
        try FileManager.default.createDirectory(
            atPath: added.directory + "/" + tree + "writable/var/log", withIntermediateDirectories: true)
        try "kept\n".write(toFile: added.directory + "/" + tree + "writable/var/log/syslog", atomically: true, encoding: .utf8)
        try Self.nfsrootInventory(40).write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let removed = try fixture.generator().generate()
        #expect(removed.removed.contains(tree + "files/etc/hostname"))
        #expect(!FileManager.default.fileExists(atPath: added.directory + "/" + tree + "files/etc/hostname"))
        #expect(FileManager.default.fileExists(atPath: added.directory + "/" + tree + "writable/var/log/syslog"))
    }

    @Test func aNodeThatBecomesADroneLosesItsTreeFiles() throws {
        let fixture = try Self.fixture(4)
        defer { fixture.remove() }
        let first = try fixture.generator().generate()
        #expect(FileManager.default.fileExists(atPath: first.directory + "/nfsroot/nodes/node3/files/etc/hostname"))
        let text = Self.nfsrootInventory(4).replacingOccurrences(of: ", boot: nfsroot}", with: "}")
        try text.write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let report = try fixture.generator().generate()
        #expect(report.removed.contains("nfsroot/nodes/node3/files/etc/hostname"))
        let ipxe = try String(
            contentsOfFile: first.directory + "/tftp/nodes/\(MasterFixture.mac(1).replacingOccurrences(of: ":", with: "-")).ipxe",
            encoding: .utf8)
        #expect(!ipxe.contains("nfsroot"))
    }
}
