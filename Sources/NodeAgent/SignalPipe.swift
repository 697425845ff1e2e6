import AgentSupport
import Glibc

/// The write end of the signal pipe, for the C signal handler (which can capture nothing).
/// Set before any handler is installed and never changed after.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Signals as bytes on a pipe (the self-pipe trick): the handler only writes the signal number,
/// which is async-signal-safe, and the poll loop of PID 1 reads them and acts outside the
/// handler. (signalfd would do the same, but `<sys/signalfd.h>` is not in Swift's Glibc module.)
final class SignalPipe {
    private let readEnd: Int32

    /// Creates the pipe and installs the handler for `signals`.
    init(signals: [Int32]) throws {
        var ends: [Int32] = [-1, -1]
        try syscall("pipe") { pipe(&ends) }
        for fd in ends {
            try syscall("fcntl", path: "signal pipe") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
            // Non-blocking on both ends: the handler must never block, the loop drains until EAGAIN.
            let status = try syscall("fcntl", path: "signal pipe") { fcntl(fd, F_GETFL) }
            try syscall("fcntl", path: "signal pipe") { fcntl(fd, F_SETFL, status | O_NONBLOCK) }
        }
        readEnd = ends[0]
        signalPipeWriteEnd = ends[1]

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let savedErrno = errno
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(signalPipeWriteEnd, &byte, 1)
            errno = savedErrno
        }
        sigfillset(&action.sa_mask)
        for signal in signals {
            // SA_NOCLDSTOP: a stopped child is the shell's business, not ours.
            action.sa_flags = SA_RESTART | (signal == SIGCHLD ? SA_NOCLDSTOP : 0)
            try syscall("sigaction", path: "signal \(signal)") { sigaction(signal, &action, nil) }
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for signals and returns those that came.
    func wait(timeoutMilliseconds: Int32) -> [Int32] {
        var entry = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        _ = try? syscall("poll", path: "signal pipe") { poll(&entry, 1, timeoutMilliseconds) }
        return drain()
    }

    /// Reads every pending signal number.
    func drain() -> [Int32] {
        var signals: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count =
                (try? syscall("read", path: "signal pipe") {
                    buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                }) ?? 0
            if count <= 0 { break }
            signals += buffer[0..<count].map { Int32($0) }
        }
        return signals
    }
}
