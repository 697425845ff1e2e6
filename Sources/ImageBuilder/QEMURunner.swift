import Foundation
import HostTools

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a `QEMUPlan` with the serial console on this terminal (or pipe).
///
/// With a mode it answers the boot loader's `boot:` prompt for the user, so
/// `clumpbuild boot --mode expert` works on an ISO whose menu defaults to auto.
///
/// Stopping `clumpbuild boot` (SIGTERM, SIGINT, SIGHUP, its time limit, or the reader of its
/// output going away, as in `clumpbuild boot ... | grep -m1 'clump: node'`) stops QEMU too:
/// with its console pipes closed QEMU would otherwise run on, orphaned, for ever. Those signals
/// are unblocked first (a caller's thread may have them blocked, and a child inherits the
/// mask); SIGPIPE is ignored so a write to a closed pipe fails with EPIPE here instead of
/// killing this process before it can stop QEMU. A QEMU that ignores SIGTERM gets SIGKILL after
/// `grace` seconds.
public final class QEMURunner {
    private let plan: QEMUPlan
    private let mode: String?
    private let timeoutSeconds: Int?

    public init(plan: QEMUPlan, mode: String?, timeoutSeconds: Int?) {
        self.plan = plan
        self.mode = mode
        self.timeoutSeconds = timeoutSeconds
    }

    /// How long QEMU gets after SIGTERM before SIGKILL.
    static let grace = 3.0

    /// Boots and returns QEMU's exit status (124 when the time limit ended it, as timeout(1);
    /// 128 + N when signal N stopped this command; 141, as for SIGPIPE, when its output closed).
    public func run() throws -> Int32 {
        StopSignals.install()
        var plan = self.plan
        let varsCopy = try Self.copyVariableStore(plan)
        defer { if let varsCopy { try? FileManager.default.removeItem(atPath: varsCopy) } }
        if let varsCopy { plan.uefiVars = varsCopy }
        let argv = plan.arguments()
        let process = Process()
        process.executableURL = try locate(argv[0])
        process.arguments = Array(argv.dropFirst())
        let toQEMU = Pipe()
        let fromQEMU = Pipe()
        process.standardInput = toQEMU
        process.standardOutput = fromQEMU
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw ImageBuilderError.tool(
                argv[0], "could not start: \(error)", hint: "install it: apt-get install qemu-system-x86")
        }
        let terminal = RawTerminal(fd: STDIN_FILENO)
        defer { terminal?.restore() }

        let deadline = timeoutSeconds.map { Date().addingTimeInterval(TimeInterval($0)) }
        var prompt = PromptWatcher(answer: mode)
        let qemuOut = fromQEMU.fileHandleForReading.fileDescriptor
        let qemuIn = toQEMU.fileHandleForWriting.fileDescriptor
        var stdinOpen = true
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        loop: while true {
            if let deadline, Date() >= deadline {
                timedOut = true
                Self.stop(process)
                break
            }
            if StopSignals.requested != 0 {
                Self.stop(process)
                return 128 + StopSignals.requested
            }
            var fds = [pollfd(fd: qemuOut, events: Int16(POLLIN), revents: 0)]
            if stdinOpen { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), 200)
            if ready < 0 && errno != EINTR { break }
            if fds[0].revents != 0 {
                let n = read(qemuOut, &buffer, buffer.count)
                if n <= 0 { break loop }
                if !writeAll(STDOUT_FILENO, buffer[0..<n]) {
                    Self.stop(process)
                    return 128 + SIGPIPE
                }
                if let reply = prompt.feed(buffer[0..<n]) { writeAll(qemuIn, reply) }
            }
            if stdinOpen, fds.count > 1, fds[1].revents != 0 {
                let n = read(STDIN_FILENO, &buffer, buffer.count)
                if n <= 0 { stdinOpen = false } else { writeAll(qemuIn, buffer[0..<n]) }
            }
        }
        process.waitUntilExit()
        return timedOut ? 124 : process.terminationStatus
    }

    /// A private copy of OVMF's variable store for one run, or nil for a BIOS machine.
    static func copyVariableStore(_ plan: QEMUPlan) throws -> String? {
        guard plan.uefiVars == nil, let template = plan.varsTemplate, let code = plan.firmwareCode else { return nil }
        for file in [code, template] where !FileManager.default.fileExists(atPath: file) {
            throw ImageBuilderError.io("UEFI firmware missing", path: file, hint: "apt-get install ovmf")
        }
        let copy = NSTemporaryDirectory() + "clump-ovmf-vars-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).fd"
        try writeAtomically(try readFile(template), to: copy)
        return copy
    }

    /// SIGTERM, then SIGKILL if QEMU is still there after `grace`; waits for it.
    public static func stop(_ process: Process) { HostProgram.stop(process, grace: grace) }

    private func locate(_ program: String) throws -> URL {
        if let found = Executable.find(program) { return found }
        throw ImageBuilderError.tool(
            program, "not found on PATH", hint: "install it: apt-get install qemu-system-x86 ipxe-qemu")
    }

    /// False when `fd` no longer takes bytes (EPIPE: its reader is gone).
    @discardableResult
    private func writeAll<C: Collection>(_ fd: Int32, _ bytes: C) -> Bool where C.Element == UInt8 {
        var rest = Array(bytes)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            rest = rest.dropFirst(n)
        }
        return true
    }
}

/// Watches console output for the boot loader's menu and answers it once: syslinux's `boot:`
/// prompt with the mode's name, GRUB's menu with the mode's hotkey (the number its entry's title
/// starts with, `2  expert ...`).
struct PromptWatcher {
    private var answer: String?
    private var tail: [UInt8] = []
    private static let prompt = Array("boot:".utf8)

    init(answer: String?) { self.answer = answer }

    /// Feeds output; returns the bytes to type when the prompt has just appeared.
    mutating func feed<C: Collection>(_ bytes: C) -> [UInt8]? where C.Element == UInt8 {
        guard let answer else { return nil }
        tail += bytes
        if tail.count > 512 { tail.removeFirst(tail.count - 512) }
        if tail.windows(ofCount: Self.prompt.count).contains(where: { $0.elementsEqual(Self.prompt) }) {
            self.answer = nil
            // A serial terminal sends CR for Enter; syslinux reads it as end of line.
            return Array((answer + "\r").utf8)
        }
        let title = Array("  \(answer) ".utf8)
        for window in tail.windows(ofCount: title.count + 1) where window.dropFirst().elementsEqual(title) {
            guard let key = window.first, key >= UInt8(ascii: "1"), key <= UInt8(ascii: "9") else { continue }
            self.answer = nil
            return [key]
        }
        return nil
    }
}

extension Array {
    fileprivate func windows(ofCount n: Int) -> [ArraySlice<Element>] {
        guard count >= n else { return [] }
        return (0...(count - n)).map { self[$0..<($0 + n)] }
    }
}

/// Puts a terminal in raw mode for the guest's console, and restores it.
private final class RawTerminal {
    private let fd: Int32
    private var saved = termios()

    init?(fd: Int32) {
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        self.fd = fd
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(fd, TCSANOW, &raw)
    }

    func restore() { tcsetattr(fd, TCSANOW, &saved) }
}
