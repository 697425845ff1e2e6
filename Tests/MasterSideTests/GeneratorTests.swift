import Foundation
import ImageSpec
import Testing

@testable import MasterSide

@Suite struct GeneratorTests {
    /// What lets serve run dnsmasq unprivileged and only on the cluster: no tftp-secure (which needs the
    /// tree owned by dnsmasq's user), broadcast replies (no ARP injection), never loopback; Kea on the
    /// cluster interface, not every one.
    @Test func theDaemonsServeTheClusterInterfaceOnly() throws {
        let fixture = try MasterFixture(count: 2)
        defer { fixture.remove() }
        var generator = try fixture.generator()
        generator.interface = "br7"
        let dir = try generator.generate().directory
        for config in [MasterLayout.dnsmasq, MasterLayout.dnsmasqProxy] {
            let lines = try String(contentsOfFile: dir + "/" + config, encoding: .utf8).split(separator: "\n")
            for line in ["except-interface=lo", "dhcp-broadcast", "no-ping", "enable-tftp", "tftp-root=\(dir)/tftp"] {
                #expect(lines.contains(Substring(line)), "\(line) in \(config)")
            }
            #expect(!lines.contains("tftp-secure"), "\(config)")
        }
        let kea = try String(contentsOfFile: dir + "/" + MasterLayout.kea, encoding: .utf8)
        #expect(kea.contains(#""interfaces-config": { "interfaces": [ "br7" ] }"#), "\(kea)")
        var info = stat()
        #expect(stat(dir + "/tftp/boot.ipxe", &info) == 0 && info.st_mode & 0o004 != 0, "world-readable TFTP files")
    }

    @Test func addingOneNodeWritesOnlyItsFilesAndTheSharedConfigs() throws {
        let fixture = try MasterFixture(count: 40)
        defer { fixture.remove() }
        let first = try fixture.generator().generate()
        #expect(first.newGeneration)
        #expect(first.removed.isEmpty)
        let again = try fixture.generator().generate()
        #expect(again.written.isEmpty, "\(again.written)")

        let text = MasterFixture.inventoryText(40) + "- mac: 02:00:00:00:00:77\n"
        try text.write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let added = try fixture.generator().generate()
        #expect(
            Set(added.written)
                == [
                    "dnsmasq/hosts/node42", "tftp/pxelinux.cfg/01-02-00-00-00-00-77", "tftp/nodes/02-00-00-00-00-77.ipxe",
                    "tftp/grub/nodes/02-00-00-00-00-77.cfg", MasterLayout.dhcpd, MasterLayout.kea,
                ])
        #expect(!added.newGeneration)
        let host = try String(contentsOfFile: added.directory + "/dnsmasq/hosts/node42", encoding: .utf8)
        #expect(host == "02:00:00:00:00:77,set:known,10.0.0.42,node42,86400\n")

        // Removing it again removes its files and leaves no temporary files behind.
        try MasterFixture.inventoryText(40).write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let removed = try fixture.generator().generate()
        #expect(removed.removed.count == 4)
        #expect(!FileManager.default.fileExists(atPath: added.directory + "/dnsmasq/hosts/node42"))
        let leftovers = FileManager.default.enumerator(atPath: added.directory)?.compactMap { $0 as? String }
            .filter { $0.contains(".tmp-") || $0.contains(".partial-") }
        #expect(leftovers == [])
    }

    @Test func aCardMovedToAnotherNodeKeepsItsFilesAndARenamedNodeLosesItsOldName() throws {
        let fixture = try MasterFixture(count: 8)
        defer { fixture.remove() }
        _ = try fixture.generator().generate()
        // Node 3's two cards: the second moves to a new node; node 5 is renamed.
        let moved = MasterFixture.mac(3, card: 1)
        let hyphenated = moved.replacingOccurrences(of: ":", with: "-")
        var lines = MasterFixture.inventoryText(8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[3] = "- mac: \(MasterFixture.mac(3))"
        lines[4] = "  kernel-args: [clump.debug=1]"
        lines[6] = "- {mac: \"\(MasterFixture.mac(5))\", name: render}"
        let text = lines.joined(separator: "\n") + "- {mac: \"\(moved)\", address: 10.0.0.100}\n"
        try text.write(toFile: fixture.directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        let report = try fixture.generator().generate()
        #expect(report.removed == ["dnsmasq/hosts/node7"])
        #expect(Set(report.written).isSuperset(of: ["dnsmasq/hosts/render", "tftp/nodes/\(hyphenated).ipxe"]))
        let script = try String(contentsOfFile: report.directory + "/tftp/nodes/\(hyphenated).ipxe", encoding: .utf8)
        #expect(script.contains("# node100 (10.0.0.100)"))
        #expect(!script.contains("clump.debug=1"))
        #expect(FileManager.default.fileExists(atPath: report.directory + "/tftp/pxelinux.cfg/01-\(hyphenated)"))
        #expect(FileManager.default.fileExists(atPath: report.directory + "/dnsmasq/hosts/render"))
        #expect(try fixture.generator().generate().written.isEmpty)
    }

    @Test func theManifestReadsBackWhatItSaved() throws {
        let fixture = try MasterFixture(count: 1)
        defer { fixture.remove() }
        var manifest = Manifest()
        manifest.files = ["dhcpd/dhcpd.conf": 0xffff_ffff_ffff_ffff, "tftp/boot.txt": 0]
        let macs = try ["52:54:00:00:00:01", "02:00:00:00:00:0a"].map { try #require(MACAddress(parsing: $0)) }
        manifest.nodes = [("node1", .init(host: 1, boot: 0xabc, macs: macs)), ("b", .init(host: 0, boot: 2, macs: [macs[1]]))]
        manifest.sources = ["/x/vmlinuz": (size: 12, mtime: 1_700_000_000_123_456_789, hash: 0x1234)]
        let path = fixture.directory + "/manifest"
        try manifest.save(path)
        let back = Manifest.load(path)
        #expect(back.files == manifest.files)
        #expect(back.nodes.map(\.name) == ["node1", "b"])
        #expect(back.nodes.map(\.node) == manifest.nodes.map(\.node))
        #expect(back.sources["/x/vmlinuz"].map { [$0.size, $0.mtime, Int($0.hash)] } == [12, 1_700_000_000_123_456_789, 0x1234])
        // A line of an older version's format is skipped, not misread.
        try "N 1f node1\nN 1 2 node2 zz\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(Manifest.load(path).nodes.isEmpty)
    }

    @Test func aNewImageIsANewGenerationAndTheOldOneStaysUntilPruned() throws {
        let fixture = try MasterFixture(count: 3)
        defer { fixture.remove() }
        let first = try fixture.generator().generate()
        // A new build: the old image must stay for nodes that fetched the old configuration.
        try "initrd 2".write(toFile: fixture.outDir + "/tftpboot/initrd.img", atomically: false, encoding: .utf8)
        let second = try fixture.generator().generate()
        #expect(second.generation != first.generation)
        #expect(second.olderGenerations == [first.generation])
        let images = first.directory + "/" + MasterLayout.images
        #expect(FileManager.default.fileExists(atPath: "\(images)/\(first.generation)/initrd.img"))
        let config = try String(contentsOfFile: first.directory + "/tftp/pxelinux.cfg/default", encoding: .utf8)
        #expect(config.contains("KERNEL images/\(second.generation)/vmlinuz"))
        #expect(config.contains("IPAPPEND 2"))
        #expect(config.contains("clump.network=10.0.0.0/16"))
        let pruned = try fixture.generator().generate(prune: true)
        #expect(pruned.olderGenerations.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(images)/\(first.generation)"))
        #expect(try String(contentsOfFile: "\(images)/\(second.generation)/initrd.img", encoding: .utf8) == "initrd 2")
    }

    @Test func aKnownCardGetsItsNodesKernelArguments() throws {
        let fixture = try MasterFixture(count: 4)
        defer { fixture.remove() }
        let report = try fixture.generator().generate()
        let mac = MasterFixture.mac(3, card: 1).replacingOccurrences(of: ":", with: "-")
        let pxelinux = try String(contentsOfFile: report.directory + "/tftp/pxelinux.cfg/01-\(mac)", encoding: .utf8)
        #expect(pxelinux.contains("clump.debug=1"))
        let ipxe = try String(contentsOfFile: report.directory + "/tftp/nodes/\(mac).ipxe", encoding: .utf8)
        #expect(ipxe.contains("kernel ../images/\(report.generation)/vmlinuz initrd=initrd.img clump.mode=auto"))
        #expect(ipxe.contains("clump.debug=1 BOOTIF=01-${netX/mac:hexhyp}"))
        let boot = try String(contentsOfFile: report.directory + "/tftp/boot.ipxe", encoding: .utf8)
        #expect(boot.contains("chain --autofree nodes/${netX/mac:hexhyp}.ipxe || goto clump-default"))
        #expect(!boot.contains("clump.debug=1"))
        // UEFI clients: GRUB's menu runs the card's own menu when there is one (file named by the card).
        let grub = try String(contentsOfFile: report.directory + "/" + MasterLayout.grubConfig, encoding: .utf8)
        #expect(grub.contains("\nconfigfile /grub/nodes/$m1-$m2-$m3-$m4-$m5-$m6.cfg\n"))
        #expect(grub.contains("linux /images/\(report.generation)/vmlinuz clump.mode=auto"))
        #expect(!grub.contains("clump.debug=1"))
        let node = try String(contentsOfFile: report.directory + "/tftp/grub/nodes/\(mac).cfg", encoding: .utf8)
        #expect(node.contains("clump.debug=1 BOOTIF=01-$m1-$m2-$m3-$m4-$m5-$m6"))
        #expect(node.contains("initrd /images/\(report.generation)/initrd.img"))
        #expect(!node.contains("configfile"))
        for loader in MasterLayout.efiLoaderFiles {
            #expect(FileManager.default.fileExists(atPath: report.directory + "/tftp/" + loader), "\(loader) not served")
        }
    }

    @Test func withoutABuiltTreeItSaysWhatToRun() throws {
        let fixture = try MasterFixture(count: 1)
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.outDir + "/tftpboot/vmlinuz")
        #expect {
            try fixture.generator().generate()
        } throws: { error in
            "\(error)".contains("clumpbuild build")
        }
    }
}
