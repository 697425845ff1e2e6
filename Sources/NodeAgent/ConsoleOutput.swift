import AgentSupport
import Glibc

/// Status lines on every active console at once. Each device is opened write-only and
/// O_NOCTTY (PID 1 must never acquire a controlling terminal: its shells need them).
public final class ConsoleOutput {
    private struct Target {
        var path: String
        var fd: Int32?
    }

    private var targets: [Target]

    /// Opens `<root>/dev/<name>` for every console; while none can be opened, lines go to
    /// stderr (the kernel opened /dev/console there for init).
    public init(consoles: [Console], root: String = "/") {
        targets = consoles.map { Target(path: rooted(root, "/dev/" + $0.outputDevice)) }
        for index in targets.indices { targets[index].fd = Self.open(targets[index].path) }
    }

    deinit {
        for target in targets { if let fd = target.fd { close(fd) } }
    }

    /// The devices being written to.
    public var paths: [String] { targets.map(\.path) }

    /// Writes one line to every console. When a shell's session ends, the kernel hangs up its
    /// terminal (`disassociate_ctty()` -> `tty_vhangup_session()`), and every open file of it,
    /// ours included, then fails with EIO: such a console is opened again and written once more.
    /// A console that still fails must not stop the others, so errors end there; when no
    /// console takes the line, it goes to stderr.
    public func line(_ text: String) {
        let bytes = text + "\n"
        var written = false
        for index in targets.indices {
            for attempt in 0..<2 {
                if targets[index].fd == nil || attempt > 0 {
                    if let fd = targets[index].fd { close(fd) }
                    targets[index].fd = Self.open(targets[index].path)
                }
                guard let fd = targets[index].fd else { break }
                if (try? SystemFile.writeAll(fd, bytes, path: targets[index].path)) != nil {
                    written = true
                    break
                }
            }
        }
        if !written { try? SystemFile.writeAll(STDERR_FILENO, bytes) }
    }

    /// Opens every console again. At shutdown, when the shells' sessions end, the kernel hangs
    /// up their terminals, and a serial port is shut down with them: writes through any file,
    /// /dev/console included, then go nowhere. A new open starts the port again; done before
    /// /dev is unmounted, the last lines of the shutdown still reach the screen and the line.
    public func reopen() {
        for index in targets.indices {
            if let fd = targets[index].fd { close(fd) }
            targets[index].fd = Self.open(targets[index].path)
        }
    }

    /// Waits until every console has sent what was written (`tcdrain`): a serial line sends
    /// from a buffer in the background, and after `reboot(2)` nothing sends it any more.
    public func drain() {
        for target in targets {
            if let fd = target.fd { _ = try? syscall("tcdrain", path: target.path) { tcdrain(fd) } }
        }
        _ = try? syscall("tcdrain", path: "stderr") { tcdrain(STDERR_FILENO) }
    }

    private static func open(_ path: String) -> Int32? {
        try? syscall("open", path: path) { Glibc.open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC) }
    }
}
