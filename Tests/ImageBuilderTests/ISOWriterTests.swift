import Foundation
import Testing

@testable import ImageBuilder

@Suite struct ISOWriterTests {
    static let volumeID = "CLUMP_TEST"

    static func options(hybrid: Bool) throws -> ISOOptions {
        ISOOptions(volumeID: volumeID, hybridMBR: hybrid ? try Syslinux.isohdpfx() : nil, mtime: testMTime)
    }

    /// Writes the boot ISO into `dir` and returns its path and stats.
    static func writeBootISO(_ dir: ScratchDirectory, name: String = "clump.iso", hybrid: Bool = true) throws
        -> (String, ArchiveStats)
    {
        let path = dir.file(name)
        let stats = try ISOWriter.write(try Syslinux.bootEntries(), to: path, options: try options(hybrid: hybrid))
        return (path, stats)
    }

    /// Where libarchive's "INFO <ctime>libarchive ..." block starts (a sector after the
    /// volume descriptors).
    static func infoBlockOffset(_ image: [UInt8]) -> Int? {
        (17..<40).map { $0 * 2048 }.first { Array(image[$0..<($0 + 5)]) == Array("INFO ".utf8) }
    }

    @Test func elToritoEntryIsIsolinuxNoEmulationLoadSize4() throws {
        let dir = try ScratchDirectory()
        let (iso, stats) = try Self.writeBootISO(dir)
        #expect(stats.entries == 9)  // 6 entries + boot, dev, isolinux
        let report = try ImageInspector.inspect(path: iso)
        #expect(report.kind == .iso9660)
        let boot = try #require(report.elTorito?.defaultEntry)
        #expect(boot.bootable && boot.mediaType == 0 && boot.sectorCount == 4 && boot.platformID == 0)
        #expect(boot.loadSegment == 0)
        // The boot image's bytes 0x40.. still carry the hybrid signature (the boot info table
        // libarchive writes covers bytes 8-63 only).
        let image = try readBytes(iso)
        let start = Int(boot.loadRBA) * 2048
        #expect(Array(image[(start + 0x40)..<(start + 0x44)]) == [0xFB, 0xC0, 0x78, 0x70])
        // The boot info table: PVD at LBA 16, the file's own LBA.
        #expect(image.diskLE32(start + 8) == 16 && image.diskLE32(start + 12) == boot.loadRBA)

        let xorriso = try runTool(
            "/usr/bin/xorriso", ["-indev", iso, "-report_el_torito", "plain"], package: "xorriso")
        #expect(xorriso.status == 0, "\(xorriso.stderr)")
        let line = try #require(
            xorriso.stdout.split(separator: "\n").first { $0.hasPrefix("El Torito boot img :") },
            "\(xorriso.stdout)\(xorriso.stderr)")
        let fields = line.split(separator: " ").map(String.init)
        // "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4          40"
        #expect(Array(fields.suffix(7)) == ["BIOS", "y", "none", "0x0000", "0x00", "4", String(boot.loadRBA)])
        #expect(xorriso.stdout.contains("/isolinux/isolinux.bin"))
        #expect(xorriso.stdout.contains("El Torito cat path : /isolinux/boot.cat"))
    }

    @Test func hybridMBRFields() throws {
        let dir = try ScratchDirectory()
        let (iso, stats) = try Self.writeBootISO(dir)
        let image = try readBytes(iso)
        #expect(image.count % (1 << 20) == 0, "hybrid images are padded to whole 1 MiB cylinders")
        #expect(stats.writtenBytes == image.count)
        let template = try Syslinux.isohdpfx()
        #expect(Array(image[0..<432]) == Array(template[0..<432]))
        let report = try ImageInspector.inspect(path: iso)
        let boot = try #require(report.elTorito?.defaultEntry)
        #expect(image.diskLE32(432) == boot.loadRBA * 4)
        #expect(image.diskLE32(436) == 0 && image.diskLE16(444) == 0)
        let mbr = try #require(report.mbr)
        #expect(mbr.diskID == HybridMBR.diskID(volumeID: Self.volumeID, mtime: testMTime))
        #expect(mbr.partitions.count == 1)
        let partition = mbr.partitions[0]
        #expect(partition.bootable && partition.type == 0x17 && partition.startLBA == 0)
        #expect(Int(partition.sectors) * 512 == image.count)
        #expect(partition.startCHS == MasterBootRecord.CHS(cylinder: 0, head: 0, sector: 1))
        #expect(partition.endCHS == MasterBootRecord.CHS(cylinder: UInt16(image.count >> 20) - 1, head: 63, sector: 32))
    }

    @Test func blkidSeesISOLabelAndDosTable() throws {
        let dir = try ScratchDirectory()
        let (iso, _) = try Self.writeBootISO(dir)
        let view = try #require(try ImageInspector.inspect(path: iso).blkid)
        #expect(view.type == "iso9660")
        #expect(view.label == Self.volumeID)
        #expect(view.partitionTableType == "dos")
        // ISO 9660 "UUID" is the volume modification date: the build time, not the clock.
        #expect(view.uuid == "2024-05-01-12-34-56-00")

        let cli = try runTool("/usr/sbin/blkid", ["-p", iso], package: "util-linux")
        #expect(cli.stdout.contains("TYPE=\"iso9660\""), "\(cli.stdout)\(cli.stderr)")
        #expect(cli.stdout.contains("LABEL=\"\(Self.volumeID)\""))
        #expect(cli.stdout.contains("PTTYPE=\"dos\""))
        let isoinfo = try runTool("/usr/bin/isoinfo", ["-d", "-i", iso], package: "genisoimage")
        #expect(isoinfo.stdout.contains("Volume id: \(Self.volumeID)"), "\(isoinfo.stdout)")
    }

    @Test func sameInputsSameBytes() throws {
        let dir = try ScratchDirectory()
        let (first, _) = try Self.writeBootISO(dir, name: "a.iso")
        // libarchive reads the clock (to the second) while writing: cross a second boundary.
        Thread.sleep(forTimeInterval: 1.2)
        let (second, _) = try Self.writeBootISO(dir, name: "b.iso")
        let same = try readBytes(first) == readBytes(second)
        #expect(same, "two ISO writes with the same input differ")
    }

    @Test func datesAndOwnersComeFromTheSpecNotTheHost() throws {
        let dir = try ScratchDirectory()
        let (iso, _) = try Self.writeBootISO(dir, hybrid: false)
        let image = try readBytes(iso)
        let stamp = Array("2024050112345600".utf8) + [0]
        // Primary volume descriptor: creation, modification, effective dates.
        for offset in [813, 830, 864] {
            #expect(Array(image[(16 * 2048 + offset)..<(16 * 2048 + offset + 17)]) == stamp)
        }
        // libarchive's information block names the build time, not the write time.
        let info = try #require(Self.infoBlockOffset(image))
        #expect(String(decoding: image[info..<(info + 30)], as: UTF8.self) == "INFO Wed May  1 12:34:56 2024\n")
        // Rock Ridge as seen by a reader: every entry with the build mtime; the catalog and
        // root directory (made by libarchive) owned by 0:0.
        let report = try ImageInspector.inspect(path: iso)
        #expect(report.entries.allSatisfy { $0.mtime == testMTime }, "\(report.entries.map { ($0.path, $0.mtime) })")
        let catalog = try #require(report.entries.first { $0.path == "isolinux/boot.cat" })
        #expect(catalog.uid == 0 && catalog.gid == 0)
    }

    @Test func normaliserUndoesClockTimeZoneAndOwner() throws {
        let dir = try ScratchDirectory()
        let (iso, _) = try Self.writeBootISO(dir, hybrid: false)
        let clean = try readBytes(iso)
        // Dirty a copy the way a different clock, time zone and user would.
        let dirty = InMemoryImage(clean)
        let pvd = 16 * 2048
        dirty.bytes.replaceSubrange((pvd + 813)..<(pvd + 830), with: Array("2031122423595900".utf8) + [0x24])
        dirty.bytes.replaceSubrange((pvd + 156 + 18)..<(pvd + 156 + 25), with: [131, 12, 24, 23, 59, 59, 0x24])
        let info = try #require(Self.infoBlockOffset(clean))
        dirty.bytes.replaceSubrange((info + 5)..<(info + 30), with: Array("Wed Dec 24 23:59:59 2031\n".utf8))
        let summary = try ISO9660Normaliser(storage: dirty, mtime: testMTime).normalise()
        let restored = dirty.bytes == clean
        #expect(restored, "the normaliser did not restore the clean image")
        #expect(summary.volumeDescriptors == 2)  // primary + Joliet
        #expect(summary.infoBlockPatched)
        #expect(summary.rockRidgeStamps > 0 && summary.ownersReset > 0)
    }

    @Test func plainISOHasNoMBRAndNoPadding() throws {
        let dir = try ScratchDirectory()
        let (iso, stats) = try Self.writeBootISO(dir, hybrid: false)
        let report = try ImageInspector.inspect(path: iso)
        #expect(report.mbr == nil)
        #expect(report.blkid?.partitionTableType == nil)
        #expect(stats.writtenBytes % 2048 == 0 && stats.writtenBytes % (1 << 20) != 0)
    }

    @Test func entriesKeepModesAndLinks() throws {
        let dir = try ScratchDirectory()
        let (iso, _) = try Self.writeBootISO(dir, hybrid: false)
        let report = try ImageInspector.inspect(path: iso)
        let paths = report.entries.map(\.path)
        for path in ["boot", "boot/initramfs-clump.img", "isolinux/isolinux.cfg", "isolinux/boot.cat", "dev/console"] {
            #expect(paths.contains(path), "\(paths)")
        }
        #expect(report.entries.first { $0.path == "boot/initrd" }?.symlinkTarget == "initramfs-clump.img")
        #expect(report.entries.first { $0.path == "isolinux/isolinux.cfg" }?.mode == 0o644)
        #expect(report.entries.first { $0.path == "dev/console" }?.type == "character device")
    }

    @Test func bootImageWithoutHybridSignatureIsRefused() throws {
        let dir = try ScratchDirectory()
        var entries = try Syslinux.bootEntries().filter { $0.path != "isolinux/isolinux.bin" }
        entries.append(.file("isolinux/isolinux.bin", [UInt8](repeating: 0x90, count: 4096)))
        let error = #expect(throws: ImageBuilderError.self) {
            try ISOWriter.write(entries, to: dir.file("x.iso"), options: try Self.options(hybrid: true))
        }
        #expect(error?.reason.contains("0x7078c0fb") == true)
        #expect(try dir.listing().isEmpty)
    }

    @Test(arguments: [
        ("lower-case", "volume ID"),
        ("THIS_VOLUME_ID_IS_LONGER_THAN_32_CHARS", "volume ID"),
    ])
    func badVolumeIDIsRefused(volumeID: String, expected: String) throws {
        let dir = try ScratchDirectory()
        let error = #expect(throws: ImageBuilderError.self) {
            try ISOWriter.write(
                try Syslinux.bootEntries(), to: dir.file("x.iso"), options: ISOOptions(volumeID: volumeID, mtime: 0))
        }
        #expect(error?.reason.contains(expected) == true)
    }

    @Test func missingBootImageAndCatalogClashAreRefused() throws {
        let dir = try ScratchDirectory()
        let noBoot = try Syslinux.bootEntries().filter { $0.path != "isolinux/isolinux.bin" }
        let missing = #expect(throws: ImageBuilderError.self) {
            try ISOWriter.write(noBoot, to: dir.file("x.iso"), options: try Self.options(hybrid: false))
        }
        #expect(missing?.hint?.contains("isolinux") == true)
        let clash = try Syslinux.bootEntries() + [.file("isolinux/boot.cat", text: "")]
        #expect(throws: ImageBuilderError.self) {
            try ISOWriter.write(clash, to: dir.file("x.iso"), options: try Self.options(hybrid: false))
        }
    }

    @Test func missingHostFileLeavesNothingBehind() throws {
        let dir = try ScratchDirectory()
        let entries = try Syslinux.bootEntries() + [.hostFile("boot/vmlinuz", from: dir.file("no-kernel"))]
        #expect(throws: ImageBuilderError.self) {
            try ISOWriter.write(entries, to: dir.file("x.iso"), options: try Self.options(hybrid: true))
        }
        #expect(try dir.listing().isEmpty)
    }

    @Test func nonASCIINamesSurviveInRockRidge() throws {
        let dir = try ScratchDirectory()
        let iso = dir.file("utf8.iso")
        try ISOWriter.write(
            try Syslinux.bootEntries() + [.file("etc/café.txt", text: "x")], to: iso,
            options: try Self.options(hybrid: false))
        #expect(try ImageInspector.inspect(path: iso).entries.map(\.path).contains("etc/café.txt"))
        let listing = try runTool("/usr/bin/isoinfo", ["-R", "-f", "-i", iso], package: "genisoimage")
        #expect(listing.stdout.contains("/etc/café.txt"), "\(listing.stdout)")
    }

    @Test func deepDirectoriesAreRelocatedReproducibly() throws {
        let dir = try ScratchDirectory()
        // Deeper than ISO 9660's 8 levels: Rock Ridge relocates into rr_moved, a directory
        // libarchive makes itself (clock time, writer's uid) and the normaliser fixes.
        let deep = (1...12).map { "d\($0)" }.joined(separator: "/") + "/file"
        let entries = try Syslinux.bootEntries() + [.file(deep, text: "deep")]
        try ISOWriter.write(entries, to: dir.file("a.iso"), options: try Self.options(hybrid: true))
        Thread.sleep(forTimeInterval: 1.2)
        try ISOWriter.write(entries, to: dir.file("b.iso"), options: try Self.options(hybrid: true))
        let same = try readBytes(dir.file("a.iso")) == readBytes(dir.file("b.iso"))
        #expect(same, "two ISO writes with the same input differ")
        let report = try ImageInspector.inspect(path: dir.file("a.iso"))
        #expect(report.entries.map(\.path).contains(deep))
    }
}
