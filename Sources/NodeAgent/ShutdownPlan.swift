import Glibc

/// How a shutdown ends.
public enum ShutdownKind: String, Equatable, Sendable, CaseIterable {
    /// Stop the CPUs; the power stays on (`halt`).
    case halt
    /// Switch the machine off (`poweroff`, ESC in clumpview).
    case powerOff = "poweroff"
    /// Restart the machine (`reboot`, ctrl-alt-del).
    case reboot

    /// The console line that starts the shutdown.
    public var announcement: String {
        switch self {
        case .halt: "clump: halting"
        case .powerOff: "clump: powering off"
        case .reboot: "clump: rebooting"
        }
    }

    /// The `reboot(2)` command that ends it.
    public var rebootCommand: Int32 {
        switch self {
        case .halt: RebootCommand.halt
        case .powerOff: RebootCommand.powerOff
        case .reboot: RebootCommand.restart
        }
    }
}

/// One step of a clean shutdown.
public enum ShutdownStep: Equatable, Sendable, CustomStringConvertible {
    /// Print a line on every console.
    case announce(String)
    /// `kill(-1, signal)`: every process but PID 1.
    case signalAll(Int32)
    /// Reap children until none is left or the time is up.
    case reap(milliseconds: Int)
    /// Open the consoles again: the shells' terminals were hung up when their sessions ended.
    case reopenConsoles
    /// Flush every filesystem (a drone has none on disk, but an operator may have mounted one).
    case sync
    /// Unmount a mount point, detaching it lazily when it is still busy.
    case unmount(String)
    /// The final `reboot(2)`.
    case reboot(ShutdownKind)
    /// Run a command and wait for it, at most `milliseconds` (the engine leaving its controller).
    case run([String], milliseconds: Int)

    public var description: String {
        switch self {
        case .announce(let line): "announce \(line)"
        case .signalAll(let signal): "kill -\(signal) -1"
        case .reap(let milliseconds): "reap for up to \(milliseconds) ms"
        case .reopenConsoles: "reopen consoles"
        case .sync: "sync"
        case .unmount(let target): "umount \(target)"
        case .reboot(let kind): "reboot(\(kind.rawValue))"
        case .run(let argv, let milliseconds): argv.joined(separator: " ") + " (at most \(milliseconds) ms)"
        }
    }
}

/// The clean shutdown, as a list: like sysvinit and busybox init, everyone gets SIGTERM and a
/// moment to finish, then SIGKILL; then sync and unmount in reverse mount order, then
/// `reboot(2)`. An interactive ash ignores SIGTERM, so the wait is short; SIGKILL ends it.
/// The consoles are opened again while /dev is still mounted, for the last lines.
public enum ShutdownPlan {
    /// How long processes get after SIGTERM.
    public static let termGraceMilliseconds = 2000
    /// How long to reap after SIGKILL (the kernel needs a moment to tear processes down).
    public static let killGraceMilliseconds = 1000

    /// How long each engine command may take: the controller may be gone.
    public static let engineMilliseconds = 5000

    /// The steps for `kind`, unmounting `mounted` (as mounted, in mount order) in reverse. With the
    /// engine on (`drain` names this node), the node is drained and removed from the controller first,
    /// while slurmd and the network still run, so no job is sent to a node that is going away.
    public static func steps(
        for kind: ShutdownKind, mounted: [MountOperation], drain: String? = nil
    ) -> [ShutdownStep] {
        var steps: [ShutdownStep] = [.announce(kind.announcement)]
        if let drain {
            steps += [
                .announce("clump: slurm: draining \(drain)"),
                .run(SlurmPlan.drain(name: drain, reason: "clump: \(kind.rawValue)"), milliseconds: engineMilliseconds),
                .run(SlurmPlan.delete(name: drain), milliseconds: engineMilliseconds),
            ]
        }
        steps += [
            .signalAll(SIGTERM),
            .reap(milliseconds: termGraceMilliseconds),
            .signalAll(SIGKILL),
            .reap(milliseconds: killGraceMilliseconds),
            .reopenConsoles,
            .sync,
        ]
        steps += mounted.reversed().map { .unmount($0.target) }
        if kind == .halt { steps.append(.announce("clump: halted")) }
        steps.append(.reboot(kind))
        return steps
    }
}
