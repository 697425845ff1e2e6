/// One record of an image (initramfs or ISO): a path relative to the image root (no leading
/// "/"), what it is, and its metadata. Building from records needs no root and no mknod.
public struct ImageEntry: Sendable, Equatable {
    /// What the record holds.
    public enum Content: Sendable, Equatable {
        case file(ImageData)
        case directory
        case symlink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
        case blockDevice(major: UInt32, minor: UInt32)
    }

    /// Where a file's bytes come from.
    public enum ImageData: Sendable, Equatable {
        /// The bytes themselves.
        case bytes([UInt8])
        /// A file on the build host, read when the image is written.
        case host(path: String)
    }

    public var path: String
    public var content: Content
    /// Permission bits only (e.g. `0o755`); the file type comes from `content`.
    public var mode: UInt32
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0

    public init(path: String, content: Content, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.path = path
        self.content = content
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }

    /// A regular file with the given bytes.
    public static func file(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) -> ImageEntry {
        ImageEntry(path: path, content: .file(.bytes(bytes)), mode: mode)
    }

    /// A regular file with the given text (UTF-8).
    public static func file(_ path: String, text: String, mode: UInt32 = 0o644) -> ImageEntry {
        ImageEntry(path: path, content: .file(.bytes(Array(text.utf8))), mode: mode)
    }

    /// A regular file copied from the build host when the image is written.
    public static func hostFile(_ path: String, from hostPath: String, mode: UInt32 = 0o644) -> ImageEntry {
        ImageEntry(path: path, content: .file(.host(path: hostPath)), mode: mode)
    }

    /// A directory.
    public static func directory(_ path: String, mode: UInt32 = 0o755) -> ImageEntry {
        ImageEntry(path: path, content: .directory, mode: mode)
    }

    /// A symbolic link.
    public static func symlink(_ path: String, to target: String) -> ImageEntry {
        ImageEntry(path: path, content: .symlink(target: target), mode: 0o777)
    }

    /// A character device node, as a record (no mknod).
    public static func characterDevice(_ path: String, major: UInt32, minor: UInt32, mode: UInt32 = 0o600) -> ImageEntry
    {
        ImageEntry(path: path, content: .characterDevice(major: major, minor: minor), mode: mode)
    }

    /// A block device node, as a record (no mknod).
    public static func blockDevice(_ path: String, major: UInt32, minor: UInt32, mode: UInt32 = 0o600) -> ImageEntry {
        ImageEntry(path: path, content: .blockDevice(major: major, minor: minor), mode: mode)
    }

    /// A short name of the record's kind, for messages and reports.
    public var kindName: String {
        switch content {
        case .file: return "file"
        case .directory: return "directory"
        case .symlink: return "symlink"
        case .characterDevice: return "character device"
        case .blockDevice: return "block device"
        }
    }

    var isDirectory: Bool {
        if case .directory = content { return true }
        return false
    }
}

/// How an initramfs is compressed.
public enum ImageCompression: String, Sendable, CaseIterable {
    case none, gzip, zstd, xz
}

/// What a writer produced.
public struct ArchiveStats: Sendable, Equatable {
    /// Records written, synthesised parent directories included.
    public var entries: Int
    /// Bytes of regular-file content.
    public var unpackedBytes: Int
    /// Size of the output file.
    public var writtenBytes: Int

    public init(entries: Int, unpackedBytes: Int, writtenBytes: Int) {
        self.entries = entries
        self.unpackedBytes = unpackedBytes
        self.writtenBytes = writtenBytes
    }
}

/// Turns a caller's list of records into the list an image is written from (pure).
enum ImageEntryPlan {
    /// Validates paths, rejects duplicates (naming both), adds every missing parent directory
    /// (0755, 0:0) and sorts by path bytes, so parents precede children and the same input
    /// always gives the same order.
    static func normalise(_ entries: [ImageEntry], operation: String, extraParents: [String] = []) throws
        -> [ImageEntry]
    {
        var byPath: [String: (index: Int, entry: ImageEntry)] = [:]
        for (index, entry) in entries.enumerated() {
            try validate(path: entry.path, operation: operation)
            if case .symlink(let target) = entry.content, target.isEmpty {
                throw ImageBuilderError(
                    operation: operation, path: entry.path, reason: "symlink has an empty target")
            }
            if entry.mode & ~0o7777 != 0 {
                throw ImageBuilderError(
                    operation: operation, path: entry.path,
                    reason: "mode \(String(entry.mode, radix: 8)) has bits outside 0o7777",
                    hint: "give permission bits only; the file type comes from the entry's content")
            }
            if let first = byPath[entry.path] {
                throw ImageBuilderError(
                    operation: operation, path: entry.path,
                    reason: "duplicate path: entry #\(first.index) (\(first.entry.kindName)) and entry #\(index) "
                        + "(\(entry.kindName)) both write it",
                    hint: "each path may appear once; drop or merge one of them")
            }
            byPath[entry.path] = (index, entry)
        }
        var result = entries
        var wanted = Set<String>()
        for path in entries.map(\.path) + extraParents {
            var parent = parentPath(of: path)
            while let current = parent {
                if let existing = byPath[current] {
                    guard existing.entry.isDirectory else {
                        throw ImageBuilderError(
                            operation: operation, path: path,
                            reason: "its parent '\(current)' is a \(existing.entry.kindName), not a directory")
                    }
                } else {
                    wanted.insert(current)
                }
                parent = parentPath(of: current)
            }
        }
        for path in wanted {
            result.append(ImageEntry(path: path, content: .directory, mode: 0o755))
        }
        return result.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
    }

    /// The parent directory of a relative path, or nil for a top-level name.
    static func parentPath(of path: String) -> String? {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return String(path[path.startIndex..<slash])
    }

    static func validate(path: String, operation: String) throws {
        func fail(_ reason: String) -> ImageBuilderError {
            ImageBuilderError(
                operation: operation, path: path, reason: reason,
                hint: "image paths are relative, like \"etc/hosts\": no leading \"/\", no \".\" or \"..\" parts")
        }
        if path.isEmpty { throw fail("empty path") }
        if path.hasPrefix("/") { throw fail("path starts with \"/\"") }
        if path.utf8.contains(0) { throw fail("path contains a NUL byte") }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw fail("path has an empty component (\"//\" or a trailing \"/\")") }
            if component == "." || component == ".." { throw fail("path has a \"\(component)\" component") }
        }
    }
}
