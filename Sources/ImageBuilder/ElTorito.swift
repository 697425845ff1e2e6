/// El Torito ("Bootable CD-ROM Format Specification" 1.0, Phoenix/IBM 1995): the boot record
/// volume descriptor and the boot catalog it points to. Pure parsers over bytes.
public enum ElTorito {
    /// ISO 9660 logical sector size.
    public static let sectorSize = 2048
    /// The boot record volume descriptor is the one at sector 17 (right after the primary one).
    public static let bootRecordSector = 17
    static let systemIdentifier = "EL TORITO SPECIFICATION"

    /// Parses the boot record volume descriptor and returns the boot catalog's LBA.
    ///   byte 0: descriptor type 0 (boot record); 1-5: "CD001"; 6: version 1;
    ///   7-38: boot system identifier "EL TORITO SPECIFICATION", NUL padded;
    ///   71-74: LBA of the boot catalog, little-endian.
    public static func catalogLBA(bootRecord sector: [UInt8]) throws -> UInt32 {
        guard sector.count >= 75 else { throw parseError("boot record is \(sector.count) bytes, need 75") }
        guard sector[0] == 0, sector.diskASCII(1..<6) == "CD001", sector[6] == 1 else {
            throw parseError("sector 17 is not a boot record volume descriptor (type \(sector[0]))")
        }
        guard sector.diskASCII(7..<39) == systemIdentifier else {
            throw parseError("boot system identifier is '\(sector.diskASCII(7..<39))', not '\(systemIdentifier)'")
        }
        return sector.diskLE32(71)
    }

    /// Parses a boot catalog: the validation entry, the initial/default entry and any section
    /// header + section entries that follow (each entry 32 bytes).
    public static func parseCatalog(_ bytes: [UInt8]) throws -> ElToritoCatalog {
        guard bytes.count >= 64 else { throw parseError("boot catalog is \(bytes.count) bytes, need at least 64") }
        // Validation entry: 0 header ID 0x01; 1 platform; 2-3 reserved; 4-27 ID string;
        // 28-29 checksum; 30-31 key bytes 0x55 0xAA. All 16 words sum to 0 (mod 2^16).
        guard bytes[0] == 0x01 else {
            throw parseError("validation entry header ID is \(imageHex8(bytes[0])), not 0x01")
        }
        guard bytes[30] == 0x55, bytes[31] == 0xAA else {
            throw parseError(
                "validation entry key bytes are \(imageHex8(bytes[30])) \(imageHex8(bytes[31])), not 0x55 0xAA")
        }
        var sum: UInt16 = 0
        for word in 0..<16 { sum &+= bytes.diskLE16(word * 2) }
        guard sum == 0 else {
            throw parseError("validation entry checksum does not sum to zero (sum \(imageHex16(sum)))")
        }
        let platform = bytes[1]
        var catalog = ElToritoCatalog(platformID: platform, idString: bytes.diskASCII(4..<28), entries: [])
        catalog.entries.append(entry(bytes, at: 32, platform: platform, isDefault: true))

        var offset = 64
        while offset + 32 <= bytes.count {
            let indicator = bytes[offset]
            // Section header: 0 indicator 0x90 (more follow) / 0x91 (last); 1 platform;
            // 2-3 number of section entries; 4-31 ID string.
            guard indicator == 0x90 || indicator == 0x91 else { break }
            let sectionPlatform = bytes[offset + 1]
            var count = Int(bytes.diskLE16(offset + 2))
            offset += 32
            while count > 0 && offset + 32 <= bytes.count {
                // 0x44 is a section entry extension: it belongs to the entry before it.
                if bytes[offset] != 0x44 {
                    catalog.entries.append(entry(bytes, at: offset, platform: sectionPlatform, isDefault: false))
                    count -= 1
                }
                offset += 32
            }
            if indicator == 0x91 { break }
        }
        return catalog
    }

    /// Initial/default or section entry: 0 boot indicator (0x88 bootable); 1 boot media type;
    /// 2-3 load segment (0 means 0x7C0); 4 system type; 5 unused; 6-7 sector count (512-byte
    /// virtual sectors); 8-11 load RBA (2048-byte sectors).
    static func entry(_ bytes: [UInt8], at offset: Int, platform: UInt8, isDefault: Bool) -> ElToritoBootEntry {
        ElToritoBootEntry(
            platformID: platform, isDefault: isDefault, bootable: bytes[offset] == 0x88,
            mediaType: bytes[offset + 1] & 0x0F, loadSegment: bytes.diskLE16(offset + 2), systemType: bytes[offset + 4],
            sectorCount: bytes.diskLE16(offset + 6), loadRBA: bytes.diskLE32(offset + 8))
    }

    static func parseError(_ reason: String) -> ImageBuilderError {
        ImageBuilderError(operation: "parse El Torito", reason: reason)
    }
}

func imageHex8(_ byte: UInt8) -> String { "0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16) }
func imageHex16(_ value: UInt16) -> String { "0x" + String(value, radix: 16) }

/// A parsed El Torito boot catalog.
public struct ElToritoCatalog: Sendable, Equatable, Encodable {
    /// Platform of the validation entry (0 x86 BIOS, 1 PowerPC, 2 Mac, 0xEF UEFI).
    public var platformID: UInt8
    /// Manufacturer/developer ID string of the validation entry.
    public var idString: String
    /// The default entry first, then section entries in catalog order.
    public var entries: [ElToritoBootEntry]

    public init(platformID: UInt8, idString: String, entries: [ElToritoBootEntry]) {
        self.platformID = platformID
        self.idString = idString
        self.entries = entries
    }

    /// The initial/default entry (what a BIOS boots).
    public var defaultEntry: ElToritoBootEntry? { entries.first }
}

/// One bootable image named by the catalog.
public struct ElToritoBootEntry: Sendable, Equatable, Encodable {
    public var platformID: UInt8
    public var isDefault: Bool
    public var bootable: Bool
    /// 0 no emulation, 1 1.2M floppy, 2 1.44M floppy, 3 2.88M floppy, 4 hard disk.
    public var mediaType: UInt8
    /// Real-mode segment to load at; 0 means the traditional 0x7C0.
    public var loadSegment: UInt16
    public var systemType: UInt8
    /// Number of 512-byte virtual sectors the BIOS loads ("boot-load-size").
    public var sectorCount: UInt16
    /// First 2048-byte sector of the boot image.
    public var loadRBA: UInt32

    public init(
        platformID: UInt8, isDefault: Bool, bootable: Bool, mediaType: UInt8, loadSegment: UInt16, systemType: UInt8,
        sectorCount: UInt16, loadRBA: UInt32
    ) {
        self.platformID = platformID
        self.isDefault = isDefault
        self.bootable = bootable
        self.mediaType = mediaType
        self.loadSegment = loadSegment
        self.systemType = systemType
        self.sectorCount = sectorCount
        self.loadRBA = loadRBA
    }

    public var platformName: String {
        switch platformID {
        case 0: return "x86 BIOS"
        case 1: return "PowerPC"
        case 2: return "Mac"
        case 0xEF: return "UEFI"
        default: return "platform \(imageHex8(platformID))"
        }
    }

    public var mediaTypeName: String {
        switch mediaType {
        case 0: return "no emulation"
        case 1: return "1.2M floppy"
        case 2: return "1.44M floppy"
        case 3: return "2.88M floppy"
        case 4: return "hard disk"
        default: return "media \(mediaType)"
        }
    }
}
