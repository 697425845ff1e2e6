import Glibc

/// Small file helpers over the retrying `syscall` helper: whole-file reads for /proc and /sys,
/// full writes to consoles, `mkdir -p`.
enum FileIO {
    /// Reads a whole file as text. /proc and /sys files report size 0, so this reads until EOF.
    static func readText(_ path: String, limit: Int = 1 << 20) throws -> String {
        let fd = try syscall("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = try syscall("read", path: path) {
                chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes every byte of `text` to `fd`, across short writes.
    static func writeAll(_ fd: Int32, _ text: String, path: String? = nil) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = try syscall("write", path: path) {
                bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset) }
            }
            offset += written
        }
    }

    /// `mkdir -p`: creates `path` and its parents; existing directories are fine.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            do {
                try syscall("mkdir", path: current) { mkdir(current, mode) }
            } catch let error as AgentError where error.code == EEXIST {
                continue
            }
        }
    }
}

extension FileIO {
    /// Replaces `path` with `text` atomically (write a temporary file, then rename): a reader
    /// such as the live view never sees half a file.
    static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        let temporary = path + ".new"
        let fd = try syscall("open", path: temporary) { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        do {
            try writeAll(fd, text, path: temporary)
            close(fd)
        } catch {
            close(fd)
            throw error
        }
        try syscall("rename", path: path) { rename(temporary, path) }
    }
}
