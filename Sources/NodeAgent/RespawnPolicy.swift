/// When to start a shell again after it ended, like getty under init: at once after a normal
/// session, with a growing pause when it keeps dying right away (a missing /bin/sh, a console
/// that cannot be opened), so a broken console does not spin PID 1.
public struct RespawnPolicy: Equatable, Sendable {
    /// A shell that ran for less than this counts as a quick exit.
    public var quickExitNanoseconds: Int64
    /// The pause after a quick exit.
    public var quickExitDelayNanoseconds: Int64
    /// After this many quick exits in a row, pause longer.
    public var backOffAfter: Int
    /// The longer pause.
    public var backOffDelayNanoseconds: Int64

    /// Creates a policy; the defaults suit a console shell.
    public init(
        quickExitNanoseconds: Int64 = 5_000_000_000,
        quickExitDelayNanoseconds: Int64 = 1_000_000_000,
        backOffAfter: Int = 5,
        backOffDelayNanoseconds: Int64 = 30_000_000_000
    ) {
        self.quickExitNanoseconds = quickExitNanoseconds
        self.quickExitDelayNanoseconds = quickExitDelayNanoseconds
        self.backOffAfter = backOffAfter
        self.backOffDelayNanoseconds = backOffDelayNanoseconds
    }

    /// Whether a shell that ran `runtime` nanoseconds exited "quickly".
    public func isQuickExit(runtime: Int64) -> Bool { runtime < quickExitNanoseconds }

    /// The pause before the next start, given how many quick exits in a row there were
    /// (counting the last one; 0 after a normal session).
    public func delay(quickExitsInARow: Int) -> Int64 {
        if quickExitsInARow == 0 { return 0 }
        return quickExitsInARow >= backOffAfter ? backOffDelayNanoseconds : quickExitDelayNanoseconds
    }
}
