import AgentSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything that can go wrong reading ELF files or resolving a library closure.
public struct ELFError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The classes of failure a caller may want to tell apart.
    public enum Kind: Equatable, Sendable {
        /// A system call failed (open, read, readlink, ...); see `syscall` and `errno`.
        case io
        /// The file does not start with the ELF magic.
        case notELF
        /// Valid ELF, but not what we handle: 32-bit, big-endian, an unknown version.
        case unsupported
        /// A header, table or string points outside the file or is inconsistent.
        case malformed
        /// A DT_NEEDED library was not found anywhere ld.so would look.
        case libraryNotFound
        /// A chain of symbolic links is too long or loops (ELOOP).
        case symlinkLoop
    }

    public var kind: Kind
    public var message: String
    /// The file concerned (a host path).
    public var file: String?
    /// Byte offset in `file` where a malformed structure sits.
    public var offset: Int?
    public var syscall: String?
    public var errno: Int32?
    public var hint: String?

    public init(
        _ kind: Kind, _ message: String, file: String? = nil, offset: Int? = nil, syscall: String? = nil,
        errno: Int32? = nil, hint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.file = file
        self.offset = offset
        self.syscall = syscall
        self.errno = errno
        self.hint = hint
    }

    public var description: String {
        var text = ""
        if let file { text += "\(file): " }
        text += message
        if let offset { text += " (at offset 0x\(String(offset, radix: 16)))" }
        if let syscall {
            text += " (\(syscall)"
            if let errno { text += ": \(String(cString: strerror(errno))), errno \(errno)" }
            text += ")"
        }
        if let hint { text += "; hint: \(hint)" }
        return text
    }
}

extension ELFError: ClumpError {}
