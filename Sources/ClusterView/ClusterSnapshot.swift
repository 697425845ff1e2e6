import ClusterState

/// What the view shows: this node, every node the cluster knows of, and the announcements
/// that were dropped. Pure data: the cluster daemon (or a snapshot file, or the demo) fills
/// it, the renderer reads it.
public struct ClusterSnapshot: Equatable, Sendable {
    /// This node, for the header.
    public var local: LocalNode
    /// One row per node; order does not matter (the view sorts).
    public var nodes: [NodeRow]
    /// Announcements dropped since the daemon started, by reason (bad MAC, replay, ...).
    public var drops: [DropCounter]
    /// Set when the nodes are invented (`--demo`): the header says so, so nobody mistakes them.
    public var isDemo: Bool
    /// Set when the source could not be read: the header shows it instead of stale data.
    public var problem: String?
    /// This node's engine (Slurm), when the image has one.
    public var engine: EngineState?
    /// Job steps running on this node (the view asks twice before shutting down while there are any).
    public var engineJobs = 0

    public init(
        local: LocalNode, nodes: [NodeRow] = [], drops: [DropCounter] = [], isDemo: Bool = false,
        problem: String? = nil
    ) {
        self.local = local
        self.nodes = nodes
        self.drops = drops
        self.isDemo = isDemo
        self.problem = problem
    }
}

/// This node, as the header shows it.
public struct LocalNode: Equatable, Sendable {
    /// Whether autoconfiguration is done, and if not, what it waits for.
    public var configuration: Configuration
    /// The node number (the last octet of the address on a class-C map).
    public var id: Int?
    /// The address the cluster knows this node by (dotted quad).
    public var address: String?
    /// The network, as `a.b.c.0/24`.
    public var network: String?
    /// The map line (`1 a.b.c.1 254`), as written to /etc/mosix.map.
    public var mapLine: String?
    /// The boot mode (or the master's observer role).
    public var mode: NodeMode

    public init(
        configuration: Configuration, id: Int? = nil, address: String? = nil, network: String? = nil,
        mapLine: String? = nil, mode: NodeMode
    ) {
        self.configuration = configuration
        self.id = id
        self.address = address
        self.network = network
        self.mapLine = mapLine
        self.mode = mode
    }
}

/// How far this node's autoconfiguration got (the seed's "is this node configured").
public enum Configuration: Equatable, Sendable {
    /// Address, map and announcements are up.
    case configured
    /// No network card was found (no driver matched, or none present).
    case noCard
    /// Cards were found, none has a link.
    case noCarrier
    /// A link is up and DHCP has not answered yet.
    case waitingForDHCP
    /// Safe and expert modes do not configure anything by themselves.
    case notAttempted
    /// Anything else, said in words.
    case failed(String)

    /// The words the header shows.
    public var summary: String {
        switch self {
        case .configured: return "configured"
        case .noCard: return "not configured: no network card found"
        case .noCarrier: return "not configured: no carrier on any card (cable?)"
        case .waitingForDHCP: return "not configured: waiting for DHCP"
        case .notAttempted: return "not configured: no autoconfiguration in this mode"
        case .failed(let reason): return "not configured: " + reason
        }
    }
}

/// The boot mode of a node, or the master's role.
public enum NodeMode: String, Equatable, Sendable, CaseIterable {
    case auto
    case expert
    case safe
    /// The master: it watches and announces nothing.
    case observer = "master-observer"
}

/// One node, as one row of the list or one cell of the grid.
public struct NodeRow: Equatable, Sendable {
    /// The node number (unique in the cluster).
    public var id: Int
    /// Its address (dotted quad).
    public var address: String
    public var state: NodeState
    /// The 1-minute load average.
    public var load: Double
    /// Online CPUs.
    public var cpus: Int
    /// CPU utilisation over the last sample, 0 to 100.
    public var cpuPercent: Double
    /// Memory in use and in total, in KiB (as /proc/meminfo counts).
    public var memoryUsedKiB: UInt64
    public var memoryTotalKiB: UInt64
    /// Seconds since the information was measured on that node.
    public var age: Double
    /// The node's engine state (`idle`, `alloc`, `drain`, `down`, `starting`), nil without an engine.
    public var engine: String?
    /// Job steps running there.
    public var engineJobs = 0

    public init(
        id: Int, address: String, state: NodeState, load: Double = 0, cpus: Int = 1, cpuPercent: Double = 0,
        memoryUsedKiB: UInt64 = 0, memoryTotalKiB: UInt64 = 0, age: Double = 0
    ) {
        self.id = id
        self.address = address
        self.state = state
        self.load = load
        self.cpus = cpus
        self.cpuPercent = cpuPercent
        self.memoryUsedKiB = memoryUsedKiB
        self.memoryTotalKiB = memoryTotalKiB
        self.age = age
    }

    /// Load per CPU, the figure the colour thresholds apply to.
    public var loadPerCPU: Double { load / Double(max(cpus, 1)) }
}

/// A node's state as the cluster sees it.
public enum NodeState: String, Equatable, Sendable, CaseIterable {
    /// Announcing, in auto mode.
    case up
    /// No announcement for too long.
    case down
    /// Announcing, booted in expert mode.
    case expert
    /// Announcing, booted in safe mode.
    case safe
}

/// How many announcements were dropped for one reason.
public struct DropCounter: Equatable, Sendable {
    /// The reason, one word as the footer and JSON show it (`bad-mac`, `replay`, `truncated`).
    public var reason: String
    public var count: UInt64

    public init(_ reason: String, _ count: UInt64) {
        self.reason = reason
        self.count = count
    }
}
