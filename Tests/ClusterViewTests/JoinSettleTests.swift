import Testing

@testable import ClusterView

/// When a one-shot join stops listening: settled (no newcomer for `quiet`), capped (newcomers
/// still arriving at `cap`), or silent (nobody by `cap`). Times in seconds for the tables.
@Suite struct JoinSettleTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// (seconds since the start, ids known then), in time order.
        var heard: [(Double, [Int])]
        /// How it ends and when (seconds), or nil when it has not ended after the last step.
        var outcome: JoinSettle.Outcome?
        var at: Double?
        var testDescription: String { name }
    }

    static let second: Int64 = 1_000_000_000

    @Test(arguments: [
        Case(
            name: "nobody: silent at the cap", heard: [(0, []), (5, []), (9.9, []), (10, [])],
            outcome: .silent, at: 10),
        Case(name: "nobody yet, before the cap", heard: [(0, []), (9.9, [])]),
        Case(
            name: "everyone at once: settled a quiet period after",
            heard: [(0.1, [1, 2, 3]), (1.5, [1, 2, 3]), (2.1, [1, 2, 3])],
            outcome: .settled, at: 2.1),
        Case(
            name: "a latecomer restarts the quiet period",
            heard: [(0.1, [1, 2]), (1.9, [1, 2, 3]), (2.2, [1, 2, 3]), (3.8, [1, 2, 3]), (3.9, [1, 2, 3])],
            outcome: .settled, at: 3.9),
        Case(
            name: "a node that goes away is still counted as heard", heard: [(0.1, [1, 2]), (1.0, [1]), (2.1, [1])],
            outcome: .settled, at: 2.1),
        Case(
            name: "newcomers until the cap: capped",
            heard: [
                (1, [1]), (2.5, [1, 2]), (4, [1, 2, 3]), (5.5, [1, 2, 3, 4]), (7, [1, 2, 3, 4, 5]),
                (8.5, [1, 2, 3, 4, 5, 6]), (10, [1, 2, 3, 4, 5, 6, 7]),
            ],
            outcome: .capped, at: 10),
    ])
    func outcome(_ test: Case) {
        var settle = JoinSettle(start: 0, quiet: 2 * Self.second, cap: 10 * Self.second)
        var ended: (JoinSettle.Outcome, Double)?
        for (time, ids) in test.heard {
            if let outcome = settle.observe(now: Int64(time * 1e9), ids: ids) {
                ended = (outcome, time)
                break
            }
        }
        #expect(ended?.0 == test.outcome)
        #expect(ended?.1 == test.at)
    }

    @Test func thePollWaitsNoLongerThanTheNextDecision() {
        var settle = JoinSettle(start: 0, quiet: 2 * Self.second, cap: 10 * Self.second)
        #expect(settle.untilNextDecision(now: 0) == 10 * Self.second)
        #expect(settle.observe(now: 3 * Self.second, ids: [4]) == nil)
        #expect(settle.untilNextDecision(now: 3 * Self.second) == 2 * Self.second)
        #expect(settle.untilNextDecision(now: 9 * Self.second) == 0)
        #expect(settle.heard == [4])
    }
}
