import AgentSupport

/// Why a join failed: what happened and, when we know, what to do.
public struct JoinError: ClumpError, Equatable {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message) (\($0))" } ?? message }
}
