import Glibc

/// Keeps one shell running on every console, like init with a getty per line: a shell that
/// ends is started again, after a pause when it keeps ending at once (`RespawnPolicy`).
/// Starting a process and the clock are passed in, so the logic is tested without processes.
public final class ShellSupervisor {
    /// One console's shell.
    public struct Slot: Equatable, Sendable {
        /// What to start.
        public var command: ShellCommand
        /// The running shell, if any.
        public var pid: pid_t?
        /// When it was started (monotonic nanoseconds).
        public var startedAt: Int64 = 0
        /// Quick exits in a row.
        public var quickExits = 0
        /// When to start it next, while it is not running.
        public var startAt: Int64? = 0
    }

    /// The slots, one per console.
    public private(set) var slots: [Slot]
    private let policy: RespawnPolicy
    private let spawn: (ShellCommand) throws -> pid_t
    private let say: (String) -> Void

    /// Creates a supervisor for `commands`; nothing starts before `startDue(now:)`.
    public init(
        commands: [ShellCommand],
        policy: RespawnPolicy = RespawnPolicy(),
        spawn: @escaping (ShellCommand) throws -> pid_t,
        say: @escaping (String) -> Void
    ) {
        self.slots = commands.map { Slot(command: $0) }
        self.policy = policy
        self.spawn = spawn
        self.say = say
    }

    /// A supervisor that starts real processes.
    public convenience init(commands: [ShellCommand], say: @escaping (String) -> Void) {
        self.init(commands: commands, spawn: ShellLauncher.spawn, say: say)
    }

    /// Starts every shell whose time has come.
    public func startDue(now: Int64) {
        for index in slots.indices {
            guard slots[index].pid == nil, let startAt = slots[index].startAt, startAt <= now else { continue }
            let command = slots[index].command
            do {
                slots[index].pid = try spawn(command)
                slots[index].startedAt = now
                slots[index].startAt = nil
            } catch {
                say("clump: cannot start a shell: \(error)")
                scheduleAfterExit(index, runtime: 0, now: now)
            }
        }
    }

    /// Records that `pid` ended; returns false when it was not one of the shells.
    @discardableResult
    public func childExited(pid: pid_t, status: ExitStatus, now: Int64) -> Bool {
        guard let index = slots.firstIndex(where: { $0.pid == pid }) else { return false }
        slots[index].pid = nil
        let runtime = now - slots[index].startedAt
        scheduleAfterExit(index, runtime: runtime, now: now)
        let delay = (slots[index].startAt ?? now) - now
        let ended = "clump: shell on \(slots[index].command.terminal) ended after \(seconds(runtime)) s (\(status))"
        say(ended + (delay == 0 ? "; starting a new one" : "; next try in \(seconds(delay)) s"))
        return true
    }

    /// The earliest time a shell is due to start, if one is waiting.
    public var nextStart: Int64? { slots.compactMap { $0.pid == nil ? $0.startAt : nil }.min() }

    /// Whole seconds, rounded up (a pause of 0.5 s reads "1 s").
    private func seconds(_ nanoseconds: Int64) -> Int64 { (nanoseconds + 999_999_999) / 1_000_000_000 }

    private func scheduleAfterExit(_ index: Int, runtime: Int64, now: Int64) {
        slots[index].quickExits = policy.isQuickExit(runtime: runtime) ? slots[index].quickExits + 1 : 0
        slots[index].startAt = now + policy.delay(quickExitsInARow: slots[index].quickExits)
    }
}
