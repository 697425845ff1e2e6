/// Writes the drone's initramfs: a cpio "newc" archive (the format the kernel unpacks,
/// Documentation/driver-api/early-userspace/buffer-format.rst), optionally compressed.
public enum InitramfsWriter {
    /// Writes `entries` to `path`: sorted, parents synthesised, every mtime = `mtime`,
    /// inode numbers by position, device nodes as records. Same input, same bytes.
    /// The file appears only when complete; on failure nothing is left behind.
    @discardableResult
    public static func write(_ entries: [ImageEntry], to path: String, compression: ImageCompression, mtime: Int)
        throws -> ArchiveStats
    {
        try UTF8Locale.run { try writeArchive(entries, to: path, compression: compression, mtime: mtime) }
    }

    private static func writeArchive(
        _ entries: [ImageEntry], to path: String, compression: ImageCompression, mtime: Int
    )
        throws -> ArchiveStats
    {
        let operation = "write initramfs"
        try checkTimestamp(mtime, operation: operation, path: path)
        let plan = try ImageEntryPlan.normalise(entries, operation: operation)
        let output = try AtomicOutputFile(path: path, operation: operation)
        let sink: ArchiveSink =
            compression == .xz ? try XZCompressor(next: output, operation: operation, path: path) : output
        let writer = try ArchiveWriter(operation: operation, path: path)
        try writer.setFormatCPIONewc()
        // Names go into the archive as UTF-8 bytes whatever the process locale is.
        try writer.setOption(module: "cpio", key: "hdrcharset", value: "UTF-8")
        switch compression {
        case .none, .xz:
            // xz: libarchive's xz filter always uses a CRC64 check, which the kernel's XZ
            // decoder rejects (Documentation/staging/xz.rst: CRC32 only), so XZCompressor does it.
            try writer.addFilter(.none)
        case .gzip:
            try writer.addFilter(.gzip)
            try writer.setOption(module: "gzip", key: "compression-level", value: "9")
            // No mtime in the gzip header (RFC 1952 MTIME = 0): reproducible.
            try writer.setOption(module: "gzip", key: "timestamp", value: nil)
        case .zstd:
            try writer.addFilter(.zstd)
            try writer.setOption(module: "zstd", key: "compression-level", value: String(zstdLevel))
        }
        try writer.disablePadding()
        try writer.open(sink: sink)
        let unpacked = try ImageEntryWriting.write(plan, with: writer, mtime: mtime, operation: operation)
        try writer.close()
        let written = try output.size
        try output.commit()
        return ArchiveStats(entries: plan.count, unpackedBytes: unpacked, writtenBytes: written)
    }

    /// zstd level 9. Measured on this project's kind of payload (busybox + NIC modules, 9 MB): level 9
    /// 0.6 s, level 12 1.0 s (-0.7 %), 15 3.2 s, 19 8.8 s (-10 %): 19 costs ~30 s for a 30 MB drone
    /// image. Who wants the smallest image picks xz.
    static let zstdLevel = 9

    static func checkTimestamp(_ mtime: Int, operation: String, path: String) throws {
        // cpio newc stores mtime as 8 hex digits; ISO 9660 dates run from 1900 on.
        guard mtime >= 0 && mtime <= Int(UInt32.max) else {
            throw ImageBuilderError(
                operation: operation, path: path, reason: "mtime \(mtime) is outside 0...\(UInt32.max)",
                hint: "use seconds since 1970, e.g. SOURCE_DATE_EPOCH")
        }
    }
}

/// Writing a planned list of entries through an `ArchiveWriter` (shared by cpio and ISO).
enum ImageEntryWriting {
    /// Returns the number of regular-file bytes written.
    static func write(_ plan: [ImageEntry], with writer: ArchiveWriter, mtime: Int, operation: String) throws -> Int {
        var unpacked = 0
        for (index, entry) in plan.enumerated() {
            let record = try ArchiveEntryRecord(operation: operation, path: entry.path)
            // Inode numbers by position in the sorted plan: deterministic and unique (1-based;
            // the trailer record has 0).
            let inode = index + 1
            switch entry.content {
            case .file(.bytes(let bytes)):
                record.set(entry, size: bytes.count, mtime: mtime, inode: inode, nlink: 1)
                try writer.writeHeader(record, entryPath: entry.path)
                try bytes.withUnsafeBytes { try writer.writeData($0, entryPath: entry.path) }
                unpacked += bytes.count
            case .file(.host(let hostPath)):
                let file = try ImageSourceFile(path: hostPath, operation: operation, entryPath: entry.path)
                record.set(entry, size: file.size, mtime: mtime, inode: inode, nlink: 1)
                try writer.writeHeader(record, entryPath: entry.path)
                try file.forEachChunk(operation: operation) { try writer.writeData($0, entryPath: entry.path) }
                unpacked += file.size
            case .directory:
                record.set(entry, size: 0, mtime: mtime, inode: inode, nlink: 2)
                try writer.writeHeader(record, entryPath: entry.path)
            case .symlink, .characterDevice, .blockDevice:
                record.set(entry, size: 0, mtime: mtime, inode: inode, nlink: 1)
                try writer.writeHeader(record, entryPath: entry.path)
            }
            try writer.finishEntry(entryPath: entry.path)
        }
        return unpacked
    }
}
