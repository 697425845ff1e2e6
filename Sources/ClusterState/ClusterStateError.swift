import Glibc
import AgentSupport

/// Why ClusterState could not do something: the step, the file or address, the errno, a hint.
public struct ClusterStateError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String?
    public var code: Int32?
    public var hint: String?

    public init(operation: String, path: String? = nil, code: Int32? = nil, hint: String? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.hint = hint
    }

    public var description: String {
        var text = operation
        if let path { text += " " + path }
        if let code { text += ": " + String(cString: strerror(code)) + " (errno \(code))" }
        if let hint { text += " (" + hint + ")" }
        return text
    }
}

/// Runs a libc call, retrying on EINTR; -1 becomes a `ClusterStateError` naming the call.
@discardableResult
func syscall<Result: FixedWidthInteger & SignedInteger>(
    _ operation: String, path: String? = nil, _ body: () -> Result
) throws -> Result {
    switch SystemCall.retrying(body) {
    case .success(let result): return result
    case .failure(let failure):
        let code = failure.code
        throw ClusterStateError(operation: operation, path: path, code: code)
    }
}

/// Whole-file reads and atomic writes, the only file access ClusterState does.
public enum SystemFile {
    /// The file's bytes (until EOF: /proc files report size 0); throws when it cannot be read.
    public static func read(_ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let fd = try syscall("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = try syscall("read", path: path) { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The file as text, or nil when it is missing or unreadable (optional /proc files).
    public static func text(_ path: String) -> String? {
        (try? read(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Writes `bytes` to `path.tmp` and renames it over `path`: readers see the old or the new file, never half.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let temporary = path + ".tmp"
        let fd = try syscall("open", path: temporary) { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        var offset = 0
        do {
            while offset < bytes.count {
                offset += try syscall("write", path: temporary) {
                    bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                }
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        try syscall("rename", path: path) { rename(temporary, path) }
    }
}

/// `path` inside the tree at `root`: `/` for the running system, a fixture directory in tests.
func rooted(_ root: String, _ path: String) -> String {
    var base = root
    while base.hasSuffix("/") { base.removeLast() }
    return base + path
}
