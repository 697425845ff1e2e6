/// How long a one-shot join (`clumpview --once|--json --join`) listens before it prints.
///
/// A view that has just joined knows nobody; the nodes make themselves known over the next
/// moments (the answers to its join broadcast carry whole tables; a node that missed the join
/// feeds the view after its next hello, and every node feeds each view once a `viewInterval`).
/// So the listing waits until membership settles: at least one node heard and no new one for
/// `quiet`, a hello plus a feed interval after the last newcomer, but never longer than `cap`
/// (`--wait`). Pure: the caller passes the clock and the ids it sees.
public struct JoinSettle: Sendable {
    /// How the listening ended.
    public enum Outcome: Equatable, Sendable {
        /// Nodes were heard and no new one came for `quiet`.
        case settled
        /// Nodes were heard, and new ones were still coming when `cap` ran out.
        case capped
        /// Nobody answered within `cap`.
        case silent
    }

    /// No new node for this long (nanoseconds) after the last new one: settled.
    public let quiet: Int64
    /// The most it listens (nanoseconds), from `start`.
    public let cap: Int64
    /// When listening began (monotonic nanoseconds).
    public let start: Int64
    /// Every node id heard so far.
    public private(set) var heard: Set<Int> = []
    /// When the last new id was heard.
    public private(set) var lastNew: Int64?

    public init(start: Int64, quiet: Int64, cap: Int64) {
        self.start = start
        self.quiet = quiet
        self.cap = cap
    }

    /// Takes in the ids known at `now`; nil to keep listening, else how it ended.
    public mutating func observe(now: Int64, ids: some Sequence<Int>) -> Outcome? {
        let before = heard.count
        heard.formUnion(ids)
        if heard.count > before { lastNew = now }
        if let lastNew, now - lastNew >= quiet { return .settled }
        if now - start >= cap { return heard.isEmpty ? .silent : .capped }
        return nil
    }

    /// Nanoseconds until the next decision could change, for the poll's timeout: the end of the
    /// quiet period or the cap, whichever is sooner.
    public func untilNextDecision(now: Int64) -> Int64 {
        let capEnd = start + cap
        let quietEnd = lastNew.map { $0 + quiet } ?? capEnd
        return max(0, min(capEnd, quietEnd) - now)
    }
}
