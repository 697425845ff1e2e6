import AgentSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The one error type of ImageBuilder: what failed, on which file, the library's or the
/// kernel's own words, and what to do about it.
public struct ImageBuilderError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being done, in a few words ("write initramfs", "parse El Torito boot catalog").
    public var operation: String
    /// The file (or image entry path) involved, if any.
    public var path: String?
    /// What went wrong, in our words.
    public var reason: String
    /// libarchive's `archive_error_string`, if libarchive reported the failure.
    public var archiveMessage: String?
    /// The errno of a failed system call, if one failed.
    public var errno: Int32?
    /// The system call or library function that failed (`open`, `archive_write_header`).
    public var function: String?
    /// What the user can do about it.
    public var hint: String?

    public init(
        operation: String, path: String? = nil, reason: String, archiveMessage: String? = nil,
        errno: Int32? = nil, function: String? = nil, hint: String? = nil
    ) {
        self.operation = operation
        self.path = path
        self.reason = reason
        self.archiveMessage = archiveMessage
        self.errno = errno
        self.function = function
        self.hint = hint
    }

    public var description: String {
        var text = operation
        if let path { text += " '\(path)'" }
        if !reason.isEmpty { text += ": \(reason)" }
        var details: [String] = []
        if let errno { details.append("\(function ?? "system call"): \(Self.errnoText(errno)) (errno \(errno))") }
        if let archiveMessage, !archiveMessage.isEmpty { details.append("libarchive: \(archiveMessage)") }
        if !details.isEmpty { text += " [" + details.joined(separator: "; ") + "]" }
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }

    /// A file operation of the builder failed; `what` says what, in a few words.
    public static func io(_ what: String, path: String, hint: String? = nil, errno: Int32? = nil) -> ImageBuilderError {
        ImageBuilderError(
            operation: what, path: path, reason: "", errno: errno, function: errno == nil ? nil : what, hint: hint)
    }

    /// An external program (qemu, dnsmasq, ...) could not be run or failed.
    public static func tool(_ program: String, _ reason: String, hint: String? = nil) -> ImageBuilderError {
        ImageBuilderError(operation: "run \(program)", reason: reason, hint: hint)
    }

    /// clump's own files (rootfs/, kernel-config/) could not be found.
    public static func resources(_ reason: String, hint: String? = nil) -> ImageBuilderError {
        ImageBuilderError(operation: "find clump resources", reason: reason, hint: hint)
    }

    static func errnoText(_ code: Int32) -> String {
        guard let cString = strerror(code) else { return "unknown error" }
        return String(cString: cString)
    }

    /// An error for a failed system call, taking the current `errno`.
    static func system(
        _ function: String, operation: String, path: String?, hint: String? = nil, code: Int32 = Glibc.errno
    ) -> ImageBuilderError {
        ImageBuilderError(
            operation: operation, path: path, reason: "\(function) failed", errno: code, function: function, hint: hint)
    }
}

extension ImageBuilderError: ClumpError {}
