import Glibc
import AgentSupport

/// `reboot(2)` through glibc's wrapper; `<sys/reboot.h>` is not part of Swift's Glibc module.
/// The signature is `int reboot(int)`, whose calling convention matches Swift's on x86-64 and arm64.
@_silgen_name("reboot")
private func glibcReboot(_ command: Int32) -> Int32

/// The commands of `reboot(2)` (`<linux/reboot.h>`, LINUX_REBOOT_CMD_*; glibc's RB_* are the same numbers).
public enum RebootCommand {
    /// RB_AUTOBOOT: restart the machine.
    public static let restart: Int32 = 0x0123_4567
    /// RB_HALT_SYSTEM: stop the CPUs, power stays on.
    public static let halt: Int32 = Int32(bitPattern: 0xCDEF_0123)
    /// RB_POWER_OFF: switch off (the kernel halts instead when it cannot).
    public static let powerOff: Int32 = 0x4321_FEDC
    /// RB_DISABLE_CAD: ctrl-alt-del sends SIGINT to PID 1 instead of restarting at once.
    public static let disableCtrlAltDel: Int32 = 0
}

/// Calls `reboot(2)`; it returns only when the kernel refused (or for RB_DISABLE_CAD).
func reboot(_ command: Int32) throws {
    try syscall("reboot") { glibcReboot(command) }
}

/// Nanoseconds on CLOCK_MONOTONIC: the clock for deadlines, untouched by date changes.
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    _ = clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Sleeps for `milliseconds`, resuming after signals.
func sleep(milliseconds: Int) {
    var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}


/// The exit status of a child as `waitpid` reports it (the `WIFEXITED` family are macros Swift cannot import).
public struct ExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// The raw status word from `waitpid`.
    public var raw: Int32
    /// Wraps a raw status word.
    public init(raw: Int32) { self.raw = raw }
    /// The exit code, when the child exited.
    public var exitCode: Int32? { raw & 0x7F == 0 ? (raw >> 8) & 0xFF : nil }
    /// The signal that ended the child, when it was killed.
    public var signal: Int32? {
        let number = raw & 0x7F
        return number != 0 && number != 0x7F ? number : nil
    }
    public var description: String {
        if let exitCode { return "exit \(exitCode)" }
        if let signal { return "signal \(signal)" }
        return "status \(raw)"
    }
}
