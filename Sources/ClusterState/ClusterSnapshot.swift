import AgentSupport
import AutoMap

/// The cluster as one member sees it: what `clumpview` draws. The daemon writes it to
/// `/run/clump/cluster` every second; `ClusterObserver.snapshot()` returns it in-process.
///
/// File format (text, UTF-8, one record a line, fields separated by single spaces, written
/// atomically: temp file + rename, so a reader sees a whole table or the previous one):
///
/// ```
/// clump-cluster 1
/// self id=15 address=10.0.0.15 mode=auto configuration=configured observers=1
/// status state=configured
/// status node=15
/// status map=1 10.0.0.1 254
/// counters accepted=1200 accepted-previous-key=0 accepted-next-key=0 truncated=0 oversized=0 foreign=0 bad-mac=3 replayed=2 future=0 malformed=0
/// node id=1 address=10.0.0.1 state=up age-ms=350 load=0.52 cpu=13 cpus=4 mem-used-mib=812 mem-used-255=53 mem-total-mib=3906 uptime-min=61 mode=auto configuration=configured mosix=0
/// ```
///
/// A node with an engine (Slurm) has `engine=idle|alloc|drain|down|starting jobs=N` at the end.
///
/// `status` lines repeat `/run/clump/status`, one `key=value` each (its values may hold
/// spaces, so the rest of the line is the value). `cpu=-` before the node
/// has two samples. `state` is `up`, `down`, `expert` or `safe` (expert and safe nodes are up).
/// Readers ignore lines and fields they do not know: newer writers may add some.
public struct ClusterSnapshot: Equatable, Sendable {
    /// One node's row.
    public struct Node: Equatable, Sendable {
        public var id: UInt16
        /// IPv4 address as a number (a.b.c.d = a<<24 | ...); 0 when unknown.
        public var address: UInt32
        public var load: NodeLoad
        /// Age of the information, nanoseconds.
        public var age: Int64
        /// No fresh information for longer than the down timeout.
        public var down: Bool
        /// This node.
        public var isSelf: Bool

        public init(id: UInt16, address: UInt32, load: NodeLoad, age: Int64, down: Bool, isSelf: Bool) {
            self.id = id
            self.address = address
            self.load = load
            self.age = age
            self.down = down
            self.isSelf = isSelf
        }

        /// `up`, `down`, `expert` or `safe`.
        public var state: String {
            if down { return "down" }
            switch load.mode {
            case .expert: return "expert"
            case .safe: return "safe"
            default: return "up"
            }
        }

        public var addressText: String { IPv4Address(address).description }
    }

    /// This member's node id; 0 for a view.
    public var id: UInt16 = 0
    public var address: UInt32 = 0
    public var mode: NodeMode = .auto
    public var configuration: Configuration = .unknown
    /// `/run/clump/status` as read (nil when there is none).
    public var status: NodeStatus?
    public var counters = Authenticator.Counters()
    /// How many views this node sends to.
    public var observers = 0
    /// Every node known, in map order.
    public var nodes: [Node] = []

    public init() {}

    /// The file's text.
    public func rendered() -> String {
        var text = "clump-cluster 1\n"
        text += "self id=\(id) address=\(IPv4Address(address)) mode=\(mode) configuration=\(configuration)"
        text += " observers=\(observers)\n"
        for line in (status?.rendered() ?? "").split(separator: "\n") { text += "status \(line)\n" }
        text += "counters " + counters.fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + "\n"
        for node in nodes {
            let load = node.load
            text += "node id=\(node.id) address=\(node.addressText) state=\(node.state) age-ms=\(node.age / 1_000_000)"
            text += " load=\(Self.hundredths(Int(load.load100))) cpu=\(load.cpuPercent.map { "\($0)" } ?? "-")"
            text += " cpus=\(load.cpus) mem-used-mib=\(load.memoryUsedMiB) mem-used-255=\(load.memoryUsed255) mem-total-mib=\(load.memoryTotalMiB)"
            text += " uptime-min=\(load.uptimeMinutes) mode=\(load.mode) configuration=\(load.configuration)"
            text += " mosix=\(load.mosix ? 1 : 0)"
            if let engine = load.engine.name { text += " engine=\(engine) jobs=\(load.engineJobs)" }
            text += "\n"
        }
        return text
    }

    /// `152` -> `1.52`, without Foundation's formatting.
    static func hundredths(_ value: Int) -> String {
        let fraction = value % 100
        return "\(value / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    /// Reads the file's text back (the view on a drone, `clumpview --once`).
    public init(parsing text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), first == "clump-cluster 1" else {
            throw ClusterStateError(operation: "read the cluster table", hint: "the first line is not 'clump-cluster 1'")
        }
        var lineNumber = 1
        var statusLines: [String] = []
        defer { status = statusLines.isEmpty ? nil : try? NodeStatus(parsing: statusLines.joined(separator: "\n")) }
        while let line = lines.next() {
            lineNumber += 1
            let words = line.split(separator: " ")
            guard let kind = words.first else { continue }
            if kind == "status" {
                statusLines.append(String(line.dropFirst(7)))
                continue
            }
            var fields: [Substring: Substring] = [:]
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "=") else { continue }
                fields[word[..<equals]] = word[word.index(after: equals)...]
            }
            func integer<T: FixedWidthInteger>(_ key: Substring, _: T.Type) throws -> T {
                guard let raw = fields[key], let value = T(raw) else {
                    throw ClusterStateError(
                        operation: "read the cluster table", path: nil,
                        hint: "line \(lineNumber): '\(key)' is missing or not a number")
                }
                return value
            }
            func addressField(_ key: Substring) -> UInt32 {
                fields[key].flatMap { try? IPv4Address(parsing: String($0)) }?.value ?? 0
            }
            switch kind {
            case "self":
                id = try integer("id", UInt16.self)
                address = addressField("address")
                mode = fields["mode"].flatMap { NodeMode(name: String($0)) } ?? .auto
                configuration = fields["configuration"].flatMap { Configuration(name: String($0)) } ?? .unknown
                observers = (try? integer("observers", Int.self)) ?? 0
            case "counters":
                counters.accepted = (try? integer("accepted", Int.self)) ?? 0
                counters.acceptedPreviousKey = (try? integer("accepted-previous-key", Int.self)) ?? 0
                counters.acceptedNextKey = (try? integer("accepted-next-key", Int.self)) ?? 0
                counters.truncated = (try? integer("truncated", Int.self)) ?? 0
                counters.oversized = (try? integer("oversized", Int.self)) ?? 0
                counters.foreign = (try? integer("foreign", Int.self)) ?? 0
                counters.badMAC = (try? integer("bad-mac", Int.self)) ?? 0
                counters.replayed = (try? integer("replayed", Int.self)) ?? 0
                counters.malformed = (try? integer("malformed", Int.self)) ?? 0
            case "node":
                var load = NodeLoad()
                let loadText = fields["load"] ?? "0"
                let parts = loadText.split(separator: ".", omittingEmptySubsequences: false)
                let whole = Int(parts.first ?? "0") ?? 0
                let fraction = parts.count > 1 ? Int(parts[1].prefix(2)) ?? 0 : 0
                load.load100 = UInt16.clamped(whole * 100 + fraction)
                load.cpuPercent = fields["cpu"].flatMap { UInt8($0) }
                load.cpus = try integer("cpus", UInt8.self)
                load.memoryTotalMiB = try integer("mem-total-mib", UInt16.self)
                load.memoryUsed255 = try integer("mem-used-255", UInt8.self)
                load.uptimeMinutes = try integer("uptime-min", UInt16.self)
                load.mode = fields["mode"].flatMap { NodeMode(name: String($0)) } ?? .auto
                load.configuration = fields["configuration"].flatMap { Configuration(name: String($0)) } ?? .unknown
                load.mosix = fields["mosix"] == "1"
                load.engine = EngineCode(state: fields["engine"].map(String.init))
                load.engineJobs = fields["jobs"].flatMap { UInt8($0) } ?? 0
                let age = try integer("age-ms", Int64.self) * 1_000_000
                nodes.append(
                    Node(
                        id: try integer("id", UInt16.self), address: addressField("address"), load: load, age: age,
                        down: fields["state"] == "down", isSelf: false))
                if nodes[nodes.count - 1].id == id && id != 0 { nodes[nodes.count - 1].isSelf = true }
            default: continue
            }
        }
    }
}
