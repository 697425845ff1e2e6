import AgentSupport
import CSyscall
import Glibc

/// A small, fast, seedable generator (SplitMix64). The client seeds it from the MAC and the
/// clocks, never from `getrandom` (which can block in early boot on old kernels): identical
/// drones booting at the same instant still differ in MAC, so their xids and jitter differ.
public typealias DHCPRandom = SplitMix64

/// The monotonic clock the driver feeds the state machines.
public enum DHCPClock {
    /// CLOCK_BOOTTIME: monotonic, and it keeps counting while suspended, as lease time does.
    public static func now() -> DHCPInstant {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return DHCPInstant(milliseconds: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }

    static func entropy() -> UInt64 {
        var boot = timespec()
        var real = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_REALTIME, &real)
        return UInt64(bitPattern: Int64(boot.tv_nsec)) &* 0x9E37_79B9 ^ UInt64(bitPattern: Int64(real.tv_sec))
            &+ UInt64(bitPattern: Int64(real.tv_nsec)) << 20 ^ UInt64(getpid())
    }
}

/// Runs DHCP on several interfaces at once in one `poll` loop: one raw socket and one
/// `DHCPClientStateMachine` per interface, one rtnetlink socket to configure what they lease.
///
/// ```swift
/// let client = try DHCPClient(interfaces: ["eth0", "eth1"])
/// try client.run { event in print("clump: \(event)"); return .keepRunning }
/// ```
/// A drone calls `run` forever (renewals need it); `clumpnode dhcp IFACE` stops at the first
/// `.bound`. An agent with its own loop can call `step` instead and poll `descriptors` itself.
public final class DHCPClient {
    public struct Options: Sendable {
        /// Ask for rapid commit (RFC 4039).
        public var rapidCommit = true
        /// Put address and default route on the interface through netlink (false: only report).
        public var configureInterfaces = true
        /// Bring each link up (IFF_UP) before the first DISCOVER.
        public var bringLinksUp = true
        /// Default route metric is this plus the interface index, so several leased networks
        /// each keep their default route (the kernel prefers the lowest).
        public var routeMetricBase: UInt32 = 100
        /// Retransmission timing, milliseconds (see `DHCPClientStateMachine.Configuration`).
        public var initialDelay: Int64 = 250
        public var maximumDelay: Int64 = 16_000
        public var minimumRenewDelay: Int64 = 60_000
        /// Addresses to ask for first (INIT-REBOOT), by interface.
        public var previousAddresses: [String: IPv4] = [:]
        /// Fixes the random source (tests); nil: seeded from MAC and clocks.
        public var seed: UInt64?

        public init() {}
    }

    /// What the event callback wants next.
    public enum Decision: Sendable {
        case keepRunning
        case stop
    }

    final class Session {
        let transport: DHCPTransport
        var machine: DHCPClientStateMachine<DHCPRandom>
        var deadline: DHCPInstant?

        init(transport: DHCPTransport, machine: DHCPClientStateMachine<DHCPRandom>) {
            self.transport = transport
            self.machine = machine
        }
    }

    let options: Options
    let sessions: [Session]
    let netlink: NetlinkRoute?
    let clock: () -> DHCPInstant
    var started = false
    var identification: UInt16 = 0

    /// Opens a raw socket per interface (and rtnetlink when configuring), in the calling
    /// thread's network namespace.
    public convenience init(interfaces: [String], options: Options = Options()) throws {
        let netlink = options.configureInterfaces || options.bringLinksUp ? try NetlinkRoute() : nil
        // Links go up before the sockets are bound, so that the bind never meets a device that
        // is down (the kernel then leaves the socket with a pending ENETDOWN) and the wait for
        // a running link below covers every card before the first DISCOVER.
        if options.bringLinksUp, let netlink {
            for interface in interfaces {
                let index = if_nametoindex(interface)
                if index != 0 { try netlink.setLinkUp(index: Int32(index), interface: interface) }
            }
            // A DISCOVER sent before the carrier is up is lost and costs a retransmission
            // interval; waiting (bounded: a card without a cable must not stall the client) is
            // cheaper. Carrier, not IFF_RUNNING: the kernel sets that from its link watch, which
            // batches events up to a second (virtio-net's carrier comes on while the card is
            // still down, 0.9 s measured), while the card sends as soon as it has carrier at open.
            var waited = 0
            while waited < 2_000, !interfaces.allSatisfy({ clump_interface_carrier($0) == 1 }) {
                usleep(2_000)
                waited += 2
            }
        }
        let transports: [DHCPTransport] = try interfaces.map { try RawSocket(interface: $0) }
        self.init(transports: transports, netlink: netlink, options: options)
    }

    /// With given transports and netlink (tests use doubles), and an injectable clock.
    public init(
        transports: [DHCPTransport], netlink: NetlinkRoute?, options: Options = Options(),
        clock: @escaping () -> DHCPInstant = DHCPClock.now
    ) {
        self.options = options
        self.netlink = netlink
        self.clock = clock
        sessions = transports.map { transport in
            var configuration = DHCPClientStateMachine<DHCPRandom>.Configuration(
                interface: transport.interface, mac: transport.mac)
            configuration.rapidCommit = options.rapidCommit
            configuration.initialDelay = options.initialDelay
            configuration.maximumDelay = options.maximumDelay
            configuration.minimumRenewDelay = options.minimumRenewDelay
            configuration.previousAddress = options.previousAddresses[transport.interface]
            let macSeed = transport.mac.bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let seed = options.seed.map { $0 ^ macSeed } ?? (DHCPClock.entropy() ^ macSeed &* 0x100_0000_01B3)
            return Session(
                transport: transport,
                machine: DHCPClientStateMachine(configuration: configuration, random: DHCPRandom(seed: seed)))
        }
    }

    /// Applies a static `ip=` configuration instead of DHCP: link up, address, default route.
    /// Returns it as an infinite lease, to be reported like a DHCP one.
    public static func configureStatic(
        _ configuration: StaticIPConfiguration, interface: String, metric: UInt32? = nil
    ) throws -> DHCPLease {
        let socket = try RawSocket(interface: interface)
        let netlink = try NetlinkRoute()
        try netlink.setLinkUp(index: socket.index, interface: interface)
        let lease = configuration.lease(interface: interface, mac: socket.mac)
        let base = Options().routeMetricBase
        try netlink.apply(
            lease, index: socket.index, metric: metric ?? base &+ UInt32(bitPattern: socket.index), now: DHCPClock.now()
        )
        return lease
    }

    /// The leases in force now, by interface: only those whose address is on the interface.
    public var leases: [String: DHCPLease] {
        var result: [String: DHCPLease] = [:]
        for session in sessions { if let lease = session.machine.lease { result[session.transport.interface] = lease } }
        return result
    }

    /// The descriptors to poll for input (an agent with its own loop adds these to it).
    public var descriptors: [Int32] { sessions.map { $0.transport.fileDescriptor } }

    /// The earliest timer over all interfaces.
    public var nextDeadline: DHCPInstant? { sessions.compactMap(\.deadline).min() }

    /// Runs until the callback says `.stop` or `seconds` have passed (nil: for ever). Returns
    /// the leases in force.
    @discardableResult
    public func run(seconds: Double? = nil, onEvent: (DHCPEvent) -> Decision) throws -> [String: DHCPLease] {
        let end = seconds.map { clock().adding(milliseconds: Int64($0 * 1000)) }
        while true {
            let now = clock()
            if let end, now >= end { break }
            let wait = end.map { $0.milliseconds - now.milliseconds } ?? Int64(Int32.max)
            if try step(waitingAtMost: wait, onEvent: onEvent) == .stop { break }
        }
        return leases
    }

    /// One turn of the loop: start (the first time), fire due timers, wait for frames until the
    /// next timer (at most `waitingAtMost` ms), handle what arrived.
    public func step(waitingAtMost limit: Int64, onEvent: (DHCPEvent) -> Decision) throws -> Decision {
        var decision = Decision.keepRunning
        func note(_ d: Decision) { if d == .stop { decision = .stop } }
        if !started {
            started = true
            for session in sessions {
                if options.bringLinksUp, let netlink {
                    do {
                        try netlink.setLinkUp(index: session.transport.index, interface: session.transport.interface)
                    } catch let error as DHCPError {
                        note(onEvent(.failed(interface: session.transport.interface, error: error)))
                    }
                }
                note(perform(session.machine.start(now: clock()), on: session, onEvent))
            }
            if decision == .stop { return .stop }
        }
        var now = clock()
        for session in sessions {
            if let deadline = session.deadline, deadline <= now {
                note(perform(session.machine.timeout(now: now), on: session, onEvent))
            }
        }
        if decision == .stop { return .stop }
        now = clock()
        var wait = max(0, limit)
        if let next = nextDeadline { wait = min(wait, max(0, next.milliseconds - now.milliseconds)) }
        var pollers = sessions.map { pollfd(fd: $0.transport.fileDescriptor, events: Int16(POLLIN), revents: 0) }
        let timeout = Int32(clamping: wait)
        let ready = try retryingSyscall("poll") { poll(&pollers, nfds_t(pollers.count), timeout) }
        guard ready > 0 else { return decision }
        for (session, poller) in zip(sessions, pollers) where poller.revents != 0 {
            while let frame = try receiveOrReport(session, onEvent) {
                note(handle(frame, on: session, onEvent))
            }
        }
        return decision
    }

    func receiveOrReport(_ session: Session, _ onEvent: (DHCPEvent) -> Decision) throws -> ReceivedFrame? {
        do {
            return try session.transport.receive()
        } catch let error as DHCPError {
            // ENETDOWN and the like: say so, and let the next timer retry.
            _ = onEvent(.failed(interface: session.transport.interface, error: error))
            return nil
        }
    }

    /// A frame from the interface: ours only if it parses, is addressed to our MAC (or broadcast)
    /// and decodes; the state machine then checks op, xid and chaddr.
    func handle(_ frame: ReceivedFrame, on session: Session, _ onEvent: (DHCPEvent) -> Decision) -> Decision {
        guard
            let datagram = try? DHCPFrame.parse(frame.bytes, checksumNotReady: frame.checksumNotReady),
            datagram.sourcePort == DHCPFrame.serverPort,
            datagram.destinationMAC == session.transport.mac || datagram.destinationMAC == .broadcast,
            let message = try? DHCPMessage(decoding: datagram.payload)
        else { return .keepRunning }
        return perform(session.machine.receive(message, from: datagram.sourceMAC, now: clock()), on: session, onEvent)
    }

    /// Sends a frame. Right after IFF_UP the kernel refuses transmits with ENETDOWN for a few
    /// milliseconds, until linkwatch has activated the device's queue (seen on veth: the first
    /// send after `ip link set up` fails, the next succeeds); so ENETDOWN is retried briefly
    /// (at most 100 x 2 ms: the first DISCOVER leaves as soon as the device can send it)
    /// before it counts.
    func send(_ frame: [UInt8], on transport: DHCPTransport) throws {
        var tries = 0
        while true {
            do {
                return try transport.send(frame)
            } catch let error as DHCPError where error.errno == ENETDOWN && tries < 100 {
                tries += 1
                usleep(2_000)
            }
        }
    }

    /// Puts a lease in place: the address first; without it there is no lease. Then the default
    /// route: when the kernel refuses it (a router it cannot reach), the lease stands without its
    /// routers, and a note says why, so that what is reported is what is in effect.
    func configure(
        _ lease: DHCPLease, on session: Session, metric: UInt32
    ) -> (Result<DHCPLease, DHCPError>, notes: [DHCPError]) {
        guard options.configureInterfaces, let netlink else { return (.success(lease), []) }
        let index = session.transport.index
        do {
            try netlink.addAddress(lease, index: index, now: clock())
        } catch {
            return (.failure(Self.wrapped(error, interface: lease.interface)), [])
        }
        guard let router = lease.router else { return (.success(lease), []) }
        do {
            try netlink.addDefaultRoute(lease, index: index, metric: metric)
            return (.success(lease), [])
        } catch {
            var effective = lease
            effective.routers = []
            var why = Self.wrapped(error, interface: lease.interface)
            why.interface = nil
            let note = DHCPError(.refused("no default route via \(router): \(why)"), interface: lease.interface)
            return (.success(effective), [note])
        }
    }

    static func wrapped(_ error: Error, interface: String) -> DHCPError {
        (error as? DHCPError) ?? DHCPError(.invalid("\(error)"), interface: interface)
    }

    func perform(
        _ actions: [DHCPClientStateMachine<DHCPRandom>.Action], on session: Session,
        _ onEvent: (DHCPEvent) -> Decision
    ) -> Decision {
        var decision = Decision.keepRunning
        let interface = session.transport.interface
        let metric = options.routeMetricBase &+ UInt32(bitPattern: session.transport.index)
        for action in actions {
            do {
                switch action {
                case .send(let message, let destination):
                    identification &+= 1
                    let frame: [UInt8]
                    switch destination {
                    case .broadcast:
                        frame = DHCPFrame.build(
                            payload: message.encoded(), sourceMAC: session.transport.mac,
                            source: message.clientAddress, identification: identification)
                    case .unicast(let address, let mac):
                        frame = DHCPFrame.build(
                            payload: message.encoded(), sourceMAC: session.transport.mac,
                            destinationMAC: mac ?? .broadcast, source: message.clientAddress, destination: address,
                            identification: identification)
                    }
                    try send(frame, on: session.transport)
                case .configure(let lease):
                    let (result, notes) = configure(lease, on: session, metric: metric)
                    for note in notes where onEvent(.failed(interface: interface, error: note)) == .stop {
                        decision = .stop
                    }
                    let next = session.machine.configured(result, now: clock())
                    if perform(next, on: session, onEvent) == .stop { decision = .stop }
                case .deconfigure(let lease):
                    if options.configureInterfaces, let netlink {
                        try netlink.remove(lease, index: session.transport.index, metric: metric)
                    }
                case .wait(let until):
                    session.deadline = until
                case .report(let event):
                    if onEvent(event) == .stop { decision = .stop }
                }
            } catch {
                let failure = Self.wrapped(error, interface: interface)
                if onEvent(.failed(interface: interface, error: failure)) == .stop { decision = .stop }
            }
        }
        return decision
    }
}
