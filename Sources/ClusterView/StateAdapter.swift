import AgentSupport
import AutoMap
import Glibc
import ClusterState

// The glue between the cluster daemon's table (ClusterState) and what the view draws. Both
// modules name their types alike (ClusterSnapshot, NodeMode, Configuration); unqualified
// names here are the view's, the daemon's are written `ClusterState.X`.

extension ClusterSnapshot {
    /// The view of a daemon table: the announcer's `/run/clump/cluster` on a drone, or an
    /// in-process `ClusterObserver` on the master. `staleness` (seconds) is added to every
    /// age: how long ago the table was written.
    public init(state: ClusterState.ClusterSnapshot, staleness: Double = 0, observer: Bool = false) {
        let status = state.status
        let configuration: Configuration
        switch observer ? .configured : (status?.configuration ?? state.configuration) {
        case .configured: configuration = .configured
        case .noCard: configuration = .noCard
        case .noCarrier: configuration = .noCarrier
        case .waitingForDHCP: configuration = .waitingForDHCP
        case .unknown: configuration = state.mode == .auto ? .failed("no status yet") : .notAttempted
        }
        let mode: NodeMode
        switch observer ? .observer : state.mode {
        case .auto: mode = .auto
        case .expert: mode = .expert
        case .safe: mode = .safe
        case .observer: mode = .observer
        }
        let id = status?.node ?? (state.id == 0 ? nil : Int(state.id))
        let address = status?.address ?? (state.address == 0 ? nil : IPv4Address(state.address).description)
        let local = LocalNode(
            configuration: configuration, id: id, address: address.map { String($0.prefix { $0 != "/" }) },
            network: status?.network, mapLine: status?.map, mode: mode)
        let rows = state.nodes.map { node in
            var row = NodeRow(
                id: Int(node.id), address: node.addressText, state: NodeState(rawValue: node.state) ?? .down,
                load: node.load.loadAverage, cpus: Int(node.load.cpus),
                cpuPercent: Double(node.load.cpuPercent ?? 0),
                memoryUsedKiB: UInt64(node.load.memoryUsedMiB) * 1024,
                memoryTotalKiB: UInt64(node.load.memoryTotalMiB) * 1024,
                age: Double(node.age) / 1e9 + staleness)
            row.engine = node.load.engine.name
            row.engineJobs = Int(node.load.engineJobs)
            return row
        }
        let drops = state.counters.fields.filter { !$0.0.hasPrefix("accepted") && $0.1 > 0 }
            .map { DropCounter($0.0, UInt64($0.1)) }
        self.init(local: local, nodes: rows, drops: drops)
    }
}

/// The master's view: a member of the cluster that announces nothing of its own, only asks
/// the drones to send it their entries (`ClusterObserver`).
public final class ObserverSource: ClusterSource {
    let observer: ClusterObserver
    /// The network and port joined, as given (for messages).
    public let network: String
    public let port: UInt16

    /// Joins `network` (class C) with the key in `keyFile` (and, during a rotation, the one
    /// being replaced in `previousKeyFile`).
    public init(
        network: String, keyFile: String, previousKeyFile: String? = nil, port: UInt16 = ClusterEndpoint.defaultPort
    ) throws {
        let parts = network.split(separator: "/")
        guard parts.count == 2, let base = try? IPv4Address(parsing: String(parts[0])), Int(parts[1]) == 24 else {
            throw ClusterViewError(
                operation: "join", path: network, message: "give the cluster's class-C network, e.g. 10.0.2.0/24")
        }
        // Named on the command line, it must be there (the default one beside a drone's key may not).
        if let previousKeyFile, access(previousKeyFile, F_OK) != 0 {
            throw ClusterViewError(
                operation: "join", path: previousKeyFile, message: "no such file: give the key being replaced, or drop --previous-key")
        }
        self.network = network
        self.port = port
        var options = ClusterEndpoint.Options()
        options.port = port
        options.broadcast = base.value | 0xFF
        // The nodes feed a view only at the address it claims (never at a UDP source, which anyone
        // can forge): without one on the network, nobody would answer, and the view would say nothing.
        let own = Self.ownAddress(in: base.value)
        guard own != 0 else {
            throw ClusterViewError(
                operation: "join", path: network,
                message: "this host has no address in \(network): the nodes send a view its feed at the address it "
                    + "claims; give the interface on the cluster network one, e.g. `ip addr add "
                    + "\(IPv4Address(base.value | 0xFE))/24 dev IF`, or run the view on the master")
        }
        do {
            observer = try ClusterObserver(
                roster: Roster.classC(network: base.value), keyFile: keyFile, previousKeyFile: previousKeyFile,
                address: own, options: options)
        } catch {
            throw ClusterViewError(operation: "join the cluster", path: keyFile, message: "\(error)")
        }
    }

    /// This host's first IPv4 address in the class-C network `base`: the view claims it in its
    /// hellos, and the nodes feed it there (and nowhere else); 0 when it has none.
    static func ownAddress(in base: UInt32) -> UInt32 {
        InterfaceAddresses.ipv4().flatMap(\.addresses).filter { $0 & 0xFFFF_FF00 == base & 0xFFFF_FF00 }.min() ?? 0
    }

    public func snapshot() throws -> ClusterSnapshot {
        observer.poll(milliseconds: 0)
        return ClusterSnapshot(state: observer.snapshot(), observer: true)
    }
}

extension ObserverSource {
    /// Listens until membership settles or `waitSeconds` run out (see `JoinSettle`), then
    /// returns the cluster as heard, how the listening ended and how long it took (seconds).
    /// The quiet period is the observer's hello interval plus the nodes' feed interval: a node
    /// that missed the join hears the next hello and feeds the view within that.
    public func listen(
        waitSeconds: Double
    ) -> (snapshot: ClusterSnapshot, outcome: JoinSettle.Outcome, seconds: Double) {
        let config = observer.endpoint.options.config
        let start = Self.nanoseconds()
        var settle = JoinSettle(
            start: start, quiet: config.observerHello + config.viewInterval, cap: Int64(waitSeconds * 1e9))
        while true {
            let wait = min(settle.untilNextDecision(now: Self.nanoseconds()), 100_000_000)
            observer.poll(milliseconds: Int((wait + 999_999) / 1_000_000))
            let state = observer.snapshot()
            let now = Self.nanoseconds()
            if let outcome = settle.observe(now: now, ids: state.nodes.map { Int($0.id) }) {
                return (ClusterSnapshot(state: state, observer: true), outcome, Double(now - start) / 1e9)
            }
        }
    }

    /// The view loop's monotonic clock in nanoseconds (millisecond steps are plenty here).
    static func nanoseconds() -> Int64 { Int64(ViewLoop.monotonicMilliseconds()) * 1_000_000 }
}
