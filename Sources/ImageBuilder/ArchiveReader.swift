internal import CArchive

/// A libarchive reader over one file, any format and filter libarchive knows. Owns the
/// `struct archive *`; `deinit` frees it. Entries are copied out, never their pointers.
final class ArchiveReader {
    private let handle: OpaquePointer
    let path: String
    static let operation = "read archive"

    struct Entry {
        var path: String
        var fileType: UInt32
        var permissions: UInt32
        var size: Int
        var uid: Int
        var gid: Int
        var mtime: Int
        var symlinkTarget: String?
        var deviceMajor: UInt32
        var deviceMinor: UInt32
    }

    init(path: String) throws {
        guard let handle = archive_read_new() else {
            throw ImageBuilderError(operation: Self.operation, path: path, reason: "archive_read_new returned NULL")
        }
        self.handle = handle
        self.path = path
        _ = archive_read_support_filter_all(handle)
        _ = archive_read_support_format_all(handle)
        // Raw data: not an archive at all. Left out so that "not an archive" is an error.
        let result = archive_read_open_filename(handle, path, 1 << 16)
        try check(result, "archive_read_open_filename")
    }

    deinit { archive_read_free(handle) }

    /// The next entry's metadata (its data is skipped), or nil at the end.
    func next() throws -> Entry? {
        var entryPointer: OpaquePointer?
        let result = archive_read_next_header(handle, &entryPointer)
        if result == ARCHIVE_EOF { return nil }
        try check(result, "archive_read_next_header")
        guard let entry = entryPointer else { return nil }
        let name =
            archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let target =
            archive_entry_symlink_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_symlink(entry).map { String(cString: $0) }
        return Entry(
            path: name, fileType: UInt32(archive_entry_filetype(entry)), permissions: UInt32(archive_entry_perm(entry)),
            size: Int(archive_entry_size(entry)), uid: Int(archive_entry_uid(entry)),
            gid: Int(archive_entry_gid(entry)),
            mtime: Int(archive_entry_mtime(entry)), symlinkTarget: target,
            deviceMajor: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry)),
            deviceMinor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry)))
    }

    /// The outermost filter ("none", "gzip", "zstd", "xz", ...). Valid after the first header.
    var filterName: String {
        let count = archive_filter_count(handle)
        guard count > 1, let name = archive_filter_name(handle, 0) else { return "none" }
        return String(cString: name)
    }

    var formatName: String { archive_format_name(handle).map { String(cString: $0) } ?? "unknown" }

    private func check(_ result: Int32, _ function: String) throws {
        guard result != ARCHIVE_OK else { return }
        if result == ARCHIVE_WARN { return }
        let message = archive_error_string(handle).map { String(cString: $0) }
        let code = archive_errno(handle)
        throw ImageBuilderError(
            operation: Self.operation, path: path, reason: "\(function) failed", archiveMessage: message,
            errno: code > 0 ? code : nil, function: function,
            hint: "is this an initramfs (cpio, optionally compressed) or an ISO image?")
    }
}
