import AgentSupport

/// A GUID partition table (UEFI 2.10, 5.3): built for the hybrid ISO, parsed for `inspect`.
///
/// The ISO's first 32 KiB are free for a partition table (ECMA-119 6.2.1, the System Area):
/// the header goes in 512-byte sector 1, the 128 entries in sectors 2-33. The backup copy
/// sits in the last 33 sectors, which the hybrid writer keeps free by padding.
public struct GUIDPartitionTable: Sendable, Equatable, Encodable {
    public struct Partition: Sendable, Equatable, Encodable {
        public var number: Int
        /// The type GUID in its text form, e.g. C12A7328-F81F-11D2-BA4B-00A0C93EC93B.
        public var type: String
        public var guid: String
        public var firstLBA: UInt64
        public var lastLBA: UInt64
        public var name: String

        /// What the type GUID means, for people.
        public var typeName: String {
            switch type {
            case GUIDPartitionTable.efiSystem: return "EFI System"
            case GUIDPartitionTable.basicData: return "Microsoft basic data"
            default: return "unknown"
            }
        }
    }

    public var diskGUID: String
    public var backupLBA: UInt64
    public var partitions: [Partition]

    public static let efiSystem = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    public static let basicData = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    static let signature = Array("EFI PART".utf8)
    static let entryCount = 128
    static let entrySize = 128
    /// Sectors the entry array takes: 128 * 128 bytes / 512.
    static let entrySectors = entryCount * entrySize / 512

    /// The primary header and entry array (sectors 1-33) and the backup's (the last 33
    /// sectors, entries first), for a disk of `sectors` 512-byte sectors.
    static func make(
        diskGUID: [UInt8], partitions: [(type: String, guid: [UInt8], first: UInt64, last: UInt64, name: String)],
        sectors: UInt64
    ) -> (primary: [UInt8], backup: [UInt8]) {
        var entries = [UInt8](repeating: 0, count: entryCount * entrySize)
        for (index, partition) in partitions.enumerated() {
            // Entry: 0 type GUID; 16 unique GUID; 32 first LBA; 40 last LBA (inclusive);
            // 48 attributes; 56 name, 36 UTF-16LE code units.
            let offset = index * entrySize
            entries.replaceSubrange(offset..<(offset + 16), with: guidBytes(partition.type))
            entries.replaceSubrange((offset + 16)..<(offset + 32), with: partition.guid)
            entries.putDiskLE64(partition.first, at: offset + 32)
            entries.putDiskLE64(partition.last, at: offset + 40)
            for (position, unit) in partition.name.utf16.prefix(36).enumerated() {
                entries[offset + 56 + position * 2] = UInt8(unit & 0xFF)
                entries[offset + 57 + position * 2] = UInt8(unit >> 8)
            }
        }
        let last = sectors - 1
        let entriesCRC = CRC32.checksum(entries)
        func header(my: UInt64, alternate: UInt64, entriesAt: UInt64) -> [UInt8] {
            // 0 signature; 8 revision 1.0; 12 header size 92; 16 header CRC32; 24 my LBA;
            // 32 alternate LBA; 40 first usable; 48 last usable; 56 disk GUID; 72 entries LBA;
            // 80 entry count; 84 entry size; 88 entry array CRC32.
            var bytes = [UInt8](repeating: 0, count: 512)
            bytes.replaceSubrange(0..<8, with: signature)
            bytes.putDiskLE32(0x0001_0000, at: 8)
            bytes.putDiskLE32(92, at: 12)
            bytes.putDiskLE64(my, at: 24)
            bytes.putDiskLE64(alternate, at: 32)
            bytes.putDiskLE64(UInt64(2 + entrySectors), at: 40)
            bytes.putDiskLE64(last - 1 - UInt64(entrySectors), at: 48)
            bytes.replaceSubrange(56..<72, with: diskGUID)
            bytes.putDiskLE64(entriesAt, at: 72)
            bytes.putDiskLE32(UInt32(entryCount), at: 80)
            bytes.putDiskLE32(UInt32(entrySize), at: 84)
            bytes.putDiskLE32(entriesCRC, at: 88)
            bytes.putDiskLE32(CRC32.checksum(Array(bytes[0..<92])), at: 16)
            return bytes
        }
        let primary = header(my: 1, alternate: last, entriesAt: 2) + entries
        let backup = entries + header(my: last, alternate: 1, entriesAt: last - UInt64(entrySectors))
        return (primary, backup)
    }

    /// Parses sectors 1-33 of an image; nil when sector 1 is not a GPT header with good CRCs.
    public static func parse(_ bytes: [UInt8]) -> GUIDPartitionTable? {
        let headerStart = 512
        guard bytes.count >= headerStart + 512 * (1 + entrySectors),
            Array(bytes[headerStart..<(headerStart + 8)]) == signature
        else { return nil }
        var header = Array(bytes[headerStart..<(headerStart + 92)])
        let headerCRC = header.diskLE32(16)
        header.putDiskLE32(0, at: 16)
        guard CRC32.checksum(header) == headerCRC else { return nil }
        let count = Int(header.diskLE32(80))
        let size = Int(header.diskLE32(84))
        let entriesAt = Int(header.diskLE64(72)) * 512
        guard size >= 128, count * size <= bytes.count - entriesAt, entriesAt >= 1024 else { return nil }
        let entries = Array(bytes[entriesAt..<(entriesAt + count * size)])
        guard CRC32.checksum(entries) == header.diskLE32(88) else { return nil }
        var partitions: [Partition] = []
        for index in 0..<count {
            let offset = index * size
            let type = Array(entries[offset..<(offset + 16)])
            guard type.contains(where: { $0 != 0 }) else { continue }
            var units: [UInt16] = []
            for position in 0..<36 {
                let at = offset + 56 + position * 2
                let unit = UInt16(entries[at]) | UInt16(entries[at + 1]) << 8
                if unit == 0 { break }
                units.append(unit)
            }
            partitions.append(
                Partition(
                    number: index + 1, type: guidText(type),
                    guid: guidText(Array(entries[(offset + 16)..<(offset + 32)])),
                    firstLBA: entries.diskLE64(offset + 32), lastLBA: entries.diskLE64(offset + 40),
                    name: String(decoding: units, as: UTF16.self)))
        }
        return GUIDPartitionTable(
            diskGUID: guidText(Array(header[56..<72])), backupLBA: header.diskLE64(32), partitions: partitions)
    }

    /// A GUID's 16 bytes as stored: the first three groups little-endian, the rest as written.
    static func guidBytes(_ text: String) -> [UInt8] {
        let hex = Array(text.replacingOccurrences(of: "-", with: "").utf8)
        var raw: [UInt8] = []
        var index = 0
        while index + 1 < hex.count {
            raw.append(UInt8(hexValue(hex[index]) << 4 | hexValue(hex[index + 1])))
            index += 2
        }
        guard raw.count == 16 else { return [UInt8](repeating: 0, count: 16) }
        return Array(raw[0..<4].reversed()) + Array(raw[4..<6].reversed()) + Array(raw[6..<8].reversed())
            + Array(raw[8..<16])
    }

    static func guidText(_ bytes: [UInt8]) -> String {
        let ordered =
            Array(bytes[0..<4].reversed()) + Array(bytes[4..<6].reversed()) + Array(bytes[6..<8].reversed())
            + Array(bytes[8..<16])
        let hex = ordered.map { imageHex8($0).dropFirst(2).uppercased() }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }

    private static func hexValue(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return 0
        }
    }

    /// A version-4-shaped GUID derived from a seed (FNV-1a, 64 bit, twice), so a build's GUIDs
    /// are the same every time its inputs are.
    static func derivedGUID(_ seed: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for half in [FNV1a.hash(Array(seed.utf8)), FNV1a.hash(Array((seed + "/2").utf8))] {
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: half >> UInt64(shift)))
            }
        }
        bytes[7] = (bytes[7] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as the GPT's header and entry checks use.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
