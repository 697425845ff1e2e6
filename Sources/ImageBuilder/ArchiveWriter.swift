internal import CArchive

#if canImport(Glibc)
    import Glibc
#endif

/// File-type bits of a mode (`<sys/stat.h>`); libarchive's AE_IF* macros carry casts Swift
/// does not import, and the values are fixed by POSIX.
enum FileTypeBits {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
    static let characterDevice: UInt32 = 0o020000
    static let blockDevice: UInt32 = 0o060000
    static let fifo: UInt32 = 0o010000
    static let socket: UInt32 = 0o140000
    static let mask: UInt32 = 0o170000
}

/// Where an archive's bytes go. libarchive calls `write` from its write callback.
protocol ArchiveSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// End of the stream: flush whatever the sink still holds.
    func finish() throws
}

/// The object libarchive's callbacks see (as client data). It is kept apart from
/// `ArchiveWriter` so that `archive_write_free` in the writer's `deinit` can still reach it.
private final class SinkBox {
    let sink: ArchiveSink
    var error: Error?
    init(sink: ArchiveSink) { self.sink = sink }
}

/// One `struct archive_entry`, owned: `deinit` frees it. It never leaves this module.
final class ArchiveEntryRecord {
    let handle: OpaquePointer

    init(operation: String, path: String) throws {
        guard let handle = archive_entry_new() else {
            throw ImageBuilderError(
                operation: operation, path: path, reason: "archive_entry_new returned NULL (out of memory)")
        }
        self.handle = handle
    }

    deinit { archive_entry_free(handle) }

    /// Fills the record from an image entry. `size` is the content length for regular files.
    func set(_ entry: ImageEntry, size: Int, mtime: Int, inode: Int, nlink: UInt32) {
        archive_entry_set_pathname_utf8(handle, entry.path)
        var type = FileTypeBits.regular
        switch entry.content {
        case .file: type = FileTypeBits.regular
        case .directory: type = FileTypeBits.directory
        case .symlink(let target):
            type = FileTypeBits.symlink
            archive_entry_set_symlink_utf8(handle, target)
        case .characterDevice(let major, let minor):
            type = FileTypeBits.characterDevice
            archive_entry_set_rdevmajor(handle, dev_t(major))
            archive_entry_set_rdevminor(handle, dev_t(minor))
        case .blockDevice(let major, let minor):
            type = FileTypeBits.blockDevice
            archive_entry_set_rdevmajor(handle, dev_t(major))
            archive_entry_set_rdevminor(handle, dev_t(minor))
        }
        archive_entry_set_filetype(handle, type)
        archive_entry_set_perm(handle, mode_t(entry.mode & 0o7777))
        archive_entry_set_uid(handle, Int64(entry.uid))
        archive_entry_set_gid(handle, Int64(entry.gid))
        archive_entry_set_mtime(handle, time_t(mtime), 0)
        archive_entry_set_atime(handle, time_t(mtime), 0)
        archive_entry_set_ctime(handle, time_t(mtime), 0)
        archive_entry_set_size(handle, Int64(size))
        archive_entry_set_ino64(handle, Int64(inode))
        archive_entry_set_nlink(handle, nlink)
        archive_entry_set_dev(handle, 0)
    }
}

/// A libarchive writer: owns the `struct archive *`, `deinit` frees it. Formats, filters and
/// options are set first, then `open(sink:)`, then entries, then `close()`.
final class ArchiveWriter {
    private let handle: OpaquePointer
    private var box: SinkBox?
    let operation: String
    let path: String

    init(operation: String, path: String) throws {
        guard let handle = archive_write_new() else {
            throw ImageBuilderError(
                operation: operation, path: path, reason: "archive_write_new returned NULL (out of memory)")
        }
        self.handle = handle
        self.operation = operation
        self.path = path
    }

    deinit { archive_write_free(handle) }

    /// cpio "newc" (SVR4 without CRC): the format the kernel's initramfs unpacker reads.
    func setFormatCPIONewc() throws {
        try check(archive_write_set_format_cpio_newc(handle), "archive_write_set_format_cpio_newc")
    }

    func setFormatISO9660() throws {
        try check(archive_write_set_format_iso9660(handle), "archive_write_set_format_iso9660")
    }

    func addFilter(_ compression: ImageCompression) throws {
        switch compression {
        case .none: try check(archive_write_add_filter_none(handle), "archive_write_add_filter_none")
        case .gzip: try check(archive_write_add_filter_gzip(handle), "archive_write_add_filter_gzip")
        case .zstd: try check(archive_write_add_filter_zstd(handle), "archive_write_add_filter_zstd")
        case .xz: try check(archive_write_add_filter_xz(handle), "archive_write_add_filter_xz")
        }
    }

    /// Sets one option. `value == nil` switches a boolean option off (libarchive's "!key").
    func setOption(module: String, key: String, value: String?, hint: String? = nil) throws {
        let result = archive_write_set_option(handle, module, key, value)
        try check(result, "archive_write_set_option(\(module):\(key)=\(value ?? "off"))", hint: hint)
    }

    /// Writes no padding after the last byte (libarchive pads to 10240-byte blocks otherwise,
    /// and trailing zeros after a zstd frame make `zstd -d` fail).
    func disablePadding() throws {
        try check(archive_write_set_bytes_in_last_block(handle, 1), "archive_write_set_bytes_in_last_block")
    }

    func open(sink: ArchiveSink) throws {
        let box = SinkBox(sink: sink)
        self.box = box
        let client = Unmanaged.passUnretained(box).toOpaque()
        let result = archive_write_open(
            handle, client,
            { _, _ in ARCHIVE_OK },
            { _, client, buffer, count in
                guard let client else { return -1 }
                let box = Unmanaged<SinkBox>.fromOpaque(client).takeUnretainedValue()
                do {
                    try box.sink.write(UnsafeRawBufferPointer(start: buffer, count: count))
                    return count
                } catch {
                    box.error = error
                    return -1
                }
            },
            { _, client in
                guard let client else { return ARCHIVE_FATAL }
                let box = Unmanaged<SinkBox>.fromOpaque(client).takeUnretainedValue()
                if box.error != nil { return ARCHIVE_FATAL }
                do {
                    try box.sink.finish()
                    return ARCHIVE_OK
                } catch {
                    box.error = error
                    return ARCHIVE_FATAL
                }
            })
        try check(result, "archive_write_open")
    }

    func writeHeader(_ record: ArchiveEntryRecord, entryPath: String) throws {
        try check(archive_write_header(handle, record.handle), "archive_write_header", entryPath: entryPath)
    }

    func writeData(_ bytes: UnsafeRawBufferPointer, entryPath: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = archive_write_data(handle, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            // Negative: an ARCHIVE_* status; zero: no progress, which would loop forever.
            guard written > 0 else {
                try check(
                    written < 0 ? Int32(clamping: written) : ARCHIVE_FATAL, "archive_write_data", entryPath: entryPath)
                return
            }
            offset += written
        }
    }

    func finishEntry(entryPath: String) throws {
        try check(archive_write_finish_entry(handle), "archive_write_finish_entry", entryPath: entryPath)
    }

    /// Finishes the archive (trailer, ISO directory tables, filter flush) and the sink.
    func close() throws {
        try check(archive_write_close(handle), "archive_write_close")
    }

    private func check(_ result: Int32, _ function: String, entryPath: String? = nil, hint: String? = nil) throws {
        guard result != ARCHIVE_OK else { return }
        if let sinkError = box?.error {
            box?.error = nil
            throw sinkError
        }
        let message = archive_error_string(handle).map { String(cString: $0) }
        let code = archive_errno(handle)
        var reason = "\(function) failed"
        if let entryPath { reason += " for entry '\(entryPath)'" }
        throw ImageBuilderError(
            operation: operation, path: path, reason: reason, archiveMessage: message,
            errno: code > 0 ? code : nil, function: function, hint: hint)
    }
}
