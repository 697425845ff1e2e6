#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGTERM, SIGINT or SIGHUP once `StopSignals.install()` ran; the caller's loop then ends its child.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

/// The signals that stop a foreground command with a child (QEMU, dnsmasq): caught and recorded, so
/// the command can stop its child before it goes. They are unblocked first (a caller's thread may have
/// them blocked, and a child inherits the mask); SIGPIPE is ignored so a write to a closed output
/// fails with EPIPE instead of killing the command before it can stop its child.
public enum StopSignals {
    /// Catches SIGTERM, SIGINT and SIGHUP and ignores SIGPIPE.
    public static func install() {
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for stop in [SIGTERM, SIGINT, SIGHUP] {
            signal(stop) { stopRequested = $0 }
            sigaddset(&unblock, stop)
        }
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// The signal that asked to stop, or 0.
    public static var requested: Int32 { stopRequested }
}
