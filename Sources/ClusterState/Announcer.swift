import AgentSupport
import AutoMap
import DroneProtocol
import Glibc

/// The drone's announcement daemon (`clumpnode announce`): samples this node each second,
/// gossips with the others through a `ClusterEndpoint`, and writes what it knows to
/// `<root>/run/clump/cluster` (format: `ClusterSnapshot`) for `clumpview`.
public enum Announcer {
    public struct Options: Equatable, Sendable {
        /// Where /proc, /run/clump/status, /etc/mosix.map and the default key live.
        public var root = "/"
        public var port = ClusterEndpoint.defaultPort
        /// The cluster key; default `<root>/etc/clump/cluster.key`.
        public var keyFile: String?
        /// The key being rotated out; default `<root>/etc/clump/cluster.key.previous` when it exists.
        public var previousKeyFile: String?
        public var interface: String?
        /// Stop after this many seconds (tests); nil: run until killed.
        public var seconds: Int?
        /// Testing only: drop this percentage of received datagrams, to simulate a lossy network
        /// where `tc netem` is unavailable (`ClusterEndpoint.setDropPercent`).
        public var dropPercent: Double = 0

        public init() {}
    }

    /// Who this node is, from `/run/clump/status`, and who may exist, from the map.
    public struct Identity: Equatable {
        public var id: UInt16
        public var address: UInt32
        public var roster: Roster

        public static func == (lhs: Identity, rhs: Identity) -> Bool {
            lhs.id == rhs.id && lhs.address == rhs.address && lhs.roster.ids == rhs.roster.ids
                && lhs.roster.addresses == rhs.roster.addresses
        }
    }

    /// The identity once the node is configured; nil before (no `node=`/`address=` yet).
    /// The map is `<root>/etc/mosix.map`, else the status `map=` line, else Clump's class-C rule.
    public static func identity(status: NodeStatus?, root: String) -> Identity? {
        guard let node = status?.node, let id = UInt16(exactly: node), id != 0, let text = status?.address,
            let address = try? IPv4Address(parsing: String(text.split(separator: "/").first ?? ""))
        else { return nil }
        var roster: Roster?
        let mapFile = rooted(root, "/etc/mosix.map")
        if SystemFile.exists(mapFile) { roster = try? Roster.load(mapFile: mapFile) }
        if roster == nil, let line = status?.map, let map = try? ClusterMap(parsing: line, file: "status map=") {
            roster = Roster(map.expand().compactMap { entry in
                guard !entry.isAlias, case .address(let address) = entry.host else { return nil }
                return (UInt16(entry.id), address.value)
            })
        }
        return Identity(id: id, address: address.value, roster: roster ?? .classC(network: address.value))
    }

    /// The directed broadcast of `a.b.c.d/n` (`network=` in the status file): the limited
    /// broadcast 255.255.255.255 needs a default route to leave, a drone may have none.
    public static func broadcast(network: String?) -> UInt32 {
        guard let network else { return 0xFFFF_FFFF }
        let parts = network.split(separator: "/")
        guard parts.count == 2, let address = try? IPv4Address(parsing: String(parts[0])), let bits = Int(parts[1]),
            (0...32).contains(bits)
        else { return 0xFFFF_FFFF }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return address.value | ~mask
    }

    /// Runs until killed (or `options.seconds`); throws when the key or the socket fails.
    public static func run(_ options: Options, log: (String) -> Void) throws {
        let keyFile = options.keyFile ?? rooted(options.root, ImageFiles.clusterKey)
        let previous = options.previousKeyFile ?? rooted(options.root, ImageFiles.previousClusterKey)
        // A joined drone's keys change with each key epoch (the join writes them); the endpoint follows.
        var keyFiles = ClusterKeys.Watch(keyFile, previous: previous)
        let keys = try keyFiles.load()
        let start = monotonicNanoseconds()
        let end = options.seconds.map { start + Int64($0) * 1_000_000_000 }
        var status = NodeStatus.read(root: options.root)
        var waiting = false
        var identity = Self.identity(status: status, root: options.root)
        while identity == nil {
            if !waiting { log("clump: announce waits for this node's address in /run/clump/status") }
            waiting = true
            if let end, monotonicNanoseconds() >= end { return }
            usleep(500_000)
            status = NodeStatus.read(root: options.root)
            identity = Self.identity(status: status, root: options.root)
        }
        guard let identity else { return }
        var endpointOptions = ClusterEndpoint.Options()
        endpointOptions.port = options.port
        endpointOptions.interface = options.interface
        endpointOptions.dropPercent = options.dropPercent
        endpointOptions.broadcast = Self.broadcast(network: status?.network)
        let endpoint = try ClusterEndpoint(
            roster: identity.roster, id: identity.id, address: identity.address, keys: keys, keyFiles: keyFiles,
            options: endpointOptions)
        log(
            "clump: announcing node \(identity.id) \(IPv4Address(identity.address)) on UDP port \(options.port)"
                + " (\(identity.roster.count) nodes in the map)"
                + (options.dropPercent > 0 ? "; testing: dropping \(options.dropPercent) % of received datagrams" : ""))
        var sampler = LoadSampler(root: options.root)
        let output = rooted(options.root, "/run/clump/cluster")
        var nextSample = monotonicNanoseconds()
        var reported = false
        while true {
            let now = monotonicNanoseconds()
            if let end, now >= end { return }
            if now >= nextSample {
                nextSample = now + 1_000_000_000
                status = NodeStatus.read(root: options.root)
                endpoint.update(own: sampler.sample(status: status))
                var snapshot = endpoint.snapshot()
                snapshot.status = status
                snapshot.mode = status?.nodeMode ?? .auto
                snapshot.configuration = status?.configuration ?? .unknown
                do {
                    try SystemFile.writeAtomically(Array(snapshot.rendered().utf8), to: output)
                } catch {
                    if !reported { log("clump: announce cannot write the cluster table: \(error)") }
                    reported = true
                }
            }
            endpoint.poll(milliseconds: Int(max(0, (nextSample - monotonicNanoseconds()) / 1_000_000)))
        }
    }
}
