import Glibc

/// The interactive view: draws, waits for keys or the next refresh, draws the difference.
/// Thin on purpose: what to draw is `ClusterRenderer`, what a key does is `ViewState`, what
/// bytes to send is `ScreenWriter`; this only moves data between them and the terminal.
public enum ViewLoop {
    /// How the view ended.
    public enum Outcome: Equatable, Sendable {
        /// The user quit (or a signal, or the terminal went away).
        case quit
        /// The user confirmed the shutdown question; the terminal is already restored.
        case shutdown
    }

    /// Runs until the user quits or confirms shutdown. The terminal is restored before it returns,
    /// so the caller's shutdown messages land on a sane console.
    public static func run(
        source: ClusterSource, role: ViewRole, refreshMilliseconds: Int = 1000, input: Int32 = 0, output: Int32 = 1
    ) throws -> Outcome {
        let terminal = Terminal(input: input, output: output)
        guard Terminal.isTerminal(input), Terminal.isTerminal(output) else {
            throw ClusterViewError(
                operation: "start", path: "stdin/stdout",
                message: "not a terminal; use --once or --json for a pipe or a file")
        }
        try terminal.enter()
        defer { terminal.restore() }

        var size = fallbackSize(
            kernel: terminal.kernelSize(), columns: getenv("COLUMNS").map { String(cString: $0) },
            lines: getenv("LINES").map { String(cString: $0) })
        // Trusted only while our own query is outstanding: CSI 1;2R is also Shift-F3.
        var awaitingSizeReply = false
        if terminal.kernelSize() == nil {
            terminal.querySize()
            awaitingSizeReply = true
        }

        var state = ViewState(role: role)
        var decoder = KeyDecoder()
        var writer = ScreenWriter()
        var snapshot = read(source, keeping: nil)
        var nextRefresh = monotonicMilliseconds() + refreshMilliseconds
        var escapeDeadline: Int?

        while true {
            let frame = ClusterRenderer.render(snapshot, width: size.width, height: size.height, state: state)
            terminal.write(writer.update(to: frame))

            let now = monotonicMilliseconds()
            var timeout = max(nextRefresh - now, 0)
            if let escapeDeadline { timeout = min(timeout, max(escapeDeadline - now, 0)) }
            let event = terminal.wait(timeoutMilliseconds: Int32(clamping: timeout))
            if event.ended { return .quit }

            for signal in event.signals {
                if Terminal.endSignals.contains(signal) { return .quit }
                if signal == Terminal.resize, let kernel = terminal.kernelSize() {
                    size = kernel
                    writer.invalidate()
                }
            }

            var keys = decoder.feed(event.bytes)
            if decoder.isWaiting {
                if escapeDeadline == nil {
                    escapeDeadline = monotonicMilliseconds() + Int(KeyDecoder.escapeTimeoutMilliseconds)
                } else if let deadline = escapeDeadline, monotonicMilliseconds() >= deadline {
                    keys += decoder.flush()
                    escapeDeadline = nil
                }
            } else {
                escapeDeadline = nil
            }

            state.jobsRunning = snapshot.engineJobs
            for key in keys {
                switch key {
                case .cursorReport(let row, let column) where awaitingSizeReply && row > 1 && column > 1:
                    size = (column, row)
                    awaitingSizeReply = false
                    writer.invalidate()
                    continue
                case .character(0x03):
                    // ctrl-C: ISIG is off in raw mode, so it arrives as a byte; it means quit everywhere.
                    return .quit
                case .character(0x0C):
                    writer.invalidate()  // ctrl-L: repaint everything (after a kernel message, say)
                default: break
                }
                let limits = ClusterRenderer.scrollLimits(
                    snapshot, width: size.width, height: size.height, state: state)
                let shown = ClusterRenderer.layout(snapshot, width: size.width, height: size.height, state: state)
                switch state.handle(key, limits: limits, layoutShown: shown) {
                case .none: break
                case .quit: return .quit
                case .shutdown: return .shutdown
                }
            }

            if monotonicMilliseconds() >= nextRefresh {
                snapshot = read(source, keeping: snapshot)
                // From the schedule, not from now: refreshes stay one a second however long drawing took,
                // and after a stall (a suspended VM) it skips ahead rather than catching up in a burst.
                nextRefresh = max(nextRefresh + refreshMilliseconds, monotonicMilliseconds())
            }
        }
    }

    /// The source's snapshot; its error becomes the header's problem line over the last data
    /// (whose ages then keep their last values: the problem line says why).
    public static func read(_ source: ClusterSource, keeping previous: ClusterSnapshot?) -> ClusterSnapshot {
        do {
            return try source.snapshot()
        } catch {
            var snapshot = previous ?? ClusterSnapshot(local: LocalNode(configuration: .notAttempted, mode: .auto))
            snapshot.problem = "no cluster data: \(error)"
            return snapshot
        }
    }

    static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000
    }
}
