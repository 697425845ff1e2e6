import AgentSupport
import Glibc

/// The engine's state on this node (`/run/clump/engine`, written by `clumpnode slurm`), as the
/// announcer carries it and the view shows it: `state=idle|alloc|drain|down|starting`, the node's
/// Slurm name, the controller, why it is down, and `registered=yes` once the controller had it.
public struct EngineState: Equatable, Sendable {
    /// Where the agent keeps it.
    public static let path = "/run/clump/engine"
    /// `idle`, `alloc`, `drain`, `down` or `starting`; nil when unknown.
    public var state: String?
    /// The node's name at the controller.
    public var name: String?
    /// `HOST[:PORT]` of the controller.
    public var controller: String?
    /// Why the node is down, when it is.
    public var reason: String?
    /// Whether the controller accepted the node in this boot (it keeps it until it is deleted).
    public var registered: Bool

    /// A state with nothing known.
    public init(
        state: String? = nil, name: String? = nil, controller: String? = nil, reason: String? = nil,
        registered: Bool = false
    ) {
        self.state = state
        self.name = name
        self.controller = controller
        self.reason = reason
        self.registered = registered
    }

    /// Reads `key=value` lines; unknown keys are ignored.
    public static func parse(_ text: String) -> EngineState {
        var result = EngineState()
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let value = String(line[line.index(after: equals)...])
            switch line[..<equals] {
            case "state": result.state = value
            case "name": result.name = value
            case "controller": result.controller = value
            case "reason": result.reason = value
            case "registered": result.registered = value == "yes"
            default: continue
            }
        }
        return result
    }

    /// The state file under `root`, or nil when the node has no engine.
    public static func read(root: String = "/") -> EngineState? {
        SystemFile.text(rooted(root, path)).map(parse)
    }

    /// Job steps running on this node: each has its own `slurmstepd` (slurmd forks one per step).
    public static func jobs(root: String = "/") -> Int {
        let proc = rooted(root, "/proc")
        guard let directory = opendir(proc) else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let first = name.first, first.isNumber else { continue }
            if SystemFile.text(proc + "/" + name + "/comm") == "slurmstepd\n" { count += 1 }
        }
        return count
    }

    /// The file's text.
    public var text: String {
        [
            ("state", state), ("name", name), ("controller", controller), ("reason", reason),
            ("registered", registered ? "yes" : nil),
        ]
        .compactMap { key, value in value.map { "\(key)=\($0)\n" } }.joined()
    }
}
