import Glibc

/// The write end of the signal pipe, for the C handler (which can capture nothing). Set before
/// the handler is installed.
nonisolated(unsafe) private var terminalSignalPipe: Int32 = -1

/// The terminal as the view uses it: raw keys in, bytes out, its size, and the signals that
/// concern it (resize, and the ones that end the view). Everything it changes, `restore` puts back.
final class Terminal {
    let input: Int32
    let output: Int32
    private var saved: termios?
    private var signalRead: Int32 = -1
    private var previousActions: [(Int32, sigaction)] = []

    /// Resize, and the signals that must not leave the terminal raw (hang-up of a serial line,
    /// ctrl-C from another shell, `kill`).
    static let resize = SIGWINCH
    static let endSignals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    init(input: Int32 = 0, output: Int32 = 1) {
        self.input = input
        self.output = output
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Raw mode, alternate screen, hidden cursor, no autowrap; signals routed to the pipe.
    func enter() throws {
        var attributes = termios()
        try syscall("tcgetattr", path: "stdin") { tcgetattr(input, &attributes) }
        saved = attributes
        // Not cfmakeraw: output post-processing stays on (a message printed after a crash still
        // gets its carriage returns). ISIG off so ctrl-C and ctrl-Z arrive as keys: the view
        // decides what they mean, and a stopped view would leave the console raw.
        attributes.c_iflag &= ~tcflag_t(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON)
        attributes.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        attributes.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &attributes.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        try syscall("tcsetattr", path: "stdin") { tcsetattr(input, TCSAFLUSH, &attributes) }
        try installSignals()
        // 1049: alternate screen (the shell's screen comes back afterwards; the Linux VT ignores
        // it). ?25l: hide the cursor. ?7l: no autowrap, so the bottom-right cell never scrolls.
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[?7l")
    }

    /// Undoes `enter`; safe to call twice.
    func restore() {
        guard let attributes = saved else { return }
        write("\u{1B}[0m\u{1B}[2J\u{1B}[H\u{1B}[?7h\u{1B}[?25h\u{1B}[?1049l")
        var copy = attributes
        _ = tcsetattr(input, TCSAFLUSH, &copy)
        saved = nil
        for (signal, action) in previousActions {
            var old = action
            sigaction(signal, &old, nil)
        }
        previousActions = []
        if signalRead >= 0 {
            close(signalRead)
            close(terminalSignalPipe)
            signalRead = -1
            terminalSignalPipe = -1
        }
    }

    deinit { restore() }

    private func installSignals() throws {
        var ends: [Int32] = [-1, -1]
        try syscall("pipe", path: "signal pipe") { pipe(&ends) }
        for fd in ends {
            // Non-blocking: the handler must never block, and the loop drains until EAGAIN.
            try syscall("fcntl", path: "signal pipe") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
            try syscall("fcntl", path: "signal pipe") { fcntl(fd, F_SETFL, O_NONBLOCK) }
        }
        signalRead = ends[0]
        terminalSignalPipe = ends[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let savedErrno = errno
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = Glibc.write(terminalSignalPipe, &byte, 1)
            errno = savedErrno
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in [Self.resize] + Self.endSignals {
            var old = sigaction()
            try syscall("sigaction", path: "signal \(signal)") { sigaction(signal, &action, &old) }
            previousActions.append((signal, old))
            sigaddset(&unblock, signal)
        }
        // The signal mask is inherited across exec: a parent that blocked these (some test
        // runners and process supervisors do) would leave the view deaf to kill and resize.
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Waits until a key byte or a signal arrives, or `timeoutMilliseconds` pass; returns the bytes read
    /// (empty on timeout), the signals, and whether input ended (hang-up, EOF).
    func wait(timeoutMilliseconds: Int32) -> (bytes: [UInt8], signals: [Int32], ended: Bool) {
        var entries = [
            pollfd(fd: input, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signalRead, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&entries, 2, timeoutMilliseconds)
        guard ready > 0 else { return ([], [], false) }
        var signals: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        if entries[1].revents & Int16(POLLIN) != 0 {
            while true {
                let count = buffer.withUnsafeMutableBytes { read(signalRead, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                signals += buffer[0..<count].map { Int32($0) }
            }
        }
        var bytes: [UInt8] = []
        var ended = false
        if entries[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes = Array(buffer[0..<count])
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                ended = true
            }
        }
        return (bytes, signals, ended)
    }

    /// The size the kernel knows (TIOCGWINSZ); nil when it says 0x0, as serial consoles do.
    func kernelSize() -> (width: Int, height: Int)? {
        var size = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// Asks the terminal itself: the cursor position after moving to 999;999, which the
    /// terminal clamps to its last cell (DSR 6, answered by the Linux VT, serial terminals and
    /// every emulator). Not xterm's size report (CSI 18 t): fewer terminals answer it, and tmux
    /// 3.3 answers with width and height swapped. The answer arrives as a key (`.cursorReport`);
    /// a terminal that does not answer leaves the fallback size in place.
    func querySize() {
        write("\u{1B}7\u{1B}[999;999H\u{1B}[6n\u{1B}8")
    }

    func write(_ text: String) { write(Array(text.utf8)) }

    /// Writes every byte, resuming after signals and short writes.
    func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
            if count > 0 {
                offset += count
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && errno == EAGAIN {
                var entry = pollfd(fd: output, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1000)
            } else {
                return  // the terminal is gone; the loop notices on input
            }
        }
    }
}

/// The size to draw for: the kernel's, else `$COLUMNS`/`$LINES`, else 80x24 (a terminal
/// query may correct it later). Pure, for tests.
func fallbackSize(kernel: (width: Int, height: Int)?, columns: String?, lines: String?) -> (width: Int, height: Int) {
    if let kernel { return kernel }
    if let columns, let lines, let width = Int(columns), let height = Int(lines), width > 0, height > 0 {
        return (width, height)
    }
    return (80, 24)
}
