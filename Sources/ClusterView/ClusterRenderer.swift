import ClusterState

/// Draws the view: a pure function of the cluster, the terminal size and the user's choices.
///
/// The screen: two header lines (this node; whether it is configured and its map line), a
/// column or legend line, the body (list rows, grid cells or help) and a footer with the keys
/// and the drop counters. The shutdown question is drawn over the middle.
public enum ClusterRenderer {
    /// Rows above the body (header, status, column titles) and below it (footer).
    static let headerRows = 3
    static let footerRows = 1

    /// Terminals smaller than this get one line saying so.
    static let minimumWidth = 20
    static let minimumHeight = 5

    /// Load per CPU below which a node is green, and below which it is yellow (red above):
    /// at 0.7 a node still has headroom, at 1.0 every CPU has a runnable task waiting.
    static let loadGreenBelow = 0.7
    static let loadYellowBelow = 1.0
    /// Memory in use, as a fraction, below which the bar is green, and below which yellow.
    static let memoryGreenBelow = 0.7
    static let memoryYellowBelow = 0.9
    /// Information older than this shows in yellow: announcements come every second, so three
    /// missed ones are worth a look before the node is declared down.
    static let staleAfterSeconds = 3.0

    /// The frame for `snapshot` on a `width` x `height` terminal.
    public static func render(_ snapshot: ClusterSnapshot, width: Int, height: Int, state: ViewState) -> Frame {
        var frame = Frame(width: width, height: height)
        guard width >= minimumWidth, height >= minimumHeight else {
            frame.put("clumpview: terminal too small", row: 0, column: 0)
            return frame
        }
        let nodes = sorted(snapshot.nodes, by: state.sortKey)
        let layout = self.layout(snapshot, width: width, height: height, state: state)
        let limits = scrollLimits(snapshot, width: width, height: height, state: state)
        let scroll = min(max(state.scroll, 0), limits.maximum)

        drawHeader(snapshot, into: &frame)
        if state.showsHelp {
            drawHelp(snapshot, role: state.role, scroll: scroll, into: &frame)
        } else if nodes.isEmpty {
            frame.put("no announcements yet", row: headerRows + 1, column: 2)
        } else if layout == .list {
            drawList(nodes, localID: snapshot.local.id, scroll: scroll, into: &frame)
        } else {
            drawGrid(nodes, localID: snapshot.local.id, scroll: scroll, into: &frame)
        }
        drawFooter(
            snapshot, state: state, layout: layout, nodeCount: nodes.count, scroll: scroll, page: limits.page,
            into: &frame)
        if state.confirmsShutdown {
            let jobs = state.jobsRunning == 1 ? "1 job runs" : "\(state.jobsRunning) jobs run"
            drawConfirmation(
                state.confirmsJobs ? "\(jobs) here: shut down anyway? y/n" : "Shut down this node? y/n", into: &frame)
        }
        return frame
    }

    /// The layout shown: the user's choice, or list when every node fits and grid when not.
    public static func layout(_ snapshot: ClusterSnapshot, width: Int, height: Int, state: ViewState)
        -> ViewState.Layout
    {
        if let chosen = state.chosenLayout { return chosen }
        return snapshot.nodes.count <= bodyRows(height: height) ? .list : .grid
    }

    /// How far the body of this frame scrolls, for `ViewState.handle`.
    public static func scrollLimits(_ snapshot: ClusterSnapshot, width: Int, height: Int, state: ViewState)
        -> ViewState.ScrollLimits
    {
        let page = bodyRows(height: height)
        let lines: Int
        if state.showsHelp {
            lines = helpLines(snapshot, role: state.role).count
        } else if layout(snapshot, width: width, height: height, state: state) == .list {
            lines = snapshot.nodes.count
        } else {
            let perLine = gridColumns(snapshot.nodes, width: width)
            lines = (snapshot.nodes.count + perLine - 1) / perLine
        }
        return ViewState.ScrollLimits(page: page, maximum: lines - page)
    }

    static func bodyRows(height: Int) -> Int { max(height - headerRows - footerRows, 1) }

    /// Nodes in display order: by id, or busiest first with down nodes after every live one.
    static func sorted(_ nodes: [NodeRow], by key: ViewState.SortKey) -> [NodeRow] {
        switch key {
        case .id:
            return nodes.sorted { $0.id < $1.id }
        case .load:
            return nodes.sorted { a, b in
                let aDown = a.state == .down
                let bDown = b.state == .down
                if aDown != bDown { return bDown }
                if a.loadPerCPU != b.loadPerCPU { return a.loadPerCPU > b.loadPerCPU }
                return a.id < b.id
            }
        }
    }

    // MARK: header and footer

    static func drawHeader(_ snapshot: ClusterSnapshot, into frame: inout Frame) {
        let local = snapshot.local
        let bar = Style(reverse: true)
        frame.paint(row: 0, column: 0, count: frame.width, style: bar)
        var title = " clump"
        if let id = local.id { title += "  node \(id)" }
        if let address = local.address { title += "  " + address }
        if let network = local.network { title += "  net " + network }
        title += "  mode " + local.mode.rawValue
        if let engine = snapshot.engine { title += "  slurm " + Self.engineSummary(engine, jobs: snapshot.engineJobs) }
        frame.put(title, row: 0, column: 0, style: bar)

        if snapshot.isDemo {
            let label = " DEMO DATA "
            frame.put(
                label, row: 0, column: max(frame.width - label.count, 0),
                style: Style(.yellow, bold: true, reverse: true))
        }

        let up = snapshot.nodes.filter { $0.state != .down }.count
        let down = snapshot.nodes.count - up
        var counts = "\(up) up"
        if down > 0 { counts += "  \(down) down" }
        counts += " "
        frame.put(counts, row: 1, column: frame.width - counts.count, style: Style(bold: true))
        if down > 0 {
            frame.paint(
                row: 1, column: frame.width - counts.count + String(up).count + 5, count: counts.count,
                style: Style(.red, bold: true))
        }

        if let problem = snapshot.problem {
            frame.put(" " + problem, row: 1, column: 0, style: Style(.red, bold: true))
        } else if local.configuration == .configured {
            frame.put(" configured", row: 1, column: 0, style: Style(.green))
            if let map = local.mapLine { frame.put("map: " + map, row: 1, column: 13) }
        } else {
            frame.put(" " + local.configuration.summary, row: 1, column: 0, style: Style(.red, bold: true))
        }
    }

    /// `idle`, `alloc 2 jobs`, `drain`, `down`: the engine's state as the header shows it.
    static func engineSummary(_ engine: EngineState, jobs: Int) -> String {
        let state = engine.state ?? "unknown"
        guard jobs > 0, state == "idle" || state == "alloc" else { return state }
        return "alloc \(jobs) job" + (jobs == 1 ? "" : "s")
    }

    static func drawFooter(
        _ snapshot: ClusterSnapshot, state: ViewState, layout: ViewState.Layout, nodeCount: Int, scroll: Int,
        page: Int, into frame: inout Frame
    ) {
        let row = frame.height - 1
        let quitHint = state.role == .drone ? "ESC shutdown" : "q quit"
        var keys = " h help  s sort:\(state.sortKey.rawValue)  g \(layout == .list ? "grid" : "list")  \(quitHint)"
        if state.showsHelp { keys = " h or ESC: back to the nodes" }
        frame.put(keys, row: row, column: 0, style: Style(.cyan))

        var right = ""
        let dropped = snapshot.drops.reduce(UInt64(0)) { $0 + $1.count }
        if dropped > 0 { right += "dropped \(dropped)  " }
        if !state.showsHelp && layout == .list && nodeCount > page {
            right += "\(scroll + 1)-\(min(scroll + page, nodeCount))/\(nodeCount) "
        }
        if !right.isEmpty {
            let column = max(frame.width - right.count, keys.count + 1)
            frame.put(right, row: row, column: column, style: Style(dropped > 0 ? .yellow : .normal))
        }
    }

    // MARK: list

    /// The list's columns at a given width: fixed fields plus two bars sharing what is left.
    struct ListColumns {
        static let fixed = 4 + 1 + 15 + 1 + 6 + 1 + 5 + 1 + 1 + 4 + 1 + 4 + 1 + 1 + 9 + 1 + 4
        let loadBar: Int
        let memoryBar: Int
        /// The SLURM column (`alloc 31j`), when a node has an engine; 0 otherwise.
        let engine: Int

        init(width: Int, engine: Bool = false) {
            self.engine = engine ? 9 : 0
            let spare = max(width - ListColumns.fixed - (engine ? self.engine + 1 : 0), 0)
            // Bars narrower than 4 cells ("[||]") say nothing: then they go.
            loadBar = spare / 2 >= 4 ? spare - spare / 2 : 0
            memoryBar = spare / 2 >= 4 ? spare / 2 : 0
        }
    }

    static func drawList(_ nodes: [NodeRow], localID: Int?, scroll: Int, into frame: inout Frame) {
        let columns = ListColumns(width: frame.width, engine: nodes.contains { $0.engine != nil })
        var title = "NODE " + Format.left("ADDRESS", 15) + " STATE  " + Format.left("LOAD", 6 + columns.loadBar)
        title += Format.right("CPU%", 4) + " " + Format.right("CPUS", 4) + " "
        title += Format.left("MEMORY", columns.memoryBar + 1 + 9) + " " + Format.right("AGE", 4)
        if columns.engine > 0 { title += " SLURM" }
        frame.put(title, row: headerRows - 1, column: 0, style: Style(bold: true))

        let rows = bodyRows(height: frame.height)
        for (offset, node) in nodes.dropFirst(scroll).prefix(rows).enumerated() {
            drawListRow(node, isLocal: node.id == localID, columns: columns, row: headerRows + offset, into: &frame)
        }
    }

    static func drawListRow(_ node: NodeRow, isLocal: Bool, columns: ListColumns, row: Int, into frame: inout Frame) {
        let base = Style(bold: isLocal)
        var x = 0
        func field(_ text: String, _ style: Style) {
            frame.put(text, row: row, column: x, style: style)
            x += text.count + 1
        }
        field(Format.right(String(node.id), 4), base)
        field(Format.left(node.address, 15), base)
        field(Format.left(node.state.rawValue, 6), Style(stateColour(node.state), bold: node.state == .down || isLocal))
        if node.state == .down {
            // Figures from a node that stopped talking would read as current: show none.
            field(Format.right("-", 5), base)
            x += columns.loadBar > 0 ? columns.loadBar + 1 : 0
            field(Format.right("-", 4), base)
            field(Format.right("-", 4), base)
            x += columns.memoryBar > 0 ? columns.memoryBar + 1 : 0
            field(Format.left("-", 9), base)
            field(Format.right(Format.age(node.age), 4), Style(.red, bold: isLocal))
            return
        }
        let loadStyle = Style(loadColour(node), bold: isLocal)
        field(Format.right(Format.fixed(node.load, decimals: 2), 5), loadStyle)
        if columns.loadBar > 0 {
            drawBar(
                fraction: node.loadPerCPU / loadYellowBelow, width: columns.loadBar, row: row, column: x,
                style: loadStyle, into: &frame)
            x += columns.loadBar + 1
        }
        field(Format.right(Format.fixed(node.cpuPercent, decimals: 0) + "%", 4), base)
        field(Format.right(String(node.cpus), 4), base)
        let memory = memoryFraction(node)
        let memoryStyle = Style(
            memory < memoryGreenBelow ? .green : memory < memoryYellowBelow ? .yellow : .red, bold: isLocal)
        if columns.memoryBar > 0 {
            drawBar(fraction: memory, width: columns.memoryBar, row: row, column: x, style: memoryStyle, into: &frame)
            x += columns.memoryBar + 1
        }
        field(Format.left(Format.memory(usedKiB: node.memoryUsedKiB, totalKiB: node.memoryTotalKiB), 9), base)
        let stale = node.age >= staleAfterSeconds
        field(Format.right(Format.age(node.age), 4), stale ? Style(.yellow, bold: isLocal) : base)
        // The engine's column, in clusters with one: `idle`, `alloc 2j`, `drain`, `down`.
        if columns.engine > 0, let engine = node.engine {
            field(Format.left(engine + (node.engineJobs > 0 ? " \(node.engineJobs)j" : ""), columns.engine), base)
        }
    }

    /// `[|||||     ]`: `|` rather than a block glyph, which serial consoles and the VT's
    /// default font may lack; the colour carries the threshold.
    static func drawBar(fraction: Double, width: Int, row: Int, column: Int, style: Style, into frame: inout Frame) {
        let inner = width - 2
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 1
        var filled = Int((clamped * Double(inner)).rounded())
        // Any load at all shows as one bar: an idle node and a barely busy one differ.
        if filled == 0 && clamped > 0.005 { filled = 1 }
        frame.put("[", row: row, column: column)
        frame.put(String(repeating: "|", count: filled), row: row, column: column + 1, style: style)
        frame.put("]", row: row, column: column + width - 1)
    }

    static func memoryFraction(_ node: NodeRow) -> Double {
        node.memoryTotalKiB == 0 ? 0 : Double(node.memoryUsedKiB) / Double(node.memoryTotalKiB)
    }

    static func loadColour(_ node: NodeRow) -> Style.Colour {
        let perCPU = node.loadPerCPU
        return perCPU < loadGreenBelow ? .green : perCPU < loadYellowBelow ? .yellow : .red
    }

    static func stateColour(_ state: NodeState) -> Style.Colour {
        switch state {
        case .up: return .green
        case .down: return .red
        case .expert: return .cyan
        case .safe: return .magenta
        }
    }

    // MARK: grid

    /// Columns of a grid cell: a space, the id right-aligned, a glyph for the load.
    static func gridCellWidth(_ nodes: [NodeRow]) -> Int {
        let widest = nodes.map { String($0.id).count }.max() ?? 3
        return max(widest, 3) + 2
    }

    static func gridColumns(_ nodes: [NodeRow], width: Int) -> Int { max(width / gridCellWidth(nodes), 1) }

    /// The glyph after a node's id in the grid, so the grid reads without colour too (a
    /// monochrome serial terminal, a log of the screen).
    static func gridGlyph(_ node: NodeRow) -> Character {
        switch node.state {
        case .down: return "x"
        case .expert: return "e"
        case .safe: return "s"
        case .up:
            let perCPU = node.loadPerCPU
            if perCPU < 0.1 { return "." }
            if perCPU < loadGreenBelow { return "-" }
            if perCPU < loadYellowBelow { return "+" }
            return "#"
        }
    }

    /// The grid's legend: each entry in the colour its cells take.
    static let gridLegend: [(String, Style)] = [
        ("load/CPU:", Style(bold: true)), (". <0.1", Style(.green)), ("- <0.7", Style(.green)),
        ("+ <1.0", Style(.yellow)), ("# busy", Style(.red)), ("x down", Style(.red, reverse: true)),
        ("e expert", Style(.cyan)), ("s safe", Style(.magenta)),
    ]

    static func drawGrid(_ nodes: [NodeRow], localID: Int?, scroll: Int, into frame: inout Frame) {
        var legendColumn = 1
        for (text, style) in gridLegend {
            frame.put(text, row: headerRows - 1, column: legendColumn, style: style)
            legendColumn += text.count + 2
        }
        let cell = gridCellWidth(nodes)
        let perLine = gridColumns(nodes, width: frame.width)
        let rows = bodyRows(height: frame.height)
        let shown = nodes.dropFirst(scroll * perLine).prefix(rows * perLine)
        for (index, node) in shown.enumerated() {
            let row = headerRows + index / perLine
            let column = (index % perLine) * cell
            let isLocal = node.id == localID
            let colour = node.state == .up ? loadColour(node) : stateColour(node.state)
            // Down nodes in reverse video: the one thing to see at a glance in 254 cells.
            let style = Style(colour, bold: isLocal, reverse: node.state == .down || isLocal)
            var text = Format.right(String(node.id), cell - 2)
            text.append(gridGlyph(node))
            frame.put(text, row: row, column: column + 1, style: style)
        }
    }

    // MARK: help and confirmation

    static func helpLines(_ snapshot: ClusterSnapshot, role: ViewRole) -> [(String, Style)] {
        let title = Style(bold: true)
        var lines: [(String, Style)] = [
            ("Keys", title),
            ("  up/down, PgUp/PgDn, Home/End   scroll", .plain),
            ("  s                              sort by node id, or by load (busiest first)", .plain),
            ("  g                              list, or grid (one cell per node)", .plain),
            ("  h or ?                         this help; h or ESC again to go back", .plain),
        ]
        if role == .drone {
            lines.append(("  ESC                            shut this node down (asks first)", .plain))
            lines.append(("  q                              leave the view, leave the node running", .plain))
        } else {
            lines.append(("  q or ESC                       quit", .plain))
        }
        lines += [
            ("", .plain),
            ("Colours", title),
            ("  load per CPU below 0.7", Style(.green)),
            ("  load per CPU below 1.0", Style(.yellow)),
            ("  load per CPU 1.0 and more, node down", Style(.red)),
            ("  expert mode", Style(.cyan)),
            ("  safe mode", Style(.magenta)),
            ("  AGE: seconds since the node measured it; yellow from 3 s", .plain),
            ("", .plain),
            ("Dropped announcements", title),
        ]
        if snapshot.drops.isEmpty {
            lines.append(("  none", .plain))
        } else {
            for drop in snapshot.drops {
                lines.append(("  " + Format.left(drop.reason, 16) + Format.right(String(drop.count), 12), .plain))
            }
        }
        return lines
    }

    static func drawHelp(_ snapshot: ClusterSnapshot, role: ViewRole, scroll: Int, into frame: inout Frame) {
        frame.put("Help", row: headerRows - 1, column: 1, style: Style(bold: true))
        let rows = bodyRows(height: frame.height)
        for (offset, line) in helpLines(snapshot, role: role).dropFirst(scroll).prefix(rows).enumerated() {
            frame.put(line.0, row: headerRows + offset, column: 1, style: line.1)
        }
    }

    static func drawConfirmation(_ question: String, into frame: inout Frame) {
        let boxWidth = min(question.count + 8, frame.width)
        let top = max((frame.height - 5) / 2, 0)
        let left = max((frame.width - boxWidth) / 2, 0)
        let style = Style(.yellow, bold: true, reverse: true)
        let border = "+" + String(repeating: "-", count: max(boxWidth - 2, 0)) + "+"
        let blank = "|" + String(repeating: " ", count: max(boxWidth - 2, 0)) + "|"
        frame.put(border, row: top, column: left, style: style)
        frame.put(blank, row: top + 1, column: left, style: style)
        frame.put("|" + Format.left("   " + question, boxWidth - 2) + "|", row: top + 2, column: left, style: style)
        frame.put(blank, row: top + 3, column: left, style: style)
        frame.put(border, row: top + 4, column: left, style: style)
    }
}
