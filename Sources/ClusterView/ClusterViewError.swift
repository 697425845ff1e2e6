import AgentSupport
import Glibc

/// Everything that goes wrong in the view: a syscall on the terminal, a snapshot file that
/// cannot be read or parsed, a bad command line. Says what, where, and the errno when there is one.
public struct ClusterViewError: Error, Equatable, CustomStringConvertible {
    /// What was being done (`open`, `tcsetattr`, `parse`).
    public var operation: String
    /// The file or device involved.
    public var path: String?
    /// The 1-based line, for snapshot files.
    public var line: Int?
    /// The errno, for syscalls.
    public var code: Int32?
    /// The problem in words, and a hint when there is one.
    public var message: String?

    public init(operation: String, path: String? = nil, line: Int? = nil, code: Int32? = nil, message: String? = nil) {
        self.operation = operation
        self.path = path
        self.line = line
        self.code = code
        self.message = message
    }

    public var description: String {
        var text = operation
        if let path { text += " " + path + (line.map { ":\($0)" } ?? "") }
        if let code { text += ": " + String(cString: strerror(code)) }
        if let message { text += ": " + message }
        return text
    }
}

/// Runs a libc call, retrying on EINTR (a SIGWINCH arrives at any time), turning -1 into an error.
@discardableResult
func syscall<Result: FixedWidthInteger & SignedInteger>(
    _ operation: String, path: String? = nil, _ body: () -> Result
) throws -> Result {
    switch SystemCall.retrying(body) {
    case .success(let result): return result
    case .failure(let failure):
        let code = failure.code
        throw ClusterViewError(operation: operation, path: path, code: code)
    }
}

extension ClusterViewError: ClumpError {}
