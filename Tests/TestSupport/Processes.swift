import Foundation

/// posix_spawn and waitpid for tests that start daemons (dnsmasq, `clumpnode announce`):
/// Foundation's Process notices exits on a dispatch source, which stalls when the test threads
/// are busy; this does not.
public enum Spawn {
    /// Starts `argv` (looked up in PATH) with stdout and stderr to `output`, stdin from /dev/null.
    ///
    /// The child gets an empty signal mask and default handlers: test threads block signals and a
    /// child inherits the mask, so a daemon would otherwise ignore the SIGTERM that stops it.
    public static func start(_ argv: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var terminate = sigset_t()
        sigemptyset(&terminate)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&terminate, signal) }
        posix_spawnattr_setsigdefault(&attributes, &terminate)
        var arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in arguments { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, &attributes, &arguments, environ)
        guard result == 0 else { throw TestSupportError("cannot start \(argv[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// The exit status (128 + N after signal N), or nil if the process still runs after
    /// `timeout` seconds.
    public static func wait(_ pid: pid_t, timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if result == -1 { return -1 }
            if Date() >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// SIGTERM, then SIGKILL when it has not gone after `grace` seconds; reaps it.
    public static func stop(_ pid: pid_t, grace: Double = 3) {
        kill(pid, SIGTERM)
        if wait(pid, timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = wait(pid, timeout: grace)
        }
    }

    /// Runs `argv` to the end and returns its output; throws with the output when it fails or
    /// takes over `timeout` seconds.
    @discardableResult
    public static func run(_ argv: [String], timeout: Double = 10) throws -> String {
        let (status, text) = try capture(argv, timeout: timeout)
        guard status == 0 else {
            throw TestSupportError("\(argv.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    /// Runs `argv` to the end: its exit status and output (stdout and stderr). Throws when it
    /// takes over `timeout` seconds.
    public static func capture(_ argv: [String], timeout: Double = 10) throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clump-run-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        ).path
        defer { unlink(output) }
        let pid = try start(argv, output: output)
        let status = wait(pid, timeout: timeout)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard let status else {
            stop(pid, grace: 1)
            throw TestSupportError("\(argv.joined(separator: " ")) took over \(Int(timeout)) s: \(text)")
        }
        return (status, text)
    }

    /// The drone agent the tests run: `$CLUMP_AGENT` (scripts/test builds the static one that
    /// goes into the image), else `clumpnode` from the build next to `bundle` (the test's own).
    public static func agent(nextTo bundle: Bundle) -> String {
        ProcessInfo.processInfo.environment["CLUMP_AGENT"]
            ?? bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("clumpnode").path
    }
}

/// Network namespaces made with `ip netns add`.
public enum Namespace {
    /// setns(2) into a named namespace for the calling thread. Glibc's Swift module does not
    /// export setns, so it is looked up at run time.
    public static func enter(_ namespace: String) throws {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
            throw TestSupportError("setns not found in libc")
        }
        let setns = unsafeBitCast(symbol, to: SetNS.self)
        let fd = open("/run/netns/" + namespace, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TestSupportError("open /run/netns/\(namespace): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let CLONE_NEWNET: Int32 = 0x4000_0000
        guard setns(fd, CLONE_NEWNET) == 0 else {
            throw TestSupportError("setns(\(namespace)): \(String(cString: strerror(errno)))")
        }
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
