import BootMenus
import Foundation
import Testing

@testable import ImageBuilder

/// The UEFI pieces that are pure: GRUB's menu, the catalog's UEFI section, the GPT, the
/// signature check, OVMF's QEMU flags and the GRUB menu answer.
@Suite struct UEFIBootTests {
    @Test func grubConfigHasTheSameEntriesDefaultTimeoutAndConsole() {
        let expected = """
            # clump 1.0 - cluster drone
            echo "clump: UEFI boot loader from $cmdpath, root $root"
            set default=auto
            set timeout=5
            set timeout_style=menu

            menuentry '1  auto     find the network card, get DHCP, join the cluster' --id=auto --hotkey=1 {
                linux /boot/vmlinuz clump.mode=auto console=ttyS0,115200 console=tty0 quiet loglevel=4
                initrd /boot/initrd.img
            }

            menuentry '2  expert   a shell on the console, configure by hand' --id=expert --hotkey=2 {
                linux /boot/vmlinuz clump.mode=expert console=ttyS0,115200 console=tty0 quiet loglevel=4
                initrd /boot/initrd.img
            }

            menuentry '3  safe     no autoconfiguration at all' --id=safe --hotkey=3 {
                linux /boot/vmlinuz clump.mode=safe console=ttyS0,115200 console=tty0 quiet loglevel=4
                initrd /boot/initrd.img
            }

            """
        let config = BootMenuTests.menu.grubConfig(kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img", version: "1.0")
        #expect(config == expected)
    }

    @Test func grubConfigOverTheNetworkAppendsTheBootCardAndQuotesWhatGrubWouldExpand() {
        let menu = BootMenu(
            modes: [.safe], defaultMode: .safe, timeoutSeconds: 0, kernelArgs: ["x=$y", "it's"], serial: nil,
            quiet: false)
        let config = menu.grubConfig(kernel: "/vmlinuz", initrd: "/initrd.img", version: "1.0", bootInterface: true)
        #expect(config.contains("set timeout=0\n"))
        #expect(
            config.contains(
                "regexp --set=1:m1 --set=2:m2 --set=3:m3 --set=4:m4 --set=5:m5 --set=6:m6 "
                    + "'^([0-9a-f][0-9a-f]):([0-9a-f][0-9a-f]):([0-9a-f][0-9a-f]):([0-9a-f][0-9a-f]):"
                    + "([0-9a-f][0-9a-f]):([0-9a-f][0-9a-f])$' \"$net_default_mac\"\n"))
        #expect(
            config.contains(#"    linux /vmlinuz clump.mode=safe 'x=$y' 'it'\''s' BOOTIF=01-$m1-$m2-$m3-$m4-$m5-$m6"#))
    }

    @Test func catalogGainsAFinalUEFISection() throws {
        let catalog = try ElTorito.addingEFISection(
            Array(ElToritoTests.catalog().prefix(64)) + [UInt8](repeating: 0, count: 1984), loadRBA: 0x1234, sectors: 2880)
        let parsed = try ElTorito.parseCatalog(catalog)
        #expect(parsed.entries.count == 2)
        #expect(
            parsed.entries[1]
                == ElToritoBootEntry(
                    platformID: 0xEF, isDefault: false, bootable: true, mediaType: 0, loadSegment: 0, systemType: 0,
                    sectorCount: 2880, loadRBA: 0x1234))
        #expect(catalog[64] == 0x91)
        #expect(throws: ImageBuilderError.self) { try ElTorito.addingEFISection(catalog, loadRBA: 1, sectors: 4) }
        #expect(throws: ImageBuilderError.self) {
            try ElTorito.addingEFISection([UInt8](repeating: 0, count: 2048), loadRBA: 1, sectors: 70_000)
        }
    }

    @Test func crc32OfTheCheckString() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func gptRoundTripsAndItsBackupMirrorsIt() throws {
        let placement = EFIPartitionPlacement(startSector: 400, sectors: 2880)
        let sectors: UInt64 = 8192
        let gpt = placement.gpt(diskSectors: sectors, seed: "CLUMP/1700000000")
        var disk = [UInt8](repeating: 0, count: Int(sectors) * 512)
        disk.replaceSubrange(512..<(512 + gpt.primary.count), with: gpt.primary)
        disk.replaceSubrange((disk.count - gpt.backup.count)..<disk.count, with: gpt.backup)
        let parsed = try #require(GUIDPartitionTable.parse(disk))
        #expect(parsed.backupLBA == sectors - 1)
        #expect(parsed.partitions.count == 1)
        let esp = parsed.partitions[0]
        #expect(esp.type == GUIDPartitionTable.efiSystem && esp.typeName == "EFI System")
        #expect(esp.firstLBA == 400 && esp.lastLBA == 3279)
        #expect(esp.name == "EFI system partition")
        // Deterministic: the same seed gives the same GUIDs, another seed others.
        #expect(placement.gpt(diskSectors: sectors, seed: "CLUMP/1700000000").primary == gpt.primary)
        #expect(placement.gpt(diskSectors: sectors, seed: "CLUMP/1700000001").primary != gpt.primary)
        // The backup header names itself and the primary, and its entries sit just before it.
        let backupHeader = Array(gpt.backup.suffix(512))
        #expect(backupHeader.diskLE64(24) == sectors - 1 && backupHeader.diskLE64(32) == 1)
        #expect(backupHeader.diskLE64(72) == sectors - 33)
        // A corrupted header is not a GPT.
        disk[512 + 40] ^= 1
        #expect(GUIDPartitionTable.parse(disk) == nil)
    }

    @Test func guidTextRoundTrips() {
        let text = GUIDPartitionTable.efiSystem
        #expect(GUIDPartitionTable.guidBytes(text).prefix(4) == [0x28, 0x73, 0x2A, 0xC1])
        #expect(GUIDPartitionTable.guidText(GUIDPartitionTable.guidBytes(text)) == text)
    }

    @Test func mbrGetsTheEFIPartitionAndTheProtectiveEntry() throws {
        let template = [UInt8](repeating: 0x90, count: 432)
        let mbr = try HybridMBR.make(
            template: template, bootImageLBA: 30, diskID: 7, imageSize: 4 << 20,
            extra: EFIPartitionPlacement(startSector: 400, sectors: 2880).mbrEntries(diskSectors: 8192))
        let parsed = try #require(MasterBootRecord.parse(mbr))
        #expect(parsed.partitions.map(\.type) == [0x17, 0xEF, 0xEE])
        #expect(parsed.partitions[1].startLBA == 400 && parsed.partitions[1].sectors == 2880)
        #expect(!parsed.partitions[1].bootable)
        #expect(parsed.partitions[2].startLBA == 1 && parsed.partitions[2].sectors == 8191)
        #expect(parsed.partitions[1].startCHS == .init(cylinder: 0, head: 12, sector: 17))
    }

    @Test func theHostKernelIsSignedAndAnELFIsNot() throws {
        let kernels = try FileManager.default.contentsOfDirectory(atPath: "/boot").filter { $0.hasPrefix("vmlinuz-") }
        let kernel = try #require(kernels.sorted().last, "no /boot/vmlinuz-* (linux-image-amd64)")
        #expect(PESignature.isSigned(try readFile("/boot/" + kernel)))
        #expect(!PESignature.isSigned(try readFile("/bin/true")))
        // The same PE with its certificate table emptied is unsigned.
        var bytes = try readFile("/boot/" + kernel)
        let optional = Int(bytes.diskLE32(0x3C)) + 24
        let certificate = optional + (bytes.diskLE16(optional) == 0x20B ? 112 : 96) + 32
        bytes.putDiskLE64(0, at: certificate)
        #expect(!PESignature.isSigned(bytes))
    }

    @Test func espSizeLeavesRoomForTheFiles() {
        #expect(ESPImage.sizeKiB(fileSizes: [626_688]) == 768)
        #expect(ESPImage.sizeKiB(fileSizes: []) % 64 == 0)
        #expect(ESPImage.volumeID(seed: "CLUMP/1") == ESPImage.volumeID(seed: "CLUMP/1"))
        #expect(ESPImage.volumeID(seed: "CLUMP/1").count == 8)
    }
}

@Suite struct UEFIQEMUPlanTests {
    @Test func uefiAddsOVMFCodeAndTheVariableCopy() {
        let plan = QEMUPlan(medium: .cdrom("/c.iso"), firmware: .uefi, uefiVars: "/tmp/vars.fd")
        let line = plan.arguments().joined(separator: " ")
        #expect(line.contains("-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"))
        #expect(line.contains("-drive if=pflash,format=raw,unit=1,file=/tmp/vars.fd"))
        #expect(!line.contains("smm"))
        #expect(plan.varsTemplate == "/usr/share/OVMF/OVMF_VARS_4M.fd")
    }

    @Test func secureBootNeedsSMMAndTheSecureFlashAndMicrosoftKeys() {
        let plan = QEMUPlan(medium: .cdrom("/c.iso"), firmware: .uefiSecure, uefiVars: "/tmp/vars.fd")
        let argv = plan.arguments()
        let line = argv.joined(separator: " ")
        #expect(line.contains("-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on"))
        #expect(argv.contains("if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"))
        #expect(plan.varsTemplate == "/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
    }

    @Test func pxeNamesShimForUEFIAndPxelinuxForBIOS() {
        let uefi = QEMUPlan(medium: .pxe("/t"), firmware: .uefi).arguments()
        #expect(uefi.contains { $0.hasSuffix("bootfile=bootx64.efi") })
        #expect(QEMUPlan(medium: .pxe("/t")).arguments().contains { $0.hasSuffix("bootfile=pxelinux.0") })
        #expect(!QEMUPlan(medium: .pxe("/t")).arguments().contains { $0.contains("pflash") })
    }

    @Test func grubMenuIsAnsweredWithTheModesHotkey() {
        var watcher = PromptWatcher(answer: "expert")
        #expect(watcher.feed(Array("clump: UEFI boot loader from (cd0)\r\n\u{1b}[2;1H 1  auto     find".utf8)) == nil)
        #expect(watcher.feed(Array("\u{1b}[3;1H 2  expert   a shell".utf8)) == Array("2".utf8))
        #expect(watcher.feed(Array(" 2  expert ".utf8)) == nil)
    }

    @Test func syslinuxPromptIsStillAnsweredWithTheName() {
        var watcher = PromptWatcher(answer: "safe")
        #expect(watcher.feed(Array("boot: ".utf8)) == Array("safe\r".utf8))
    }
}
