import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a command stops a host program it started (QEMU, dnsmasq), so every one is stopped alike.
public enum HostProgram {
    /// SIGTERM, then SIGKILL if `process` is still there after `grace` seconds; waits for it.
    public static func stop(_ process: Process, grace: Double = 3) {
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
