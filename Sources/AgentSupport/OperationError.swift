import Glibc

/// Why a libc call or a step failed: the operation, the file or device it was about, the errno
/// and a hint, so a console line reads like a person wrote it. The agent's modules that work
/// at this level (NodeAgent, ClusterState) name it as their own error type.
public struct OperationError: Error, Equatable, CustomStringConvertible {
    /// The libc call or the step that failed (`mount`, `open`, `posix_spawn`, ...).
    public var operation: String
    /// The file, directory or device the call was about, if any.
    public var path: String?
    /// The errno the call failed with, if it was a call.
    public var code: Int32?
    /// What the reader can do about it, if we know.
    public var hint: String?

    /// Creates an error; `code` is an errno value.
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

/// Runs one libc call: retried while it fails with EINTR, any other failure (`-1` and errno)
/// becomes an `OperationError` naming the call and the path. Calls that return an error number
/// instead of setting errno (`posix_spawn`) store it in errno and return -1 inside `body`.
@discardableResult
public func syscall<Result: FixedWidthInteger & SignedInteger>(
    _ operation: String, path: String? = nil, _ body: () -> Result
) throws -> Result {
    switch SystemCall.retrying(body) {
    case .success(let result): return result
    case .failure(let failure): throw OperationError(operation: operation, path: path, code: failure.code)
    }
}

/// `path` inside the tree at `root`: `/` for the running system, a fixture directory in tests.
public func rooted(_ root: String, _ path: String) -> String {
    var base = root
    while base.hasSuffix("/") { base.removeLast() }
    return base + path
}

extension OperationError: ClumpError {}
