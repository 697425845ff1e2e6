import AgentSupport
import AutoMap
import Glibc

/// One member on the network: a UDP socket, the authenticator and the membership state machine.
/// `poll` does all the work (receive, answer, send what is due) and returns; the
/// caller decides how to wait. The drone's daemon (`Announcer`) and the master's view
/// (`ClusterObserver`) are both loops around it.
public final class ClusterEndpoint {
    /// UDP port of announcements: unassigned by IANA, next to nothing clusters use.
    public static let defaultPort: UInt16 = 7077

    public struct Options {
        public var port: UInt16 = ClusterEndpoint.defaultPort
        /// SO_BINDTODEVICE; nil: every interface (broadcasts follow the routing table).
        public var interface: String?
        /// Where broadcasts go: the limited broadcast unless set (a.b.c.255 for one network).
        public var broadcast: UInt32 = 0xFFFF_FFFF
        public var config = Membership.Config()
        /// Testing only: drop this percentage of received datagrams in the kernel (see
        /// `setDropPercent`); simulates a lossy network where netem is unavailable.
        public var dropPercent: Double = 0

        public init() {}
    }

    public let options: Options
    private let socket: UDPSocket
    private var authenticator: Authenticator
    public private(set) var membership: Membership
    private var random = SystemRandomNumberGenerator()
    /// Datagrams and bytes sent, for the bench and the status file.
    public private(set) var sentDatagrams = 0
    public private(set) var sentBytes = 0

    /// Where the keys came from, read again when they change (a drone that joined gets each new
    /// key epoch's key over its session, the master's view from serve).
    private var keyFiles: ClusterKeys.Watch?
    private var nextKeyCheck: Int64 = 0

    /// A member `id` (0: a view) at `address` of the cluster `roster`, with the cluster key
    /// (and the key being rotated out, accepted but not used).
    public convenience init(
        roster: Roster, id: UInt16, address: UInt32, key: [UInt8], previousKey: [UInt8]? = nil,
        options: Options = Options()
    ) throws {
        try self.init(
            roster: roster, id: id, address: address, keys: ClusterKeys.Set(current: key, previous: previousKey), options: options)
    }

    /// The same with the keys in files that `keyFiles` watches: checked once a second, and
    /// taken as soon as they change, the replay windows kept.
    public init(
        roster: Roster, id: UInt16, address: UInt32, keys: ClusterKeys.Set, keyFiles: ClusterKeys.Watch? = nil,
        options: Options = Options()
    ) throws {
        self.options = options
        self.keyFiles = keyFiles
        socket = try UDPSocket(port: options.port, interface: options.interface)
        if options.dropPercent > 0 { try socket.dropReceived(percent: options.dropPercent) }
        authenticator = Authenticator(key: keys.current, previous: keys.previous, next: keys.next)
        // The incarnation is the start time: it grows across restarts, so the replay window
        // of the previous run cannot be reused against this one (see Authenticator.open).
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        membership = Membership(
            config: options.config, roster: roster, id: id, address: address,
            incarnation: UInt32(truncatingIfNeeded: clock.tv_sec))
    }

    /// The socket, for a caller that polls it together with other descriptors (a terminal).
    public var fileDescriptor: Int32 { socket.fd }

    public var counters: Authenticator.Counters { authenticator.counters }

    /// Testing only: the kernel drops this percentage of the datagrams this member receives, at
    /// random (a BPF socket filter; 0 removes it). Simulates a lossy network where `tc netem`
    /// is unavailable.
    public func setDropPercent(_ percent: Double) throws { try socket.dropReceived(percent: percent) }

    /// This member's latest sample.
    public func update(own load: NodeLoad) { membership.update(own: load) }

    /// Waits up to `milliseconds` (less when the membership has work due) for datagrams, takes in
    /// all that are waiting (answering at once: the all-gather's rounds follow arrivals), and
    /// does what is due.
    public func poll(milliseconds: Int) {
        let now = monotonicNanoseconds()
        if keyFiles != nil, now >= nextKeyCheck {
            nextKeyCheck = now + 1_000_000_000
            if let keys = keyFiles?.changed() { authenticator.rekey(keys) }
        }
        // nextWake starts at Int64.min: due at once.
        let untilWake = membership.nextWake <= now ? 0 : (membership.nextWake - now + 999_999) / 1_000_000
        if socket.wait(milliseconds: Int32(min(Int64(milliseconds), untilWake))) {
            var budget = 4096
            while budget > 0, let (bytes, source, destination) = socket.receive() {
                budget -= 1
                var clock = timespec()
                clock_gettime(CLOCK_REALTIME, &clock)
                guard
                    let datagram = authenticator.open(
                        bytes, from: source, to: destination, now: UInt32(truncatingIfNeeded: clock.tv_sec))
                else { continue }
                send(
                    membership.receive(
                        datagram, from: source, now: monotonicNanoseconds(), fresh: authenticator.fresh,
                        challenge: authenticator.challenge, random: &random))
            }
        }
        let later = monotonicNanoseconds()
        if later >= membership.nextWake { send(membership.tick(now: later, random: &random)) }
    }

    private func send(_ sends: [Membership.Send]) {
        for item in sends {
            let address: UInt32
            switch item.destination {
            case .broadcast: address = options.broadcast
            case .unicast(let destination): address = destination
            }
            let bytes = authenticator.seal(item.datagram, to: address)
            socket.send(bytes, to: address, port: options.port)
            sentDatagrams += 1
            sentBytes += bytes.count
        }
    }

    /// The cluster as this member sees it now.
    public func snapshot() -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.id = membership.id
        snapshot.address = membership.address
        snapshot.counters = authenticator.counters
        snapshot.observers = membership.observerCount
        snapshot.nodes = membership.snapshot(now: monotonicNanoseconds())
        return snapshot
    }
}

/// The master's live view: joins the cluster as an observer (no node id, never listed as a
/// node), receives the gossip, and hands out snapshots. The view calls `poll` from its loop
/// (or waits on `fileDescriptor` with its terminal) and draws `snapshot()`.
public final class ClusterObserver {
    public let endpoint: ClusterEndpoint

    /// An observer of the cluster `roster` with the key in `keyFile` (and `previousKeyFile`, by
    /// default `keyFile.previous`, and `keyFile.next`, where they exist), read again when they change.
    /// `address` is this host's address on the cluster network (0: the nodes use the datagram's source).
    public init(
        roster: Roster, keyFile: String, previousKeyFile: String? = nil, address: UInt32 = 0,
        options: ClusterEndpoint.Options = ClusterEndpoint.Options()
    ) throws {
        var watch = ClusterKeys.Watch(keyFile, previous: previousKeyFile)
        let keys = try watch.load()
        endpoint = try ClusterEndpoint(roster: roster, id: 0, address: address, keys: keys, keyFiles: watch, options: options)
        endpoint.update(own: NodeLoad())
    }

    public var fileDescriptor: Int32 { endpoint.fileDescriptor }

    /// Takes in what arrived, sends the hello when due; waits at most `milliseconds`.
    public func poll(milliseconds: Int = 0) { endpoint.poll(milliseconds: milliseconds) }

    public func snapshot() -> ClusterSnapshot {
        var snapshot = endpoint.snapshot()
        snapshot.mode = .observer
        return snapshot
    }
}

/// The key files of a cluster.
extension Roster {
    /// The roster of a map file (`/etc/mosix.map` syntax); host-name lines get address 0.
    public static func load(mapFile path: String) throws -> Roster {
        let text = String(decoding: try SystemFile.read(path), as: UTF8.self)
        let map: ClusterMap
        do {
            map = try ClusterMap(parsing: text, file: path)
        } catch {
            throw ClusterStateError(operation: "read the cluster map", path: path, hint: "\(error)")
        }
        return Roster(
            map.expand().filter { !$0.isAlias }.map { entry in
                if case .address(let address) = entry.host { return (UInt16(entry.id), address.value) }
                return (UInt16(entry.id), 0)
            })
    }
}
