import Testing

@testable import ImageBuilder

/// The pure parsers, on hand-made bytes.
@Suite struct ElToritoTests {
    /// A boot record volume descriptor pointing at a catalog in sector 0x27.
    static func bootRecord(catalogLBA: UInt32 = 0x27) -> [UInt8] {
        var sector = [UInt8](repeating: 0, count: 2048)
        sector[0] = 0x00  // descriptor type: boot record
        sector.replaceSubrange(1..<6, with: Array("CD001".utf8))  // standard identifier
        sector[6] = 0x01  // descriptor version
        let system = Array("EL TORITO SPECIFICATION".utf8)  // boot system identifier, NUL padded to 32
        sector.replaceSubrange(7..<(7 + system.count), with: system)
        sector.putDiskLE32(catalogLBA, at: 71)  // absolute pointer to the boot catalog
        return sector
    }

    /// A catalog: validation entry, default entry (isolinux), one final UEFI section with one entry.
    static func catalog() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 2048)
        // Validation entry
        bytes[0] = 0x01  // header ID
        bytes[1] = 0x00  // platform: x86
        bytes.replaceSubrange(4..<9, with: Array("CLUMP".utf8))  // ID string (24 bytes)
        bytes[30] = 0x55  // key byte
        bytes[31] = 0xAA  // key byte
        var sum: UInt16 = 0
        for word in 0..<16 { sum &+= bytes.diskLE16(word * 2) }
        bytes.putDiskLE16(0 &- sum, at: 28)  // checksum: the 16 words sum to zero
        // Initial/default entry
        bytes[32] = 0x88  // bootable
        bytes[33] = 0x00  // media: no emulation
        bytes.putDiskLE16(0x0000, at: 34)  // load segment 0 = 0x7C0
        bytes[36] = 0x00  // system type
        bytes.putDiskLE16(4, at: 38)  // sector count: 4 virtual sectors
        bytes.putDiskLE32(0x28, at: 40)  // load RBA
        // Section header
        bytes[64] = 0x91  // final section header
        bytes[65] = 0xEF  // platform: UEFI
        bytes.putDiskLE16(1, at: 66)  // one section entry
        // Section entry
        bytes[96] = 0x88  // bootable
        bytes[97] = 0x00  // no emulation
        bytes.putDiskLE16(0, at: 98)  // load segment
        bytes.putDiskLE16(0x0B40, at: 102)  // sector count (an EFI FAT image)
        bytes.putDiskLE32(0x30, at: 104)  // load RBA
        return bytes
    }

    @Test func readsTheBootRecord() throws {
        #expect(try ElTorito.catalogLBA(bootRecord: Self.bootRecord()) == 0x27)
    }

    @Test func rejectsAPrimaryDescriptorAsBootRecord() throws {
        var sector = Self.bootRecord()
        sector[0] = 1
        #expect(throws: ImageBuilderError.self) { try ElTorito.catalogLBA(bootRecord: sector) }
        var other = Self.bootRecord()
        other[7] = UInt8(ascii: "X")
        #expect(throws: ImageBuilderError.self) { try ElTorito.catalogLBA(bootRecord: other) }
    }

    @Test func parsesDefaultAndSectionEntries() throws {
        let catalog = try ElTorito.parseCatalog(Self.catalog())
        #expect(catalog.platformID == 0 && catalog.idString == "CLUMP")
        #expect(catalog.entries.count == 2)
        let boot = try #require(catalog.defaultEntry)
        #expect(
            boot
                == ElToritoBootEntry(
                    platformID: 0, isDefault: true, bootable: true, mediaType: 0, loadSegment: 0, systemType: 0,
                    sectorCount: 4,
                    loadRBA: 0x28))
        #expect(boot.platformName == "x86 BIOS" && boot.mediaTypeName == "no emulation")
        let efi = catalog.entries[1]
        #expect(efi.platformID == 0xEF && !efi.isDefault && efi.sectorCount == 0x0B40 && efi.loadRBA == 0x30)
        #expect(efi.platformName == "UEFI")
    }

    @Test func rejectsABadChecksum() throws {
        var bytes = Self.catalog()
        bytes[4] ^= 0xFF
        let error = #expect(throws: ImageBuilderError.self) { try ElTorito.parseCatalog(bytes) }
        #expect(error?.reason.contains("checksum") == true)
    }

    @Test func rejectsMissingKeyBytes() throws {
        var bytes = Self.catalog()
        bytes[31] = 0
        #expect(throws: ImageBuilderError.self) { try ElTorito.parseCatalog(bytes) }
    }
}

@Suite struct MasterBootRecordTests {
    /// Sector 0 with one bootable type-0x17 partition over 2048 sectors, as isohybrid makes it.
    static func sector0() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 512)
        bytes.putDiskLE32(0xDEAD_BEEF, at: 440)  // disk signature
        bytes[446] = 0x80  // status: bootable
        bytes[447] = 0x00  // start head
        bytes[448] = 0x01  // start sector 1, cylinder bits 8-9 = 0
        bytes[449] = 0x00  // start cylinder
        bytes[450] = 0x17  // type
        bytes[451] = 63  // end head
        bytes[452] = 0x20 | 0x40  // end sector 32, cylinder bit 8 set
        bytes[453] = 0x05  // end cylinder bits 0-7 -> cylinder 0x105
        bytes.putDiskLE32(0, at: 454)  // start LBA
        bytes.putDiskLE32(2048, at: 458)  // sectors
        bytes[510] = 0x55  // boot signature
        bytes[511] = 0xAA
        return bytes
    }

    @Test func parsesPartitionTable() throws {
        let mbr = try #require(MasterBootRecord.parse(Self.sector0()))
        #expect(mbr.diskID == 0xDEAD_BEEF)
        #expect(mbr.partitions.count == 1)
        let partition = mbr.partitions[0]
        #expect(partition.number == 1 && partition.bootable && partition.type == 0x17)
        #expect(partition.startLBA == 0 && partition.sectors == 2048)
        #expect(partition.startCHS == MasterBootRecord.CHS(cylinder: 0, head: 0, sector: 1))
        #expect(partition.endCHS == MasterBootRecord.CHS(cylinder: 0x105, head: 63, sector: 32))
    }

    @Test func noSignatureMeansNoTable() {
        var bytes = Self.sector0()
        bytes[511] = 0
        #expect(MasterBootRecord.parse(bytes) == nil)
        #expect(MasterBootRecord.parse([UInt8](repeating: 0, count: 2048)) == nil)
    }
}

@Suite struct HybridMBRTests {
    let template = (0..<432).map { UInt8(truncatingIfNeeded: $0 | 1) }

    @Test func fieldsMatchIsohybrid() throws {
        // 3 MiB image = 3 cylinders of 64 heads * 32 sectors.
        let mbr = try HybridMBR.make(template: template, bootImageLBA: 40, diskID: 0x1234_5678, imageSize: 3 << 20)
        #expect(mbr.count == 512)
        #expect(Array(mbr[0..<432]) == template)  // boot code
        #expect(mbr.diskLE32(432) == 160)  // isolinux.bin LBA * 4 (512-byte sectors)
        #expect(mbr.diskLE32(436) == 0)
        #expect(mbr.diskLE32(440) == 0x1234_5678)  // disk signature
        #expect(mbr.diskLE16(444) == 0)
        #expect(
            Array(mbr[446..<462]) == [
                0x80,  // bootable
                0x00, 0x01, 0x00,  // start CHS: head 0, sector 1, cylinder 0
                0x17,  // type
                63, 32, 2,  // end CHS: head 63, sector 32, cylinder 2
                0, 0, 0, 0,  // start LBA 0
                0x00, 0x18, 0x00, 0x00,  // 6144 sectors = 3 MiB
            ])
        #expect(mbr[462..<510].allSatisfy { $0 == 0 })  // three empty entries
        #expect(mbr[510] == 0x55 && mbr[511] == 0xAA)
        let parsed = try #require(MasterBootRecord.parse(mbr))
        #expect(parsed.partitions.first?.sectors == 6144)
    }

    @Test func bigImagesClampCHSAt1024Cylinders() throws {
        let mbr = try HybridMBR.make(template: template, bootImageLBA: 1, diskID: 1, imageSize: 2000 << 20)
        // End cylinder 1023 = 0x3FF: low byte 0xFF, bits 8-9 in the sector byte's top bits.
        #expect(mbr[446 + 6] == 32 | 0xC0 && mbr[446 + 7] == 0xFF)
        #expect(mbr.diskLE32(446 + 12) == 2000 * 2048)
    }

    @Test func padsToWholeCylinders() {
        #expect(HybridMBR.paddedSize(552_960) == 1 << 20)
        #expect(HybridMBR.paddedSize(1 << 20) == 1 << 20)
        #expect(HybridMBR.paddedSize((1 << 20) + 1) == 2 << 20)
    }

    @Test func diskIDIsDeterministicAndNeverZero() {
        let id = HybridMBR.diskID(volumeID: "CLUMP", mtime: testMTime)
        #expect(id == HybridMBR.diskID(volumeID: "CLUMP", mtime: testMTime))
        #expect(id != HybridMBR.diskID(volumeID: "CLUMP", mtime: testMTime + 1))
        #expect(id != HybridMBR.diskID(volumeID: "CLUMP2", mtime: testMTime))
        #expect(id != 0)
    }

    @Test func shortTemplateIsAnError() {
        #expect(throws: ImageBuilderError.self) {
            try HybridMBR.make(template: [1, 2, 3], bootImageLBA: 1, diskID: 1, imageSize: 1 << 20)
        }
    }
}

@Suite struct ISOTimestampTests {
    @Test(arguments: [
        (0, [70, 1, 1, 0, 0, 0, 0] as [UInt8], "Thu Jan  1 00:00:00 1970\n"),
        (951_782_400, [100, 2, 29, 0, 0, 0, 0], "Tue Feb 29 00:00:00 2000\n"),
        (testMTime, [124, 5, 1, 12, 34, 56, 0], "Wed May  1 12:34:56 2024\n"),
        (4_102_444_799, [199, 12, 31, 23, 59, 59, 0], "Thu Dec 31 23:59:59 2099\n"),
    ])
    func convertsUTC(seconds: Int, record: [UInt8], ctime: String) {
        let time = ISOTimestamp(unixSeconds: seconds)
        #expect(time.directoryRecordDate == record)
        #expect(time.ctimeText == ctime)
    }

    @Test func volumeDescriptorDateIsDigitsThenOffset() {
        #expect(ISOTimestamp(unixSeconds: testMTime).volumeDescriptorDate == Array("2024050112345600".utf8) + [0])
    }
}
