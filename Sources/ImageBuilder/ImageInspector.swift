#if canImport(Glibc)
    import Glibc
#endif

/// What `clumpbuild inspect` tells about an image.
public struct ImageReport: Sendable, Encodable {
    public enum Kind: String, Sendable, Encodable {
        case iso9660
        case initramfs
    }

    /// One record of the image.
    public struct Entry: Sendable, Equatable, Encodable {
        public var path: String
        /// "file", "directory", "symlink", "character device", "block device", "fifo", "socket".
        public var type: String
        public var size: Int
        /// Permission bits.
        public var mode: UInt32
        public var uid: Int
        public var gid: Int
        /// Modification time, seconds since 1970.
        public var mtime: Int
        public var symlinkTarget: String?
        /// "major:minor" for device nodes.
        public var device: String?
    }

    public var path: String
    public var kind: Kind
    /// Size of the image file.
    public var fileSize: Int
    /// libarchive's name of the format ("SVR4 cpio nocrc", "ISO9660", ...).
    public var format: String
    /// Outer compression of an initramfs ("none", "gzip", "zstd", "xz", ...); nil for an ISO.
    public var compression: String?
    public var entries: [Entry]
    /// Sum of the regular files' sizes.
    public var unpackedBytes: Int
    /// El Torito data of an ISO: the catalog's LBA and its entries.
    public var bootCatalogLBA: UInt32?
    public var elTorito: ElToritoCatalog?
    /// Sector 0's partition table, if it has the 0x55AA signature.
    public var mbr: MasterBootRecord?
    /// The GUID partition table, when sector 1 holds one (a hybrid ISO that boots UEFI from USB).
    public var gpt: GUIDPartitionTable?
    /// The files in the UEFI El Torito entry's FAT image (the EFI system partition), as mtools lists them.
    public var efiFiles: [String]?
    /// libblkid's view of an ISO.
    public var blkid: BlkidReport?

    /// A human-readable report; `listing` nil lists the entries only when they are few.
    public func render(listing: Bool? = nil) -> String {
        var lines: [String] = []
        lines.append("\(path): \(kind == .iso9660 ? "ISO 9660 image" : "initramfs") (\(format)), \(fileSize) bytes")
        if let compression { lines.append("compression: \(compression)") }
        lines.append("entries: \(entries.count), unpacked: \(unpackedBytes) bytes")
        if let bootCatalogLBA, let elTorito {
            let platform = elTorito.entries.first?.platformName ?? "-"
            lines.append(
                "El Torito: boot catalog at LBA \(bootCatalogLBA), platform \(platform), id '\(elTorito.idString)'")
            for entry in elTorito.entries {
                let segment = entry.loadSegment == 0 ? "0x7c0 (default)" : "0x" + String(entry.loadSegment, radix: 16)
                let role = entry.isDefault ? "default" : "section"
                let bootable = entry.bootable ? "bootable" : "not bootable"
                lines.append(
                    "  \(role) entry: \(entry.platformName), \(bootable), \(entry.mediaTypeName), "
                        + "load segment \(segment), load size \(entry.sectorCount) sectors, load RBA \(entry.loadRBA)")
            }
        } else if kind == .iso9660 {
            lines.append("El Torito: none (not bootable from CD)")
        }
        if let mbr {
            lines.append("MBR: disk id 0x\(String(mbr.diskID, radix: 16)), \(mbr.partitions.count) partition(s)")
            for partition in mbr.partitions {
                let bootable = partition.bootable ? "bootable" : "not bootable"
                lines.append(
                    "  \(partition.number): \(bootable), type \(imageHex8(partition.type)), "
                        + "start \(partition.startLBA), \(partition.sectors) sectors")
            }
        } else if kind == .iso9660 {
            lines.append("MBR: none (not hybrid)")
        }
        if let gpt {
            lines.append(
                "GPT: disk \(gpt.diskGUID), backup at sector \(gpt.backupLBA), \(gpt.partitions.count) partition(s)")
            for partition in gpt.partitions {
                lines.append(
                    "  \(partition.number): \(partition.typeName) (\(partition.type)), sectors \(partition.firstLBA)-"
                        + "\(partition.lastLBA), '\(partition.name)'")
            }
        }
        if let efiFiles {
            lines.append("EFI system partition image: \(efiFiles.count) file(s)")
            for file in efiFiles { lines.append("  " + file) }
        }
        if let blkid {
            let shown = blkid.values.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: " ")
            lines.append("blkid: \(shown)")
        }
        if kind == .initramfs {
            lines.append("size budget          files   in RAM disk")
            for category in BudgetCategory.allCases {
                let files = entries.filter { $0.type == "file" && InitramfsPlan.category(of: relative($0.path)) == category }
                let bytes = files.reduce(0) { $0 + $1.size }
                lines.append("  " + category.rawValue + String(repeating: " ", count: 17 - category.rawValue.count) + pad(String(files.count), 6) + pad(mb(bytes), 14))
            }
            let verdict = unpackedBytes <= SizeBudget.ramdiskTarget ? "within" : "OVER"
            lines.append("unpacked \(mb(unpackedBytes)): \(verdict) the \(mb(SizeBudget.ramdiskTarget)) RAM disk target")
        }
        // A clump ISO has a dozen entries, worth showing; a RAM disk has hundreds.
        let listing = listing ?? (entries.count <= 40)
        if !listing { lines.append("(\(entries.count) entries: --all lists them)") }
        for entry in entries where listing {
            let owner = "\(entry.uid):\(entry.gid)"
            var line = "  \(modeString(entry)) \(owner) \(pad(String(entry.size), 10)) \(entry.path)"
            if let target = entry.symlinkTarget { line += " -> \(target)" }
            if let device = entry.device { line += " [\(device)]" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Archive paths may start with "./" or "/"; budget categories use bare paths.
    private func relative(_ path: String) -> String {
        var path = Substring(path)
        while path.hasPrefix("./") || path.hasPrefix("/") { path = path.dropFirst(path.hasPrefix("/") ? 1 : 2) }
        return String(path)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private func modeString(_ entry: Entry) -> String {
        let typeChar: Character
        switch entry.type {
        case "directory": typeChar = "d"
        case "symlink": typeChar = "l"
        case "character device": typeChar = "c"
        case "block device": typeChar = "b"
        case "fifo": typeChar = "p"
        case "socket": typeChar = "s"
        default: typeChar = "-"
        }
        var text = String(typeChar)
        let symbols: [Character] = ["r", "w", "x"]
        for bit in (0..<9).reversed() {
            text.append(entry.mode & (1 << UInt32(bit)) != 0 ? symbols[(8 - bit) % 3] : "-")
        }
        return text
    }
}

/// Tells what an image is and what is in it.
public enum ImageInspector {
    /// Inspects an ISO 9660 image (recognised by "CD001" at sector 16) or an initramfs
    /// (cpio in any compression libarchive reads).
    public static func inspect(path: String) throws -> ImageReport {
        try UTF8Locale.run { try inspectImage(path: path) }
    }

    private static func inspectImage(path: String) throws -> ImageReport {
        let operation = "inspect image"
        var info = stat()
        guard stat(path, &info) == 0 else { throw ImageBuilderError.system("stat", operation: operation, path: path) }
        let fileSize = Int(info.st_size)
        let isISO = try isISO9660(path: path, fileSize: fileSize)

        let reader = try ArchiveReader(path: path)
        var entries: [ImageReport.Entry] = []
        var unpacked = 0
        while let entry = try reader.next() {
            let type = typeName(entry.fileType)
            if type == "file" { unpacked += entry.size }
            let isDevice = type == "character device" || type == "block device"
            entries.append(
                ImageReport.Entry(
                    path: entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path, type: type,
                    size: entry.size, mode: entry.permissions, uid: entry.uid, gid: entry.gid, mtime: entry.mtime,
                    symlinkTarget: type == "symlink" ? entry.symlinkTarget : nil,
                    device: isDevice ? "\(entry.deviceMajor):\(entry.deviceMinor)" : nil))
        }
        var report = ImageReport(
            path: path, kind: isISO ? .iso9660 : .initramfs, fileSize: fileSize, format: reader.formatName,
            compression: isISO ? nil : reader.filterName, entries: entries, unpackedBytes: unpacked)
        guard isISO else { return report }

        let file = try ImageFileReader(path: path, operation: operation)
        let sector0 = try file.read(at: 0, count: 512)
        report.mbr = MasterBootRecord.parse(sector0)
        let bootRecord = try file.read(at: ElTorito.bootRecordSector * ElTorito.sectorSize, count: ElTorito.sectorSize)
        if let catalogLBA = try? ElTorito.catalogLBA(bootRecord: bootRecord) {
            report.bootCatalogLBA = catalogLBA
            let catalog = try file.read(at: Int(catalogLBA) * ElTorito.sectorSize, count: ElTorito.sectorSize)
            report.elTorito = try ElTorito.parseCatalog(catalog)
        }
        report.gpt = GUIDPartitionTable.parse(try file.read(at: 0, count: 512 * (2 + GUIDPartitionTable.entrySectors)))
        if let efi = report.elTorito?.entries.first(where: { $0.platformID == ElTorito.efiPlatform }) {
            report.efiFiles = try ESPImage.list(image: path, offset: Int(efi.loadRBA) * ElTorito.sectorSize)
        }
        report.blkid = try BlkidProbe(path: path).run()
        return report
    }

    static func isISO9660(path: String, fileSize: Int) throws -> Bool {
        guard fileSize >= 17 * ElTorito.sectorSize else { return false }
        let file = try ImageFileReader(path: path, operation: "inspect image")
        let descriptor = try file.read(at: 16 * ElTorito.sectorSize, count: 6)
        return descriptor[0] == 1 && Array(descriptor[1..<6]) == Array("CD001".utf8)
    }

    static func typeName(_ fileType: UInt32) -> String {
        switch fileType & FileTypeBits.mask {
        case FileTypeBits.regular: return "file"
        case FileTypeBits.directory: return "directory"
        case FileTypeBits.symlink: return "symlink"
        case FileTypeBits.characterDevice: return "character device"
        case FileTypeBits.blockDevice: return "block device"
        case FileTypeBits.fifo: return "fifo"
        case FileTypeBits.socket: return "socket"
        default: return "unknown"
        }
    }
}

/// An existing image opened read-only for random access. Owns its descriptor.
final class ImageFileReader {
    let path: String
    let fd: Int32
    let operation: String

    init(path: String, operation: String) throws {
        let fd = ArchiveSyscall.retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw ImageBuilderError.system("open", operation: operation, path: path) }
        self.fd = fd
        self.path = path
        self.operation = operation
    }

    deinit { _ = close(fd) }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = result.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return ArchiveSyscall.retryingEINTR { pread(fd, base + done, count - done, off_t(offset + done)) }
            }
            if got < 0 { throw ImageBuilderError.system("pread", operation: operation, path: path) }
            if got == 0 {
                throw ImageBuilderError(
                    operation: operation, path: path, reason: "file ends before byte \(offset + count)")
            }
            done += got
        }
        return result
    }
}
