/// The cluster table as a text file (default `/run/clump/cluster`): what the cluster daemon
/// writes (atomically, by rename) about once a second and what `clumpview` reads. Text, so
/// `cat` and shell scripts can read it on a drone that has no other tools.
///
/// ```
/// # comments and blank lines are ignored
/// clump-cluster 1 written=1732350000.25
/// local configured=yes id=15 address=192.168.1.15 network=192.168.1.0/24 map="1 192.168.1.1 254" mode=auto
/// node id=1 address=192.168.1.1 state=up load=0.52 cpus=4 cpu=13 mem-used=1048576 mem-total=4194304 age=0.4
/// drop reason=bad-mac count=3
/// ```
///
/// - The first record is `clump-cluster 1` (the format version); `written` is the writer's
///   CLOCK_REALTIME in seconds. The reader adds the time since then to every `age`, so a
///   daemon that stopped writing shows as ages growing rather than as a frozen, healthy view.
/// - `local`: `configured` is `yes` or `no`; when `no`, `reason` is `no-card`, `no-carrier`,
///   `waiting-dhcp`, `not-attempted` or any words. `mode` is `auto`, `expert`, `safe` or
///   `master-observer`. `id`, `address`, `network` and `map` are optional.
/// - `node`: `id`, `address` and `state` (`up`, `down`, `expert`, `safe`) are required; `load`
///   (1-minute), `cpus`, `cpu` (percent), `mem-used` and `mem-total` (KiB) and `age`
///   (seconds) default to 0 (`cpus` to 1).
/// - `drop`: one per reason, in the order the footer shows them.
/// - Values are words, or double-quoted with `\"` and `\\` escapes. Unknown record types and
///   keys are skipped, so a newer writer can add fields without breaking an older view; a
///   missing required key or a malformed number is an error with its line.
public enum SnapshotFile {
    /// The format version this reader understands.
    public static let version = 1

    /// Parses the text of a snapshot file; `now` (CLOCK_REALTIME seconds) ages the entries.
    public static func parse(_ text: String, path: String = "cluster", now: Double? = nil) throws -> ClusterSnapshot {
        var snapshot = ClusterSnapshot(local: LocalNode(configuration: .notAttempted, mode: .auto))
        var written: Double?
        var sawVersion = false
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            func fail(_ message: String) -> ClusterViewError {
                ClusterViewError(operation: "parse", path: path, line: lineNumber, message: message)
            }
            guard let words = try tokens(rawLine, fail: fail), let kind = words.first else { continue }
            if !sawVersion && kind != "clump-cluster" {
                throw fail("the first record must be 'clump-cluster \(version)'")
            }
            guard ["clump-cluster", "local", "node", "drop"].contains(kind) else { continue }
            var fields: [String: String] = [:]
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "=") else {
                    if kind == "clump-cluster" && fields.isEmpty && !sawVersion {
                        guard word == String(version) else {
                            throw fail("format version \(word), this clumpview reads version \(version)")
                        }
                        sawVersion = true
                        continue
                    }
                    throw fail("'\(word)' is not key=value")
                }
                fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
            }
            func required(_ key: String) throws -> String {
                guard let value = fields[key] else { throw fail("\(kind) needs \(key)=") }
                return value
            }
            func number(_ key: String, default fallback: Double) throws -> Double {
                guard let text = fields[key] else { return fallback }
                guard let value = Double(text), value.isFinite else { throw fail("\(key)=\(text) is not a number") }
                return value
            }
            func integer<T: FixedWidthInteger>(_ key: String, default fallback: T) throws -> T {
                guard let text = fields[key] else { return fallback }
                guard let value = T(text) else { throw fail("\(key)=\(text) is not a whole number") }
                return value
            }
            switch kind {
            case "clump-cluster":
                guard sawVersion else { throw fail("clump-cluster needs the format version") }
                if fields["written"] != nil { written = try number("written", default: 0) }
            case "local":
                let configured = try required("configured")
                let configuration: Configuration
                switch (configured, fields["reason"]) {
                case ("yes", _): configuration = .configured
                case ("no", "no-card"): configuration = .noCard
                case ("no", "no-carrier"): configuration = .noCarrier
                case ("no", "waiting-dhcp"): configuration = .waitingForDHCP
                case ("no", "not-attempted"), ("no", nil): configuration = .notAttempted
                case ("no", let reason?): configuration = .failed(reason)
                default: throw fail("configured=\(configured): expected yes or no")
                }
                let modeText = try required("mode")
                guard let mode = NodeMode(rawValue: modeText) else {
                    throw fail("mode=\(modeText): expected auto, expert, safe or master-observer")
                }
                snapshot.local = LocalNode(
                    configuration: configuration, id: try fields["id"].map { _ in try integer("id", default: 0) },
                    address: fields["address"], network: fields["network"], mapLine: fields["map"], mode: mode)
            case "node":
                let stateText = try required("state")
                guard let state = NodeState(rawValue: stateText) else {
                    throw fail("state=\(stateText): expected up, down, expert or safe")
                }
                guard fields["id"] != nil else { throw fail("node needs id=") }
                snapshot.nodes.append(
                    NodeRow(
                        id: try integer("id", default: 0), address: try required("address"), state: state,
                        load: try number("load", default: 0), cpus: try integer("cpus", default: 1),
                        cpuPercent: try number("cpu", default: 0),
                        memoryUsedKiB: try integer("mem-used", default: 0),
                        memoryTotalKiB: try integer("mem-total", default: 0), age: try number("age", default: 0)))
            case "drop":
                snapshot.drops.append(DropCounter(try required("reason"), try integer("count", default: 0)))
            default:
                continue
            }
        }
        guard sawVersion else {
            throw ClusterViewError(
                operation: "parse", path: path, message: "empty: no 'clump-cluster \(version)' record")
        }
        if let written, let now, now > written {
            for index in snapshot.nodes.indices { snapshot.nodes[index].age += now - written }
        }
        return snapshot
    }

    /// The text of a snapshot file for `snapshot` (what the daemon writes; tests and the demo use it too).
    public static func encode(_ snapshot: ClusterSnapshot, written: Double? = nil) -> String {
        var out = "clump-cluster \(version)"
        if let written { out += " written=" + Format.fixed(written, decimals: 3) }
        out += "\n"
        let local = snapshot.local
        var line = "local"
        switch local.configuration {
        case .configured: line += " configured=yes"
        case .noCard: line += " configured=no reason=no-card"
        case .noCarrier: line += " configured=no reason=no-carrier"
        case .waitingForDHCP: line += " configured=no reason=waiting-dhcp"
        case .notAttempted: line += " configured=no reason=not-attempted"
        case .failed(let reason): line += " configured=no reason=" + quoted(reason)
        }
        if let id = local.id { line += " id=\(id)" }
        if let address = local.address { line += " address=" + quoted(address) }
        if let network = local.network { line += " network=" + quoted(network) }
        if let map = local.mapLine { line += " map=" + quoted(map) }
        out += line + " mode=" + local.mode.rawValue + "\n"
        for node in snapshot.nodes {
            out += "node id=\(node.id) address=" + quoted(node.address) + " state=" + node.state.rawValue
            out += " load=" + Format.fixed(node.load, decimals: 2) + " cpus=\(node.cpus)"
            out += " cpu=" + Format.fixed(node.cpuPercent, decimals: 1)
            out += " mem-used=\(node.memoryUsedKiB) mem-total=\(node.memoryTotalKiB)"
            out += " age=" + Format.fixed(node.age, decimals: 1) + "\n"
        }
        for drop in snapshot.drops { out += "drop reason=" + quoted(drop.reason) + " count=\(drop.count)\n" }
        return out
    }

    /// A value as a bare word when it can be one, else double-quoted.
    static func quoted(_ value: String) -> String {
        let bare = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
        if bare { return value }
        var out = "\""
        for character in value {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character == "\n" ? " " : character)
        }
        return out + "\""
    }

    /// Splits a line into words, honouring double quotes; nil for blank and comment lines.
    static func tokens(_ line: Substring, fail: (String) -> ClusterViewError) throws -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var inQuotes = false
        var escaped = false
        for character in line {
            if inQuotes {
                if escaped {
                    current.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inQuotes = false
                } else {
                    current.append(character)
                }
            } else if character == " " || character == "\t" || character == "\r" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else if character == "#" && !inWord && words.isEmpty {
                return nil
            } else {
                inWord = true
                if character == "\"" { inQuotes = true } else { current.append(character) }
            }
        }
        if inQuotes { throw fail("unterminated quote") }
        if inWord { words.append(current) }
        return words.isEmpty ? nil : words
    }
}
