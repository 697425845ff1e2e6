import AgentSupport
import Glibc

/// What went wrong on the master's side, with the file or interface it concerns and how to fix it.
public struct MasterSideError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var message: String
    /// The file, directory or interface concerned.
    public var subject: String
    /// How to fix it.
    public var hint: String?

    /// An error about `subject`.
    public init(_ message: String, subject: String, hint: String? = nil) {
        self.message = message
        self.subject = subject
        self.hint = hint
    }

    /// `subject: message` and an indented hint, like the spec's errors.
    public var description: String {
        var text = "\(subject): \(message)"
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }

    /// `body`'s result, with a failed call of the OS edge as the master's error about its path.
    static func wrapping<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as OperationError {
            throw MasterSideError(error)
        }
    }

    /// A failed call of the OS edge, about its path.
    public init(_ error: OperationError) {
        var message = error.operation
        if let code = error.code { message += ": " + String(cString: strerror(code)) }
        self.init(message, subject: error.path ?? "?", hint: error.hint)
    }
}

extension MasterSideError: ClumpError {}
