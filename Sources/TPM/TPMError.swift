import AgentSupport

/// Why talking to the TPM failed, with the response code where the TPM gave one.
public struct TPMError: ClumpError, Equatable {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message) (\($0))" } ?? message }
}
