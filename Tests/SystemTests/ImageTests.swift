import Foundation
import Testing

/// The built image, checked with tools that are not ours: xorriso, isoinfo, blkid, fdisk,
/// cpio. If they agree with what we meant to write, so will a BIOS.
@Suite("built image")
struct ImageTests {
    @Test("xorriso sees a BIOS no-emulation El Torito entry with load size 4")
    func elTorito() async throws {
        let out = try await SharedImage.shared.outDir()
        let (status, report) = try Harness.run(["xorriso", "-indev", out + "/clump.iso", "-report_el_torito", "plain"])
        #expect(status == 0, "\(report)")
        let entry = report.split(separator: "\n").first { $0.contains("El Torito boot img") && $0.contains("BIOS") }
        let line = try #require(entry.map(String.init), "no BIOS boot image in:\n\(report)")
        #expect(line.contains(" none "), "not no-emulation: \(line)")
        let fields = line.split(separator: " ").map(String.init)
        #expect(fields.contains("4"), "load size is not 4: \(line)")
        #expect(report.contains("/isolinux/isolinux.bin"), "\(report)")
    }

    @Test("isoinfo and libblkid see the label; blkid and fdisk see the hybrid MBR")
    func labelAndHybrid() async throws {
        let iso = try await SharedImage.shared.outDir() + "/clump.iso"
        let info = try Harness.run(["isoinfo", "-d", "-i", iso])
        #expect(info.output.contains("Volume id: CLUMP"), "\(info.output)")
        let blkid = try Harness.run(["blkid", "-p", "-o", "export", iso])
        #expect(blkid.output.contains("TYPE=iso9660"), "\(blkid.output)")
        #expect(blkid.output.contains("LABEL=CLUMP"), "\(blkid.output)")
        // The MBR carries the GPT's protective entry, so libblkid reports the GPT.
        #expect(blkid.output.contains("PTTYPE=gpt"), "\(blkid.output)")
        let fdisk = try Harness.run(["fdisk", "-t", "dos", "-l", iso])
        let partition = fdisk.output.split(separator: "\n").first { $0.hasPrefix(iso + "1") }
        let line = try #require(partition.map(String.init), "no partition in:\n\(fdisk.output)")
        #expect(line.contains("*"), "partition not bootable: \(line)")
        let size = try #require(FileManager.default.attributesOfItem(atPath: iso)[.size] as? Int)
        #expect(size % (1 << 20) == 0, "a hybrid image is padded to whole 1 MiB cylinders, size \(size)")
    }

    @Test("xorriso sees the UEFI entry, sfdisk the EFI partitions, mtools the boot loader in the ESP image")
    func uefi() async throws {
        let out = try await SharedImage.shared.outDir()
        let iso = out + "/clump.iso"
        let report = try Harness.run(["xorriso", "-indev", iso, "-report_el_torito", "plain"]).output
        let entry = report.split(separator: "\n").first { $0.contains("El Torito boot img") && $0.contains("UEFI") }
        let line = try #require(entry.map(String.init), "no UEFI boot image in:\n\(report)")
        let lba = try #require(line.split(separator: " ").last.flatMap { Int($0) }, "\(line)")
        #expect(report.contains("/boot/grub/efi.img"), "\(report)")
        let gpt = try Harness.run(["sfdisk", "--json", iso]).output
        #expect(gpt.contains("\"label\": \"gpt\""), "\(gpt)")
        #expect(gpt.contains("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"), "\(gpt)")
        #expect(gpt.contains("\"start\": \(lba * 4)"), "the GPT partition does not start at the El Torito image:\n\(gpt)")
        let mbr = try Harness.run(["fdisk", "-t", "dos", "-l", iso]).output
        let efiLine = mbr.split(separator: "\n").first { $0.hasPrefix(iso + "2") }.map(String.init) ?? ""
        #expect(efiLine.contains(" \(lba * 4) ") && efiLine.contains(" ef "), "no MBR partition 2 of type 0xef:\n\(mbr)")
        let esp = try Harness.run(["mdir", "-/", "-b", "-i", "\(iso)@@\(lba * 2048)", "::"])
        #expect(esp.status == 0, "\(esp.output)")
        #expect(esp.output.contains("::/EFI/BOOT/BOOTX64.EFI"), "\(esp.output)")
        let grub = try String(contentsOfFile: out + "/tftpboot/grub/grub.cfg", encoding: .utf8)
        #expect(grub.contains("BOOTIF=01-$m1-$m2-$m3-$m4-$m5-$m6"), "\(grub)")
    }

    @Test("the initramfs lists with cpio and holds the agent, busybox and the NIC drivers")
    func initramfsContents() async throws {
        let out = try await SharedImage.shared.outDir()
        let (status, listing) = try Harness.shell("zstd -dc '\(out)/tftpboot/initrd.img' | cpio -t --quiet")
        #expect(status == 0, "\(listing)")
        let paths = Set(listing.split(separator: "\n").map(String.init))
        for required in ["init", "bin/busybox", "bin/sh", "sbin/poweroff", "dev/console", "etc/clump/cluster.key"] {
            #expect(paths.contains(required), "\(required) missing from the initramfs")
        }
        let modules = paths.filter { $0.hasPrefix("lib/modules/") }
        #expect(modules.contains { $0.hasSuffix("/e1000.ko.xz") }, "e1000 not shipped")
        #expect(modules.contains { $0.hasSuffix("/virtio_net.ko.xz") }, "virtio_net not shipped")
        #expect(modules.contains { $0.hasSuffix("/r8169.ko.xz") }, "r8169 not shipped")
        #expect(!modules.contains { $0.contains("/wireless/") }, "wireless drivers shipped")
        for index in ["modules.dep", "modules.alias", "modules.builtin"] {
            #expect(modules.contains { $0.hasSuffix("/" + index) }, "\(index) missing")
        }
        // Device nodes are archive records: check the console is a character device 5:1.
        let verbose = try Harness.shell("zstd -dc '\(out)/tftpboot/initrd.img' | cpio -tv --quiet dev/console")
        #expect(verbose.output.hasPrefix("crw"), "\(verbose.output)")
        #expect(verbose.output.contains("5,"), "\(verbose.output)")
    }

    @Test("the PXE tree has the loader, its config with three entries, an iPXE script and the images")
    func pxeTree() async throws {
        let tree = try await SharedImage.shared.outDir() + "/tftpboot"
        for file in ["pxelinux.0", "ldlinux.c32", "pxelinux.cfg/default", "boot.ipxe", "vmlinuz", "initrd.img"] {
            #expect(FileManager.default.fileExists(atPath: tree + "/" + file), "\(file) missing")
        }
        let config = try String(contentsOfFile: tree + "/pxelinux.cfg/default", encoding: .utf8)
        for mode in ["auto", "expert", "safe"] {
            #expect(config.contains("LABEL \(mode)"), "\(config)")
            #expect(config.contains("clump.mode=\(mode)"), "\(config)")
        }
        let ipxe = try String(contentsOfFile: tree + "/boot.ipxe", encoding: .utf8)
        #expect(ipxe.hasPrefix("#!ipxe"))
        #expect(ipxe.contains("clump.mode=expert"))
    }

    /// The second build uses the spec `clumpbuild init` writes: it claims to show every
    /// default, so it must build exactly what no spec builds.
    @Test("two builds from the same inputs, seconds apart, are byte-identical (no spec vs the starter spec)")
    func reproducible() throws {
        let work = try Harness.scratch("repro")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        let first = try Harness.run([try Harness.clumpbuild, "build", "--out", work + "/a"], cwd: work, environment: env)
        #expect(first.status == 0, "\(first.output)")
        let starter = try Harness.run([try Harness.clumpbuild, "init", work + "/starter.yaml"], cwd: work)
        #expect(starter.status == 0, "\(starter.output)")
        Thread.sleep(forTimeInterval: 2)
        let second = try Harness.run(
            [try Harness.clumpbuild, "build", "--spec", work + "/starter.yaml", "--out", work + "/b"], cwd: work,
            environment: env)
        #expect(second.status == 0, "\(second.output)")
        for file in ["clump.iso", "tftpboot/initrd.img", "tftpboot/pxelinux.cfg/default", "tftpboot/grub/grub.cfg"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: work + "/a/" + file))
            let b = try Data(contentsOf: URL(fileURLWithPath: work + "/b/" + file))
            #expect(!a.isEmpty)
            #expect(a == b, "\(file) differs between two builds")
        }
    }

    @Test("inspect shows both El Torito entries, the MBR and GPT partitions, the ESP's files and libblkid's view")
    func inspect() async throws {
        let iso = try await SharedImage.shared.outDir() + "/clump.iso"
        let (status, text) = try Harness.run([try Harness.clumpbuild, "inspect", iso])
        #expect(status == 0, "\(text)")
        #expect(text.contains("isolinux/isolinux.bin"), "\(text)")
        #expect(text.contains("CLUMP"), "\(text)")
        #expect(text.contains("iso9660"), "\(text)")
        #expect(text.contains("section entry: UEFI, bootable"), "\(text)")
        #expect(text.contains("EFI System (C12A7328-F81F-11D2-BA4B-00A0C93EC93B)"), "\(text)")
        #expect(text.contains("/EFI/BOOT/BOOTX64.EFI"), "\(text)")
        #expect(text.contains("type 0xef"), "\(text)")
        let initrd = try await SharedImage.shared.outDir() + "/tftpboot/initrd.img"
        let ramdisk = try Harness.run([try Harness.clumpbuild, "inspect", initrd])
        #expect(ramdisk.status == 0, "\(ramdisk.output)")
        #expect(ramdisk.output.contains("zstd"), "\(ramdisk.output)")
        #expect(ramdisk.output.contains("init"), "\(ramdisk.output)")
    }
}
