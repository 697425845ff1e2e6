/// How a node was booted (`clump.mode=` on the kernel command line), or that it only watches.
public enum NodeMode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case auto = 0
    case expert = 1
    case safe = 2
    /// A view that listens (the master's `clumpview`): it receives gossip but is no compute node.
    case observer = 3

    public init?(name: String) {
        guard let mode = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = mode
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .expert: return "expert"
        case .safe: return "safe"
        case .observer: return "observer"
        }
    }
}

/// Where a node's own configuration stands, as auto mode writes it to `/run/clump/status`.
public enum Configuration: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    case configured = 1
    case noCard = 2
    case noCarrier = 3
    case waitingForDHCP = 4

    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = state
    }

    public var description: String {
        switch self {
        case .unknown: return "unknown"
        case .configured: return "configured"
        case .noCard: return "no-card"
        case .noCarrier: return "no-carrier"
        case .waitingForDHCP: return "waiting-for-dhcp"
        }
    }
}

/// What one node says about itself: the payload of an announcement entry, in the units the
/// wire carries (so a value survives encoding unchanged and equality means "same on the wire").
public struct NodeLoad: Equatable, Sendable {
    /// The 1-minute load average times 100, saturating at 655.35.
    public var load100: UInt16 = 0
    /// CPU busy percent since the previous sample, 0...100; nil before there are two samples.
    public var cpuPercent: UInt8?
    /// Online CPUs, saturating at 255.
    public var cpus: UInt8 = 0
    /// Memory in use (MemTotal - MemAvailable) as a fraction of 255ths of the total.
    public var memoryUsed255: UInt8 = 0
    /// MemTotal in MiB, saturating at 65535 (64 GiB shows as "64G+").
    public var memoryTotalMiB: UInt16 = 0
    /// Uptime in minutes, saturating at 65535 (45 days).
    public var uptimeMinutes: UInt16 = 0
    /// Boot mode.
    public var mode: NodeMode = .auto
    /// Configuration state.
    public var configuration: Configuration = .unknown
    /// The kernel has MOSIX/openMosix (`/proc/hpc` or `/proc/mosix` exists).
    public var mosix: Bool = false
    /// The node's engine (Slurm) and the job steps it runs; `.none` without one.
    public var engine: EngineCode = .none
    /// Job steps running, saturating at 31 (what the datagram's engine byte holds).
    public var engineJobs: UInt8 = 0

    public init() {}

    /// Takes the rarely changing fields (cpus, memory total, uptime) of `other`: an entry without
    /// details keeps what an earlier one said.
    public mutating func takeDetails(of other: NodeLoad) {
        cpus = other.cpus
        memoryTotalMiB = other.memoryTotalMiB
        uptimeMinutes = other.uptimeMinutes
    }

    /// The load average as a number.
    public var loadAverage: Double { Double(load100) / 100 }
    /// Memory in use, MiB (from the 1/255 fraction).
    public var memoryUsedMiB: Int { Int(memoryTotalMiB) * Int(memoryUsed255) / 255 }
}

/// Saturating conversions into the wire's narrow fields.
extension FixedWidthInteger where Self: UnsignedInteger {
    @inline(__always) static func clamped(_ value: Int) -> Self {
        value <= 0 ? 0 : (value >= Int(Self.max) ? Self.max : Self(value))
    }
}

/// The engine's state as one node tells the others (3 bits of the datagram's engine byte).
public enum EngineCode: UInt8, Sendable, CaseIterable {
    case none = 0, idle, alloc, drain, down, starting

    /// From the state file's word (`idle`, `down`, ...); `.none` for no engine.
    public init(state: String?) {
        self = Self.allCases.first { $0 != .none && "\($0)" == state } ?? (state == nil ? .none : .down)
    }

    /// `idle`, `alloc`, `drain`, `down`, `starting`; nil without an engine.
    public var name: String? { self == .none ? nil : "\(self)" }
}
