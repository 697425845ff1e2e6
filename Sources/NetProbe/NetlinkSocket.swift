import Glibc

/// A datagram channel to the kernel's rtnetlink. Behind a protocol so tests can use a mock that
/// records requests and answers with canned ACKs (apple/containerization does the same).
public protocol NetlinkSocket: AnyObject {
    func send(_ bytes: [UInt8]) throws
    /// One datagram; throws (ETIMEDOUT) rather than wait forever.
    func receive() throws -> [UInt8]
}

/// A real `AF_NETLINK`/`NETLINK_ROUTE` socket. Open it in the network namespace it should act on.
public final class RouteNetlinkSocket: NetlinkSocket {
    let descriptor: Int32
    /// How long to wait for the kernel's ACK; it answers in microseconds, so this only guards
    /// against a bug turning into a hung PID 1.
    let timeoutMilliseconds: Int32

    public init(timeoutMilliseconds: Int32 = 2_000) throws {
        self.timeoutMilliseconds = timeoutMilliseconds
        descriptor = try retryingSyscall("socket(AF_NETLINK, NETLINK_ROUTE)") {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        // struct sockaddr_nl { sa_family_t nl_family; unsigned short pad; u32 nl_pid; u32 nl_groups; }
        var address = [UInt8](repeating: 0, count: 12)
        address.replaceSubrange(0..<2, with: native(UInt16(AF_NETLINK)))
        do {
            _ = try address.withUnsafeBytes { raw in
                try retryingSyscall("bind(AF_NETLINK)") {
                    bind(descriptor, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
                }
            }
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    public func send(_ bytes: [UInt8]) throws {
        _ = try bytes.withUnsafeBytes { raw in
            try retryingSyscall("send(netlink)") { Glibc.send(descriptor, raw.baseAddress, raw.count, 0) }
        }
    }

    public func receive() throws -> [UInt8] {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = try retryingSyscall("poll(netlink)") { poll(&poller, 1, timeoutMilliseconds) }
        if ready == 0 {
            throw DHCPError(.system(call: "recv(netlink)", errno: ETIMEDOUT), hint: "the kernel did not answer")
        }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let count = try buffer.withUnsafeMutableBytes { raw in
            try retryingSyscall("recv(netlink)") { recv(descriptor, raw.baseAddress, raw.count, 0) }
        }
        return Array(buffer[0..<count])
    }
}

/// Applies leases to the kernel through rtnetlink: link up, address, broadcast, default route.
public final class NetlinkRoute {
    let socket: NetlinkSocket
    var sequence: UInt32 = 1

    public init(socket: NetlinkSocket) {
        self.socket = socket
    }

    /// Opens a real rtnetlink socket (in the calling thread's network namespace).
    public convenience init() throws {
        self.init(socket: try RouteNetlinkSocket())
    }

    /// Sends one request and waits for its ACK; an errno in `tolerated` counts as success
    /// (deleting what is already gone).
    func perform(_ build: (UInt32) -> NetlinkMessage, interface: String?, tolerated: Set<Int32> = []) throws {
        sequence &+= 1
        let message = build(sequence)
        try socket.send(message.encoded())
        // Skip anything that is not our ACK (a stale reply); bounded so garbage cannot spin us.
        for _ in 0..<64 {
            for reply in try NetlinkMessage.parseReplies(try socket.receive()) {
                guard case .ack(let seq, let code) = reply, seq == message.sequence else { continue }
                if code == 0 || tolerated.contains(code) { return }
                throw DHCPError(.netlink(request: message.name, errno: code), interface: interface, hint: hint(code))
            }
        }
        throw DHCPError(
            .netlink(request: message.name, errno: EPROTO), interface: interface, hint: "no ACK from the kernel")
    }

    private func hint(_ code: Int32) -> String? {
        switch code {
        case EPERM, EACCES: return "needs CAP_NET_ADMIN (run as root)"
        case ENODEV: return "the interface is gone"
        case ENETUNREACH: return "the router is not on the leased subnet"
        default: return nil
        }
    }

    /// `ip link set dev X up`.
    public func setLinkUp(index: Int32, interface: String? = nil) throws {
        try perform({ NetlinkMessage.linkUp(index: index, sequence: $0) }, interface: interface)
    }

    /// Adds (or refreshes) the lease's address with its remaining lifetime, then its default
    /// route through the first router.
    public func apply(_ lease: DHCPLease, index: Int32, metric: UInt32, now: DHCPInstant) throws {
        try addAddress(lease, index: index, now: now)
        try addDefaultRoute(lease, index: index, metric: metric)
    }

    /// Adds (or refreshes) the lease's address and broadcast with its remaining lifetime. A
    /// lifetime of 0 is refused here with a reason rather than by the kernel with EINVAL.
    public func addAddress(_ lease: DHCPLease, index: Int32, now: DHCPInstant) throws {
        let lifetime = lease.remainingSeconds(at: now)
        guard lifetime > 0 else {
            throw DHCPError(.refused("the lease of \(lease.address) has already run out"), interface: lease.interface)
        }
        try perform(
            {
                NetlinkMessage.addAddress(
                    lease.address, prefixLength: lease.prefixLength, broadcast: lease.broadcast, index: index,
                    lifetime: lifetime, sequence: $0)
            }, interface: lease.interface)
    }

    /// Adds (or replaces) the default route through the lease's first router, if it names one.
    public func addDefaultRoute(_ lease: DHCPLease, index: Int32, metric: UInt32) throws {
        guard let router = lease.router else { return }
        try perform(
            {
                NetlinkMessage.addDefaultRoute(
                    via: router, source: lease.address, index: index, metric: metric,
                    proto: lease.leaseTime == DHCPLease.infinite && lease.serverMAC == nil
                        ? NetlinkMessage.RTPROT_STATIC : NetlinkMessage.RTPROT_DHCP,
                    sequence: $0)
            }, interface: lease.interface)
    }

    /// Removes the default route and the address of a lease; what is already gone is fine.
    public func remove(_ lease: DHCPLease, index: Int32, metric: UInt32) throws {
        if let router = lease.router {
            try perform(
                { NetlinkMessage.deleteDefaultRoute(via: router, index: index, metric: metric, sequence: $0) },
                interface: lease.interface, tolerated: [ESRCH, ENOENT, ENODEV])
        }
        try perform(
            {
                NetlinkMessage.deleteAddress(
                    lease.address, prefixLength: lease.prefixLength, index: index, sequence: $0)
            },
            interface: lease.interface, tolerated: [EADDRNOTAVAIL, ENOENT, ENODEV])
    }
}
