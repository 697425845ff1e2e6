import Glibc

/// Why the agent could not do something: the call that failed, the file or device it was about,
/// the errno and a hint, so a console line reads like a person wrote it.
public struct AgentError: Error, Equatable, CustomStringConvertible {
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
