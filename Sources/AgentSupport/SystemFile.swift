import Glibc

/// Whole-file reads, full writes and atomic replacement over `syscall`: the file access of the
/// agent's modules, without Foundation.
public enum SystemFile {
    /// The file's bytes, read until EOF (/proc and /sys files report size 0), at most `limit`.
    public static func read(_ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let fd = try syscall("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        return try readAll(fd, limit: limit, path: path)
    }

    /// What is left to read from `fd`, until EOF, at most `limit` bytes.
    public static func readAll(_ fd: Int32, limit: Int, path: String? = nil) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = try syscall("read", path: path) {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The file as text; throws when it cannot be read.
    public static func readText(_ path: String, limit: Int = 1 << 20) throws -> String {
        String(decoding: try read(path, limit: limit), as: UTF8.self)
    }

    /// The file as text, or nil when it is missing or unreadable (optional /proc files).
    public static func text(_ path: String) -> String? { try? readText(path) }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Writes every byte to `fd`, across short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String? = nil) throws {
        var offset = 0
        while offset < bytes.count {
            offset += try syscall("write", path: path) {
                bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
        }
    }

    /// Writes every byte of `text` to `fd`.
    public static func writeAll(_ fd: Int32, _ text: String, path: String? = nil) throws {
        try writeAll(fd, Array(text.utf8), path: path)
    }

    /// `mkdir -p`: creates `path` and its parents; existing directories are fine.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        // A relative path stays relative: "out/join" is made in the working directory, not at "/out/join".
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            do {
                try syscall("mkdir", path: current) { mkdir(current, mode) }
            } catch let error as OperationError where error.code == EEXIST {
                continue
            }
        }
    }

    /// Replaces `path` with `bytes` (parents created): written to `path.tmp`, then renamed, so a
    /// reader such as the live view sees the old or the new file, never half; nothing is left
    /// behind when a write fails.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        let temporary = path + ".tmp"
        let fd = try syscall("open", path: temporary) {
            open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        }
        do {
            try writeAll(fd, bytes, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        try syscall("rename", path: path) { rename(temporary, path) }
    }
}
