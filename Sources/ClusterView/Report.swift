import ClusterState

/// The one-shot outputs, for scripts and monitoring: `clumpview --once` (the table as text)
/// and `clumpview --json`.
public enum Report {
    /// The header and one row per node, every node (no scrolling), as the screen would show
    /// them at `width` columns; with `colour`, SGR sequences mark the same attributes as on
    /// screen (for a terminal), otherwise plain text (for a pipe or a file).
    public static func text(_ snapshot: ClusterSnapshot, width: Int = 80, colour: Bool = false) -> String {
        let width = max(width, ClusterRenderer.minimumWidth)
        let state = ViewState(role: .master, chosenLayout: .list)
        let height = max(snapshot.nodes.count, 1) + ClusterRenderer.headerRows + ClusterRenderer.footerRows
        let frame = ClusterRenderer.render(snapshot, width: width, height: height, state: state)
        // The footer lists keys, which mean nothing here; the drops get a line of their own.
        var out = ""
        for row in 0..<(frame.height - ClusterRenderer.footerRows) {
            out += colour ? coloured(frame, row: row) : frame.lines[row]
            out += "\n"
        }
        if !snapshot.drops.isEmpty {
            out += "dropped: " + snapshot.drops.map { "\($0.count) \($0.reason)" }.joined(separator: ", ") + "\n"
        }
        return out
    }

    /// One row with SGR attributes, trailing blanks dropped, attributes reset at the end.
    static func coloured(_ frame: Frame, row: Int) -> String {
        var end = frame.width
        while end > 0 && frame.characters[row * frame.width + end - 1] == 0x20
            && frame.styles[row * frame.width + end - 1] == .plain
        {
            end -= 1
        }
        var bytes: [UInt8] = []
        var current = Style.plain
        for column in 0..<end {
            let style = frame.styles[row * frame.width + column]
            if style != current {
                bytes += style.sgr
                current = style
            }
            bytes.append(frame.characters[row * frame.width + column])
        }
        if current != .plain { bytes += Style.plain.sgr }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The snapshot as JSON: one object, one node per line, keys in a fixed order.
    public static func json(_ snapshot: ClusterSnapshot) -> String {
        let local = snapshot.local
        var out = "{\n  \"version\": 1,\n  \"demo\": \(snapshot.isDemo),\n"
        if let problem = snapshot.problem { out += "  \"problem\": " + string(problem) + ",\n" }
        out += "  \"local\": {\"configured\": \(local.configuration == .configured)"
        if local.configuration != .configured { out += ", \"reason\": " + string(reason(local.configuration)) }
        if let id = local.id { out += ", \"id\": \(id)" }
        if let address = local.address { out += ", \"address\": " + string(address) }
        if let network = local.network { out += ", \"network\": " + string(network) }
        if let map = local.mapLine { out += ", \"map\": " + string(map) }
        out += ", \"mode\": " + string(local.mode.rawValue)
        if let engine = snapshot.engine {
            out += ", \"engine\": {\"kind\": \"slurm\", \"state\": "
                + string(engine.state == "idle" && snapshot.engineJobs > 0 ? "alloc" : engine.state ?? "unknown")
            out += ", \"jobs\": \(snapshot.engineJobs)"
            if let name = engine.name { out += ", \"name\": " + string(name) }
            if let controller = engine.controller { out += ", \"controller\": " + string(controller) }
            if let reason = engine.reason { out += ", \"reason\": " + string(reason) }
            out += "}"
        }
        out += "},\n"
        out += "  \"nodes\": ["
        for (index, node) in snapshot.nodes.sorted(by: { $0.id < $1.id }).enumerated() {
            out += index == 0 ? "\n" : ",\n"
            out += "    {\"id\": \(node.id), \"address\": " + string(node.address)
            out += ", \"state\": " + string(node.state.rawValue)
            out += ", \"load\": " + number(node.load, decimals: 2) + ", \"cpus\": \(node.cpus)"
            out += ", \"cpu_percent\": " + number(node.cpuPercent, decimals: 1)
            out += ", \"memory_used_kib\": \(node.memoryUsedKiB), \"memory_total_kib\": \(node.memoryTotalKiB)"
            out += ", \"age\": " + number(node.age, decimals: 1)
            if let engine = node.engine { out += ", \"engine\": " + string(engine) + ", \"jobs\": \(node.engineJobs)" }
            out += "}"
        }
        out += snapshot.nodes.isEmpty ? "],\n" : "\n  ],\n"
        out += "  \"drops\": {"
        out += snapshot.drops.map { string($0.reason) + ": \($0.count)" }.joined(separator: ", ")
        out += "}\n}\n"
        return out
    }

    /// The reason words, as in the snapshot file.
    static func reason(_ configuration: Configuration) -> String {
        switch configuration {
        case .configured: return ""
        case .noCard: return "no-card"
        case .noCarrier: return "no-carrier"
        case .waitingForDHCP: return "waiting-dhcp"
        case .notAttempted: return "not-attempted"
        case .failed(let words): return words
        }
    }

    /// JSON has no NaN or infinity: those become null.
    static func number(_ value: Double, decimals: Int) -> String {
        value.isFinite ? Format.fixed(value, decimals: decimals) : "null"
    }

    /// A JSON string literal (RFC 8259 section 7): quote, backslash and control characters escaped.
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = Array("0123456789abcdef")
                    out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 0xF)])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
