import AgentSupport

/// Why a kernel build stopped: the step, the file (patch, fragment, source) and a hint.
public struct KernelBuildError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The build step that failed: "source", "patch", "config", "compile", "cache".
    public var step: String
    public var message: String
    /// The patch, fragment, source or log the message is about.
    public var file: String?
    public var hint: String?

    public init(_ step: String, _ message: String, file: String? = nil, hint: String? = nil) {
        self.step = step
        self.message = message
        self.file = file
        self.hint = hint
    }

    public var description: String {
        var text = "kernel \(step): " + (file.map { "\($0): " } ?? "") + message
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}

extension KernelBuildError: ClumpError {
    public var exitCode: Int32 { step == "interrupted" ? 130 : 1 }
}
