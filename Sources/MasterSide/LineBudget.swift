/// At most `perSecond` lines a second about machines nobody knows; the rest are counted, for one
/// summary line once that second is over. A flood then costs the admin's terminal a few lines.
struct LineBudget: Sendable {
    let perSecond: Int
    private var second: Double = -1
    private var shown = 0
    private var suppressed = 0

    init(perSecond: Int) { self.perSecond = perSecond }

    /// Whether a line may be shown at `now` (seconds of a monotonic clock); counted when not.
    mutating func admit(at now: Double) -> Bool {
        if now.rounded(.down) != second {
            second = now.rounded(.down)
            shown = 0
        }
        guard shown < perSecond else {
            suppressed += 1
            return false
        }
        shown += 1
        return true
    }

    /// How many lines were held back, once their second is over (then counting starts again); nil before.
    mutating func heldBack(at now: Double) -> Int? {
        guard suppressed > 0, now.rounded(.down) > second else { return nil }
        defer { suppressed = 0 }
        return suppressed
    }

    /// Whether the current second is over at `now`.
    func secondIsOver(at now: Double) -> Bool { now.rounded(.down) > second }
}
