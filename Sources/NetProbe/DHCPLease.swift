/// A point on a monotonic clock, in milliseconds. The state machine never reads a clock: the
/// driver passes `now` in (CLOCK_BOOTTIME, which keeps counting across suspend, so lease times
/// stay honest), and tests pass a fake one.
public struct DHCPInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func seconds(_ seconds: Double) -> DHCPInstant { DHCPInstant(milliseconds: Int64(seconds * 1000)) }

    public func adding(milliseconds delta: Int64) -> DHCPInstant {
        DHCPInstant(milliseconds: milliseconds.addingReportingOverflow(delta).overflow ? .max : milliseconds + delta)
    }

    public func adding(seconds: UInt32) -> DHCPInstant { adding(milliseconds: Int64(seconds) * 1000) }

    public static func < (a: DHCPInstant, b: DHCPInstant) -> Bool { a.milliseconds < b.milliseconds }

    public var description: String { "t=\(Double(milliseconds) / 1000)s" }
}

/// What a DHCP server (or a static `ip=`) gave one interface: everything the agent configures
/// and reports, and AutoMap needs.
public struct DHCPLease: Hashable, Sendable, CustomStringConvertible {
    /// `UInt32.max` seconds is an infinite lease (RFC 2131 3.3).
    public static let infinite = UInt32.max

    public var interface: String
    public var mac: MACAddress
    /// `yiaddr`.
    public var address: IPv4
    /// Option 1, or the classful mask when the server sent none.
    public var subnetMask: IPv4
    /// Option 3, in the server's order of preference.
    public var routers: [IPv4] = []
    /// Option 6.
    public var dnsServers: [IPv4] = []
    /// Option 12, as sent (unchecked).
    public var hostName: String?
    /// Option 15.
    public var domainName: String?
    /// Option 28, or computed from address and mask.
    public var broadcast: IPv4
    /// Option 54: where renewals go.
    public var serverIdentifier: IPv4?
    /// The Ethernet source of the server's ACK: the server, or the relay that forwarded it. Unicast
    /// renewals go there, so we need no ARP of our own.
    public var serverMAC: MACAddress?
    /// Option 51, seconds (`infinite` for a static address).
    public var leaseTime: UInt32
    /// T1 (option 58, default lease/2), seconds.
    public var renewalTime: UInt32
    /// T2 (option 59, default 7/8 of the lease), seconds.
    public var rebindingTime: UInt32
    /// When the REQUEST that got this lease was sent: lease times count from there (RFC 2131 4.4.1).
    public var acquiredAt: DHCPInstant
    /// `siaddr`: the TFTP server of a network boot (dnsmasq's next-server).
    public var nextServer: IPv4?
    /// Header `file`, else option 67.
    public var bootFile: String?
    /// Option 66.
    public var tftpServerName: String?
    /// Option 17: the NFS root of a diskless node.
    public var rootPath: String?

    public init(
        interface: String, mac: MACAddress, address: IPv4, subnetMask: IPv4, routers: [IPv4] = [],
        dnsServers: [IPv4] = [], hostName: String? = nil, domainName: String? = nil, broadcast: IPv4? = nil,
        serverIdentifier: IPv4? = nil, serverMAC: MACAddress? = nil, leaseTime: UInt32 = infinite,
        renewalTime: UInt32? = nil, rebindingTime: UInt32? = nil,
        acquiredAt: DHCPInstant = DHCPInstant(milliseconds: 0),
        nextServer: IPv4? = nil, bootFile: String? = nil, tftpServerName: String? = nil, rootPath: String? = nil
    ) {
        self.interface = interface
        self.mac = mac
        self.address = address
        self.subnetMask = subnetMask
        self.routers = routers
        self.dnsServers = dnsServers
        self.hostName = hostName
        self.domainName = domainName
        self.broadcast = broadcast ?? IPv4(address.value | ~subnetMask.value)
        self.serverIdentifier = serverIdentifier
        self.serverMAC = serverMAC
        self.leaseTime = leaseTime
        (self.renewalTime, self.rebindingTime) = Self.timers(lease: leaseTime, t1: renewalTime, t2: rebindingTime)
        self.acquiredAt = acquiredAt
        self.nextServer = nextServer
        self.bootFile = bootFile
        self.tftpServerName = tftpServerName
        self.rootPath = rootPath
    }

    /// T1 and T2 per RFC 2131 4.4.5, falling back to the defaults (lease/2, 7/8 of the lease) when
    /// the server's values are missing, not ordered T1 <= T2 <= lease, or below
    /// `DHCPLeasePolicy.minimumTimerSeconds`: a zero T1 means "no value" (ISC dhclient: `if
    /// (!renewal) renewal = expiry / 2`), not "renew now", which with a server that answers every
    /// REQUEST would be a loop.
    static func timers(lease: UInt32, t1: UInt32?, t2: UInt32?) -> (UInt32, UInt32) {
        if lease == infinite { return (infinite, infinite) }
        let floor = DHCPLeasePolicy.minimumTimerSeconds
        let defaultT2 = UInt32(UInt64(lease) * 7 / 8)
        var rebind = t2 ?? defaultT2
        if rebind > lease || rebind < floor { rebind = defaultT2 }
        var renew = t1 ?? lease / 2
        if renew > rebind || renew < floor { renew = min(lease / 2, rebind) }
        return (renew, rebind)
    }

    /// The prefix length of the mask (a non-contiguous mask counts its leading ones).
    public var prefixLength: Int { subnetMask.prefixLength ?? (~subnetMask.value).leadingZeroBitCount }
    /// The first router, the default gateway.
    public var router: IPv4? { routers.first }
    /// When to start renewing; nil for an infinite lease.
    public var renewAt: DHCPInstant? { leaseTime == Self.infinite ? nil : acquiredAt.adding(seconds: renewalTime) }
    public var rebindAt: DHCPInstant? { leaseTime == Self.infinite ? nil : acquiredAt.adding(seconds: rebindingTime) }
    public var expiresAt: DHCPInstant? { leaseTime == Self.infinite ? nil : acquiredAt.adding(seconds: leaseTime) }

    /// Seconds of lease left at `now` (for the kernel's address lifetime); `infinite` stays so.
    public func remainingSeconds(at now: DHCPInstant) -> UInt32 {
        guard let expiresAt else { return Self.infinite }
        let left = (expiresAt.milliseconds - now.milliseconds) / 1000
        return UInt32(clamping: max(0, left))
    }

    /// `eth0 10.0.2.15/24 router 10.0.2.2 server 10.0.2.2`, the tail of the console's `clump: lease` line.
    public var description: String {
        var text = "\(interface) \(address)/\(prefixLength)"
        if let router { text += " router \(router)" }
        if let serverIdentifier { text += " server \(serverIdentifier)" }
        return text
    }
}

/// What happened on an interface, for the console and the view.
public enum DHCPEvent: Hashable, Sendable, CustomStringConvertible {
    /// Nothing answered our DISCOVERs yet; `attempt` counts them. The client keeps trying.
    case noAnswer(interface: String, attempt: Int, seconds: Int)
    case offered(interface: String, address: IPv4, server: IPv4?)
    /// A new lease, reported once its address (and its default route, when it names a router) is
    /// in place: what it shows is what is in effect.
    case bound(DHCPLease)
    /// The same or a new lease after RENEWING or REBINDING.
    case renewed(DHCPLease)
    /// T1 passed without an answer from our server; asking any server now (T2).
    case rebinding(DHCPLease)
    case nak(interface: String, server: IPv4?, message: String?)
    /// The lease ran out: the address was removed and the client starts over.
    case expired(DHCPLease)
    /// An effect failed (socket, netlink); the driver keeps going where it can.
    case failed(interface: String, error: DHCPError)

    public var interface: String {
        switch self {
        case .noAnswer(let name, _, _), .offered(let name, _, _), .nak(let name, _, _), .failed(let name, _):
            return name
        case .bound(let lease), .renewed(let lease), .rebinding(let lease), .expired(let lease):
            return lease.interface
        }
    }

    public var description: String {
        switch self {
        case .noAnswer(let name, let attempt, let seconds):
            return "no DHCP answer yet on \(name) (attempt \(attempt), \(seconds) s)"
        case .offered(let name, let address, let server):
            return "offer \(name) \(address)" + (server.map { " server \($0)" } ?? "")
        case .bound(let lease): return "lease \(lease)"
        case .renewed(let lease): return "renewed \(lease)"
        case .rebinding(let lease): return "rebinding \(lease)"
        case .nak(let name, let server, let message):
            return "DHCPNAK on \(name)" + (server.map { " from \($0)" } ?? "") + (message.map { ": \($0)" } ?? "")
        case .expired(let lease): return "lease expired \(lease)"
        case .failed(let name, var error):
            error.interface = nil
            return "DHCP on \(name): \(error)"
        }
    }
}
