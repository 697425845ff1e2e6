import DroneProtocol

/// How a drone runs Slurm's node side, as argv arrays and a reading of slurmd's log (pure).
///
/// munged first (slurmd authenticates every message with it), then `slurmd -Z`: a dynamic node
/// (Slurm 22.05) that fetches slurm.conf from the configless controller (`--conf-server`) and
/// registers itself under `-N NAME`, with the CPUs and memory it detects and the `--conf` line's
/// address and features. `-D` keeps it our child; `-vv` makes it log, on stderr, the controller's
/// answer to the registration (`_handle_node_reg_resp: slurmctld sent back N TRES`), which is how
/// we know the node is in.
public enum SlurmPlan {
    /// munged in the foreground; `socket` is where it listens; `keyFile` when the key is not the
    /// image's (a joining drone keeps it in RAM, where the join put it).
    public static func munged(socket: String, keyFile: String? = nil) -> [String] {
        ["/usr/sbin/munged", "--foreground", "--socket=\(socket)"] + (keyFile.map { ["--key-file=\($0)"] } ?? [])
    }

    /// `slurmd -D -Z --conf-server CONTROLLER -N NAME --conf "NodeAddr=ADDRESS Feature=..."`.
    public static func slurmd(_ settings: EngineSettings, name: String, address: String) -> [String] {
        var conf = "NodeAddr=\(address)"
        if !settings.features.isEmpty { conf += " Feature=" + settings.features.joined(separator: ",") }
        return [
            "/usr/sbin/slurmd", "-D", "-vv", "-Z", "--conf-server", settings.controller, "-N", name, "--conf", conf,
        ]
    }

    /// `scontrol update` that drains `name`, so the controller gives it no new job.
    public static func drain(name: String, reason: String) -> [String] {
        ["/usr/bin/scontrol", "update", "nodename=\(name)", "state=drain", "reason=\(reason)"]
    }

    /// `scontrol delete`: a dynamic node that leaves is removed rather than left behind as down.
    public static func delete(name: String) -> [String] {
        ["/usr/bin/scontrol", "delete", "nodename=\(name)"]
    }

    /// What a line of slurmd's log tells the operator.
    public enum Event: Equatable, Sendable {
        /// The controller accepted the registration.
        case registered
        /// Why the node is not in, for the console.
        case problem(String)
    }

    /// What one event changes: the console line to print and the state to record, each nil for none.
    public struct Step: Equatable, Sendable {
        public var line: String?
        public var state: String?
        public var reason: String?
    }

    /// Follows slurmd's events for the console and the state file. Before the controller has the
    /// node, a problem means it is not in (`down`). After, the controller has it until it says
    /// otherwise: slurmd logs a failed message to the controller (an epilog completion on a busy
    /// master, say) and retries it, so the problem is said once but the node stays what it was.
    public struct Progress: Equatable, Sendable {
        public let controller: String
        public let name: String
        public private(set) var registered = false
        private var lastProblem: String?

        public init(controller: String, name: String) {
            self.controller = controller
            self.name = name
        }

        public mutating func apply(_ event: Event) -> Step {
            switch event {
            case .registered:
                defer { registered = true; lastProblem = nil }
                if registered { return Step() }
                return Step(line: "clump: slurm registered with \(controller) as \(name)", state: "idle")
            case .problem(let reason):
                // slurmd retries on its own; say each new reason once.
                guard reason != lastProblem else { return Step() }
                lastProblem = reason
                if registered {
                    return Step(line: "clump: slurm: \(reason) (registered as \(name); slurmd retries)")
                }
                return Step(
                    line: "clump: slurm not registered with \(controller): \(reason)", state: "down", reason: reason)
            }
        }
    }

    /// Reads one line of slurmd's stderr; nil for lines of no interest.
    public static func event(in line: String) -> Event? {
        let has = { (words: String) in Self.find(words, in: line) }
        if has("_handle_node_reg_resp: slurmctld sent back") { return .registered }
        let rejected = [
            "Protocol authentication error", "Invalid authentication credential", "Munge decode failed",
            "Unable to decode credential", "auth_g_verify",
        ]
        if rejected.contains(where: has) {
            return .problem("the controller rejected this node's MUNGE credential: is the munge key the controller's?")
        }
        // slurmctld answers a credential it cannot decode by closing the connection, so slurmd's
        // configuration fetch sees no reply at all (its log says "Munge decode failed").
        if has("failed to fetch remote configs: Zero Bytes were transmitted or received") {
            return .problem(
                "the controller closed the connection unanswered, as it does for a MUNGE credential it cannot "
                    + "decode: is the munge key the controller's?")
        }
        let unreachable = [
            "Unable to contact slurm controller", "Connection refused", "connect failure", "No route to host",
        ]
        if unreachable.contains(where: has) {
            return .problem("controller unreachable")
        }
        if has("Unable to register") || has("fatal:") || has("failed to fetch remote configs") {
            return .problem(String(line.drop { $0 != ":" }.dropFirst().drop { $0 == " " }))
        }
        return nil
    }

    /// Whether `words` occurs in `line`, by bytes: the agent links without _StringProcessing, where
    /// `String.contains(String)` lives.
    static func find(_ words: String, in line: String) -> Bool {
        let needle = Array(words.utf8)
        let haystack = Array(line.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}
