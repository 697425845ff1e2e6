import AgentSupport
import AutoMap

/// What the announcer needs from the agent's status file (`AutoMap.NodeStatus`, which auto
/// mode writes to /run/clump/status).
extension NodeStatus {
    /// `<root>/run/clump/status`; nil while there is none (or it cannot be read yet).
    public static func read(root: String = "/") -> NodeStatus? {
        SystemFile.text(rooted(root, NodeStatus.path)).flatMap { try? NodeStatus(parsing: $0) }
    }

    /// The configuration state as announced; states the wire format has no code for are unknown.
    public var configuration: Configuration {
        switch state {
        case .configured: return .configured
        case .noCard: return .noCard
        case .noCarrier: return .noCarrier
        case .waitingForDHCP: return .waitingForDHCP
        case .probing, .off, .failed: return .unknown
        }
    }

    /// The boot mode as announced (auto when the file does not say).
    public var nodeMode: NodeMode { NodeMode(name: mode) ?? .auto }
}
