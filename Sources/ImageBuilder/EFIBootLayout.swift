/// The UEFI side of the hybrid ISO: a second El Torito entry (platform 0xEF) for the EFI system
/// partition image, and the partition entries that make the same image boot from a USB stick.
extension ElTorito {
    /// UEFI's platform ID in the catalog (UEFI 2.10, 13.3.2.1: "EFI: 0xEF").
    static let efiPlatform: UInt8 = 0xEF

    /// The catalog with one final section (header 0x91, platform 0xEF, one entry) after the
    /// validation and default entries, naming a no-emulation image of `sectors` 512-byte sectors
    /// at `loadRBA`. The slots it fills must be empty (a catalog libarchive wrote has two entries).
    static func addingEFISection(_ catalog: [UInt8], loadRBA: UInt32, sectors: Int) throws -> [UInt8] {
        guard catalog.count >= 128, catalog[64..<128].allSatisfy({ $0 == 0 }) else {
            throw parseError("the boot catalog already has entries after the default one")
        }
        // El Torito 2.0: the sector count is 16 bits; UEFI firmware reads the whole image from it.
        guard sectors > 0, sectors <= Int(UInt16.max) else {
            throw ImageBuilderError(
                operation: "write El Torito",
                reason: "EFI image of \(sectors * 512) bytes does not fit the 16-bit sector count",
                hint: "the EFI system partition image must stay under 32 MiB")
        }
        var bytes = catalog
        // Section header: 0 0x91 (last header); 1 platform; 2-3 entries in this section; 4-31 ID.
        bytes[64] = 0x91
        bytes[65] = efiPlatform
        bytes.putDiskLE16(1, at: 66)
        // Section entry: 0 0x88 bootable; 1 media 0 (no emulation); 2-3 load segment 0; 4 system
        // type 0; 6-7 sector count; 8-11 load RBA; 12 selection criteria 0 (none).
        bytes[96] = 0x88
        bytes.putDiskLE16(UInt16(sectors), at: 102)
        bytes.putDiskLE32(loadRBA, at: 104)
        return bytes
    }
}

/// Finds a file's extent in an ISO 9660 image through the primary volume descriptor's tree.
enum ISO9660Lookup {
    /// LBA and size of `path` (e.g. `boot/grub/efi.img`); names compare without the `;1`
    /// version and case-insensitively, as the primary tree stores them upper-case.
    static func extent(of path: String, in storage: ImageStorage) throws -> (lba: UInt32, size: UInt32) {
        let sector = ElTorito.sectorSize
        let primary = try storage.read(at: 16 * sector, count: sector)
        guard primary[0] == 1, primary.diskASCII(1..<6) == "CD001" else {
            throw lookupError(path, "no primary volume descriptor")
        }
        // The root directory record sits at byte 156 of the primary descriptor (ECMA-119 8.4.18).
        var lba = primary.diskLE32(156 + 2)
        var size = primary.diskLE32(156 + 10)
        let parts = path.split(separator: "/").map { $0.uppercased() }
        for (index, part) in parts.enumerated() {
            let extent = try storage.read(at: Int(lba) * sector, count: (Int(size) + sector - 1) / sector * sector)
            var offset = 0
            var found = false
            while offset < extent.count {
                let length = Int(extent[offset])
                if length == 0 {
                    offset = (offset / sector + 1) * sector
                    continue
                }
                guard length >= 34, offset + length <= extent.count else { break }
                let nameLength = Int(extent[offset + 32])
                var name = String(decoding: extent[(offset + 33)..<(offset + 33 + nameLength)], as: UTF8.self)
                if let semicolon = name.firstIndex(of: ";") { name = String(name[..<semicolon]) }
                if name.hasSuffix(".") { name.removeLast() }
                let isDirectory = extent[offset + 25] & 0x02 != 0
                if name.uppercased() == part && isDirectory == (index < parts.count - 1) {
                    lba = extent.diskLE32(offset + 2)
                    size = extent.diskLE32(offset + 10)
                    found = true
                    break
                }
                offset += length
            }
            guard found else { throw lookupError(path, "'\(part)' not found") }
        }
        return (lba, size)
    }

    private static func lookupError(_ path: String, _ reason: String) -> ImageBuilderError {
        ImageBuilderError(operation: "find file in ISO 9660 image", path: path, reason: reason)
    }
}

/// Where the EFI system partition image lies in the ISO, in 512-byte disk sectors.
struct EFIPartitionPlacement: Equatable {
    var startSector: UInt32
    var sectors: UInt32

    /// The MBR entries beside isohybrid's partition 1: 2 is the EFI system partition (type 0xEF),
    /// which UEFI firmware reading the MBR boots; 3 is the GPT's protective entry (type 0xEE,
    /// from sector 1), which firmware and Linux look for before they read the GPT (UEFI 2.10,
    /// 5.2.3). Firmware that finds the GPT boots its EFI partition and never the El Torito one:
    /// OVMF reads El Torito even from a disk unless a GPT says otherwise.
    func mbrEntries(diskSectors: UInt32) -> [(slot: Int, type: UInt8, start: UInt32, sectors: UInt32)] {
        [(2, 0xEF, startSector, sectors), (3, 0xEE, 1, diskSectors - 1)]
    }

    /// The GPT: one partition, the EFI system partition, with GUIDs derived from the build.
    func gpt(diskSectors: UInt64, seed: String) -> (primary: [UInt8], backup: [UInt8]) {
        GUIDPartitionTable.make(
            diskGUID: GUIDPartitionTable.derivedGUID(seed + "/disk"),
            partitions: [
                (
                    GUIDPartitionTable.efiSystem, GUIDPartitionTable.derivedGUID(seed + "/esp"), UInt64(startSector),
                    UInt64(startSector) + UInt64(sectors) - 1, "EFI system partition"
                )
            ], sectors: diskSectors)
    }
}
