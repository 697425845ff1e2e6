/// Who runs the view, which decides what ESC means.
public enum ViewRole: String, Equatable, Sendable {
    /// On a drone's console: ESC asks, then shuts the node down (the seed's "press [ESC] to
    /// exit the interface and shutdown").
    case drone
    /// On the master, or in a shell anywhere: ESC and `q` just quit.
    case master
}

/// A key, decoded from the terminal's bytes (see `KeyDecoder`).
public enum Key: Equatable, Sendable {
    case up, down, left, right, pageUp, pageDown, home, end, enter, escape
    /// A printable ASCII character or a control byte.
    case character(UInt8)
    /// The terminal answered a size query (CSI 8 ; rows ; columns t).
    case sizeReport(rows: Int, columns: Int)
    /// The terminal answered a cursor position query (CSI row ; column R).
    case cursorReport(row: Int, column: Int)
}

/// What the caller of the view must do after a key.
public enum ViewAction: Equatable, Sendable {
    /// Nothing beyond drawing the next frame.
    case none
    /// Leave the view.
    case quit
    /// The user confirmed: shut this node down (the caller owns how).
    case shutdown
}

/// The user's side of the view: what they chose to see. Pure data, changed only by `handle`.
public struct ViewState: Equatable, Sendable {
    public enum Layout: Equatable, Sendable {
        /// One row per node.
        case list
        /// One cell per node, for more nodes than rows.
        case grid
    }

    public enum SortKey: String, Equatable, Sendable, CaseIterable {
        /// By node number, ascending.
        case id
        /// Busiest first (load per CPU), down nodes last.
        case load
    }

    public var role: ViewRole
    /// The layout the user chose with `g`; nil until then: list when every node fits, else grid.
    public var chosenLayout: Layout?
    public var sortKey: SortKey
    /// The first list row or grid line shown.
    public var scroll: Int
    public var showsHelp: Bool
    /// The shutdown question is on screen.
    public var confirmsShutdown: Bool
    /// Job steps running on this node now (set by the loop from the engine's state).
    public var jobsRunning = 0
    /// The second question is on screen: jobs run here, shut down anyway?
    public var confirmsJobs = false

    public init(
        role: ViewRole, chosenLayout: Layout? = nil, sortKey: SortKey = .id, scroll: Int = 0,
        showsHelp: Bool = false, confirmsShutdown: Bool = false
    ) {
        self.role = role
        self.chosenLayout = chosenLayout
        self.sortKey = sortKey
        self.scroll = scroll
        self.showsHelp = showsHelp
        self.confirmsShutdown = confirmsShutdown
    }

    /// How far the body can scroll, as the renderer laid it out.
    public struct ScrollLimits: Equatable, Sendable {
        /// Lines that fit in the body at once.
        public var page: Int
        /// The largest useful `scroll`.
        public var maximum: Int

        public init(page: Int, maximum: Int) {
            self.page = max(page, 1)
            self.maximum = max(maximum, 0)
        }
    }

    /// Applies one key; `limits` come from `ClusterRenderer.scrollLimits` for the frame on screen.
    public mutating func handle(_ key: Key, limits: ScrollLimits, layoutShown: Layout) -> ViewAction {
        if confirmsShutdown {
            // Only an explicit yes shuts down; every other key is a no, so a stray key is harmless.
            confirmsShutdown = false
            let yes = key == .character(UInt8(ascii: "y")) || key == .character(UInt8(ascii: "Y"))
            // Jobs would die with the node: a yes to the first question asks a second one.
            if yes && jobsRunning > 0 && !confirmsJobs {
                confirmsJobs = true
                confirmsShutdown = true
                return .none
            }
            confirmsJobs = false
            return yes ? .shutdown : .none
        }
        switch key {
        case .up: scroll -= 1
        case .down: scroll += 1
        case .pageUp: scroll -= limits.page
        case .pageDown: scroll += limits.page
        case .home: scroll = 0
        case .end: scroll = limits.maximum
        case .escape:
            if showsHelp {
                showsHelp = false
            } else if role == .drone {
                confirmsShutdown = true
            } else {
                return .quit
            }
        case .character(let byte):
            switch byte {
            case UInt8(ascii: "q"), UInt8(ascii: "Q"): return .quit
            case UInt8(ascii: "s"), UInt8(ascii: "S"):
                let all = SortKey.allCases
                sortKey = all[((all.firstIndex(of: sortKey) ?? 0) + 1) % all.count]
                scroll = 0
            case UInt8(ascii: "g"), UInt8(ascii: "G"):
                chosenLayout = layoutShown == .list ? .grid : .list
                scroll = 0
                showsHelp = false
            case UInt8(ascii: "h"), UInt8(ascii: "H"), UInt8(ascii: "?"):
                showsHelp.toggle()
            case 0x0C:  // ctrl-L: the usual "redraw", handled by the loop; nothing changes here
                break
            default: break
            }
        case .left, .right, .enter, .sizeReport, .cursorReport: break
        }
        scroll = min(max(scroll, 0), limits.maximum)
        return .none
    }
}
