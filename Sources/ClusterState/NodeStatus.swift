import AgentSupport
/// `/run/clump/status`, written by the agent's auto mode: `key=value` lines
/// (`state=configured|no-card|no-carrier|waiting-for-dhcp`, `node=`, `address=`, `network=`,
/// `map=`, `mode=`). Unknown keys are kept, so the view can show what a newer agent adds.
public struct NodeStatus: Equatable, Sendable {
    /// Every field, in file order.
    public var fields: [(key: String, value: String)] = []

    public init() {}

    /// Parses the text; lines without `=` are ignored.
    public init(parsing text: String) {
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
        }
    }

    /// Reads `<root>/run/clump/status`; an empty status when there is none yet.
    public static func read(root: String = "/") -> NodeStatus {
        NodeStatus(parsing: SystemFile.text(rooted(root, "/run/clump/status")) ?? "")
    }

    public subscript(key: String) -> String? { fields.last { $0.key == key }?.value }

    public var configuration: Configuration { self["state"].flatMap(Configuration.init(name:)) ?? .unknown }
    public var mode: NodeMode { self["mode"].flatMap(NodeMode.init(name:)) ?? .auto }
    public var node: UInt16? { self["node"].flatMap { UInt16($0) } }

    public static func == (lhs: NodeStatus, rhs: NodeStatus) -> Bool {
        lhs.fields.map { $0.key + "=" + $0.value } == rhs.fields.map { $0.key + "=" + $0.value }
    }
}
