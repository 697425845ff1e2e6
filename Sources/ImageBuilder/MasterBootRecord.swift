/// A DOS/MBR partition table as found in sector 0 (pure parser).
public struct MasterBootRecord: Sendable, Equatable, Encodable {
    /// The 32-bit disk signature at offset 440 (what `fdisk` shows as "Disk identifier").
    public var diskID: UInt32
    /// Non-empty partition entries (type != 0), in table order.
    public var partitions: [Partition]

    public struct Partition: Sendable, Equatable, Encodable {
        /// 1...4, the slot in the table.
        public var number: Int
        /// Status 0x80: the BIOS may boot it.
        public var bootable: Bool
        public var type: UInt8
        public var startLBA: UInt32
        public var sectors: UInt32
        public var startCHS: CHS
        public var endCHS: CHS
    }

    /// A cylinder/head/sector address as packed in a partition entry.
    public struct CHS: Sendable, Equatable, Encodable {
        public var cylinder: UInt16
        public var head: UInt8
        public var sector: UInt8

        public init(cylinder: UInt16, head: UInt8, sector: UInt8) {
            self.cylinder = cylinder
            self.head = head
            self.sector = sector
        }

        /// Bytes: head; sector in bits 0-5 with cylinder bits 8-9 in bits 6-7; cylinder bits 0-7.
        init(_ bytes: [UInt8], at offset: Int) {
            head = bytes[offset]
            sector = bytes[offset + 1] & 0x3F
            cylinder = UInt16(bytes[offset + 1] & 0xC0) << 2 | UInt16(bytes[offset + 2])
        }
    }

    /// Parses the first 512 bytes of an image; nil if there is no 0x55AA boot signature.
    ///   440-443 disk signature (LE); 444-445 zero; 446-509 four 16-byte entries:
    ///   0 status, 1-3 start CHS, 4 type, 5-7 end CHS, 8-11 start LBA, 12-15 sectors;
    ///   510-511 0x55 0xAA.
    public static func parse(_ bytes: [UInt8]) -> MasterBootRecord? {
        guard bytes.count >= 512, bytes[510] == 0x55, bytes[511] == 0xAA else { return nil }
        var partitions: [Partition] = []
        for number in 1...4 {
            let offset = 446 + (number - 1) * 16
            guard bytes[offset + 4] != 0 else { continue }
            partitions.append(
                Partition(
                    number: number, bootable: bytes[offset] == 0x80, type: bytes[offset + 4],
                    startLBA: bytes.diskLE32(offset + 8), sectors: bytes.diskLE32(offset + 12),
                    startCHS: CHS(bytes, at: offset + 1), endCHS: CHS(bytes, at: offset + 5)))
        }
        return MasterBootRecord(diskID: bytes.diskLE32(440), partitions: partitions)
    }
}

/// The hybrid MBR that makes an isolinux ISO bootable from a disk or USB stick too, built
/// exactly as syslinux's `isohybrid` (utils/isohybrid.c, BIOS mode, default geometry) does.
enum HybridMBR {
    /// isohybrid's default fake geometry: 64 heads, 32 sectors per track.
    static let heads = 64
    static let sectorsPerTrack = 32
    /// One cylinder: 64 * 32 * 512 bytes = 1 MiB. The image is padded to whole cylinders.
    static let cylinderBytes = heads * sectorsPerTrack * 512
    /// Partition type 0x17 ("hidden IFS/HPFS/NTFS"), isohybrid's default.
    static let partitionType: UInt8 = 0x17
    /// isolinux.bin at offset 0x40 carries 0x7078c0fb when it supports hybrid booting.
    static let isolinuxSignature: [UInt8] = [0xFB, 0xC0, 0x78, 0x70]
    static let isolinuxSignatureOffset = 0x40
    /// Bytes of boot code taken from the template (isohdpfx.bin).
    static let templateBytes = 432

    /// The image size after padding to whole cylinders (unchanged if already whole).
    static func paddedSize(_ size: Int) -> Int {
        let fraction = size % cylinderBytes
        return fraction == 0 ? size : size + cylinderBytes - fraction
    }

    /// A deterministic disk signature from the volume ID and build time (FNV-1a, 32 bit);
    /// never 0, which isohybrid would replace with a random one.
    static func diskID(volumeID: String, mtime: Int) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in Array(volumeID.utf8) + [0] + Array(String(mtime).utf8) {
            hash ^= UInt32(byte)
            hash &*= 0x0100_0193
        }
        return hash == 0 ? 1 : hash
    }

    /// Builds sector 0. `imageSize` is the padded size (a whole number of cylinders).
    ///   0-431 boot code from the template; 432-435 LBA of the boot image in 512-byte sectors
    ///   (the El Torito load RBA * 4), LE; 436-439 zero; 440-443 disk signature; 444-445 zero;
    ///   446-461 partition 1: 0x80, start CHS, type, end CHS, start LBA 0, size in sectors;
    ///   462-509 three empty entries; 510-511 0x55 0xAA.
    static func make(
        template: [UInt8], bootImageLBA: UInt32, diskID: UInt32, imageSize: Int,
        extra: [(slot: Int, type: UInt8, start: UInt32, sectors: UInt32)] = []
    ) throws -> [UInt8] {
        guard template.count >= templateBytes else {
            throw ImageBuilderError(
                operation: "write hybrid MBR",
                reason: "MBR template is \(template.count) bytes, need at least \(templateBytes)",
                hint: "pass the contents of /usr/lib/ISOLINUX/isohdpfx.bin (Debian package isolinux)")
        }
        let cylinders = imageSize / cylinderBytes
        // CHS addresses stop at 1024 cylinders; the LBA fields carry the real size.
        let chsCylinders = min(cylinders, 1024)
        var mbr = [UInt8](repeating: 0, count: 512)
        mbr.replaceSubrange(0..<templateBytes, with: template[0..<templateBytes])
        mbr.putDiskLE32(bootImageLBA &* 4, at: 432)
        mbr.putDiskLE32(diskID, at: 440)
        let entry = 446
        let startOffset = 0
        mbr[entry] = 0x80
        mbr[entry + 1] = UInt8((startOffset / sectorsPerTrack) % heads)
        let startCylinder = startOffset / (heads * sectorsPerTrack)
        mbr[entry + 2] = UInt8((startOffset % sectorsPerTrack) + 1 + ((startCylinder & 0x300) >> 2))
        mbr[entry + 3] = UInt8(startCylinder & 0xFF)
        mbr[entry + 4] = partitionType
        mbr[entry + 5] = UInt8(heads - 1)
        mbr[entry + 6] = UInt8(sectorsPerTrack + (((chsCylinders - 1) & 0x300) >> 2))
        mbr[entry + 7] = UInt8((chsCylinders - 1) & 0xFF)
        mbr.putDiskLE32(UInt32(startOffset), at: entry + 8)
        mbr.putDiskLE32(UInt32(truncatingIfNeeded: cylinders * heads * sectorsPerTrack - startOffset), at: entry + 12)
        for partition in extra {
            let offset = 446 + (partition.slot - 1) * 16
            mbr.replaceSubrange((offset + 1)..<(offset + 4), with: chs(partition.start))
            mbr[offset + 4] = partition.type
            mbr.replaceSubrange((offset + 5)..<(offset + 8), with: chs(partition.start + partition.sectors - 1))
            mbr.putDiskLE32(partition.start, at: offset + 8)
            mbr.putDiskLE32(partition.sectors, at: offset + 12)
        }
        mbr[510] = 0x55
        mbr[511] = 0xAA
        return mbr
    }

    /// A sector's CHS address in the fake geometry, packed as in a partition entry; past
    /// cylinder 1023 the largest address, as fdisk writes it.
    static func chs(_ lba: UInt32) -> [UInt8] {
        let sector = Int(lba)
        let cylinder = sector / (heads * sectorsPerTrack)
        guard cylinder <= 1023 else { return [0xFE, 0xFF, 0xFF] }
        let head = (sector / sectorsPerTrack) % heads
        let inTrack = sector % sectorsPerTrack + 1
        return [UInt8(head), UInt8(inTrack | ((cylinder & 0x300) >> 2)), UInt8(cylinder & 0xFF)]
    }
}
