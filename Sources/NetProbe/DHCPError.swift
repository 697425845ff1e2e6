import AgentSupport
import Glibc

/// Everything that can go wrong in the DHCP client, the raw socket and netlink, with the context a
/// person needs: which interface, which syscall, the errno text and what to try.
public struct DHCPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// A system call failed with `errno`.
        case system(call: String, errno: Int32)
        /// The kernel answered a netlink request with an error (`nlmsgerr.error`, positive errno).
        case netlink(request: String, errno: Int32)
        /// Bytes that are not a valid DHCP message or frame.
        case malformed(String)
        /// A value that cannot be used (bad `ip=` parameter, unknown interface, ...).
        case invalid(String)
        /// Something a DHCP server sent that the client will not use (see `DHCPLeasePolicy`).
        case refused(String)
    }

    public var kind: Kind
    /// The network interface involved, if any.
    public var interface: String?
    /// What to do about it, when we know.
    public var hint: String?

    public init(_ kind: Kind, interface: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.interface = interface
        self.hint = hint
    }

    /// The errno of a failed system call or netlink request.
    public var errno: Int32? {
        switch kind {
        case .system(_, let code), .netlink(_, let code): return code
        default: return nil
        }
    }

    public var description: String {
        var text = interface.map { "\($0): " } ?? ""
        switch kind {
        case .system(let call, let code): text += "\(call) failed: \(Self.errnoText(code))"
        case .netlink(let request, let code): text += "netlink \(request) failed: \(Self.errnoText(code))"
        case .malformed(let what): text += "malformed packet: \(what)"
        case .invalid(let what), .refused(let what): text += what
        }
        if let hint { text += " (\(hint))" }
        return text
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }

    static func malformed(_ what: String) -> DHCPError { DHCPError(.malformed(what)) }
}

/// Runs one libc call, retrying while it fails with EINTR (a signal arrived: PID 1 gets many
/// SIGCHLDs), and turns -1 into a `DHCPError` naming the call. Every syscall in NetProbe's DHCP
/// code goes through here (the swift-nio / swift-system pattern).
@discardableResult
func retryingSyscall<T: BinaryInteger>(
    _ call: String, interface: String? = nil, hint: String? = nil, _ body: () -> T
) throws -> T {
    switch SystemCall.retrying(body) {
    case .success(let result): return result
    case .failure(let failure):
        let code = failure.code
        throw DHCPError(.system(call: call, errno: code), interface: interface, hint: hint ?? defaultHint(code))
    }
}

private func defaultHint(_ code: Int32) -> String? {
    switch code {
    case EPERM, EACCES: return "needs root or CAP_NET_RAW/CAP_NET_ADMIN"
    case ENODEV, ENXIO: return "is the interface present? see `ip link`"
    case ENETDOWN: return "the interface is down"
    default: return nil
    }
}

extension DHCPError: ClumpError {}
