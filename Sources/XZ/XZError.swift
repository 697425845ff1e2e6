import AgentSupport

/// What went wrong compressing or decompressing `.xz` data, with the liblzma return code.
public struct XZError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The classes of failure a caller may want to tell apart.
    public enum Kind: Equatable, Sendable {
        /// Not an .xz stream at all (wrong magic).
        case notXZ
        /// The stream is damaged: a bad header, a bad CRC, impossible LZMA2 data.
        case corrupt
        /// The input ended before the stream did.
        case truncated
        /// Decoding needs more memory than the caller allowed.
        case memoryLimit
        /// The decoded data would be larger than the caller allowed.
        case outputTooLarge
        /// Bad arguments (an unknown preset) or an unsupported filter or check.
        case unsupported
        /// liblzma could not allocate memory.
        case outOfMemory
        /// Anything liblzma reports that should never happen.
        case `internal`
    }

    public var kind: Kind
    public var message: String
    /// What was being (de)compressed, e.g. a module path; nil if the caller did not say.
    public var file: String?
    /// The liblzma function that failed and its `lzma_ret` value.
    public var function: String?
    public var code: Int32?
    public var hint: String?

    public init(
        _ kind: Kind, _ message: String, file: String? = nil, function: String? = nil, code: Int32? = nil,
        hint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.file = file
        self.function = function
        self.code = code
        self.hint = hint
    }

    public var description: String {
        var text = ""
        if let file { text += "\(file): " }
        text += message
        if let function, let code { text += " (\(function) returned \(code))" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }
}

extension XZError: ClumpError {}
