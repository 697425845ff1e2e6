import Glibc

/// What PID 1 does about a signal.
public enum SignalAction: Equatable, Sendable {
    /// A child changed state: reap (and respawn shells).
    case reapChildren
    /// Shut down cleanly, ending this way.
    case shutdown(ShutdownKind)
    /// Nothing (the agent keeps running).
    case ignore
}

/// Which signal means what to PID 1. The senders:
/// - busybox `halt`, `poweroff`, `reboot` (without -f) send SIGUSR1, SIGUSR2, SIGTERM to PID 1
///   (init/halt.c, `signals[]`), the protocol of busybox init that we speak;
/// - ctrl-alt-del, once `reboot(RB_DISABLE_CAD)` is set, makes the kernel send SIGINT to PID 1
///   (kernel/reboot.c, `ctrl_alt_del()`): a clean reboot instead of an instant one;
/// - SIGPWR comes from UPS daemons and `kill -PWR 1`: power off;
/// - SIGHUP is how sysvinit is told to reread its config; the agent has none, so it is ignored.
public enum SignalMap {
    /// The signals PID 1 installs a handler for; every other one keeps the kernel's default,
    /// which for PID 1 means it never arrives.
    public static let handled: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGPWR, SIGHUP]

    /// The action for `signal`.
    public static func action(for signal: Int32) -> SignalAction {
        switch signal {
        case SIGCHLD: .reapChildren
        case SIGUSR1: .shutdown(.halt)
        case SIGUSR2, SIGPWR: .shutdown(.powerOff)
        case SIGTERM, SIGINT: .shutdown(.reboot)
        default: .ignore
        }
    }
}
