import Foundation
import TestSupport
import Testing

@testable import NetProbe

/// Two network namespaces, "server" and "client", joined by veth pairs; real dnsmasq on the
/// server side, our client on the other. Names are unique per test; `remove()` (call it in a
/// `defer`) kills what was started and deletes the namespaces, which deletes the veths.
///
/// Needs root, `ip` (iproute2) and `dnsmasq`; without them the test fails and says how to fix it.
/// Set CLUMP_CAPTURE_DIR to also record each client interface with tcpdump (for fixtures).
/// Sendable unchecked: a test hands it to one helper thread that starts a server later, while the
/// test only waits for its client; `remove()` runs after both.
final class TestNetwork: @unchecked Sendable {
    static let counter = Counter()
    let name: String
    let server: String
    let client: String
    let directory: URL
    var processes: [pid_t] = []
    var removed = false

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.withLock {
                value += 1
                return value
            }
        }
    }

    /// Checks the prerequisites; records a failure with the fix and returns nil when one is missing.
    static func make(_ scenario: String, sourceLocation: SourceLocation = #_sourceLocation) -> TestNetwork? {
        guard getuid() == 0 else {
            Issue.record(
                "namespace tests need root (network namespaces, veth, raw sockets): run `sudo swift test`",
                sourceLocation: sourceLocation)
            return nil
        }
        for (tool, package) in [("dnsmasq", "dnsmasq"), ("ip", "iproute2")] {
            let found = ["/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"].contains {
                FileManager.default.isExecutableFile(atPath: $0 + tool)
            }
            guard found else {
                Issue.record(
                    "namespace tests need \(tool): `apt-get install \(package)`", sourceLocation: sourceLocation)
                return nil
            }
        }
        do {
            return try TestNetwork(scenario)
        } catch {
            Issue.record("could not set up the test network: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    private init(_ scenario: String) throws {
        name = "clump-\(scenario)-\(getpid())-\(TestNetwork.counter.next())"
        server = name + "-s"
        client = name + "-c"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            try ip(["netns", "add", server])
            try ip(["netns", "add", client])
            try ip(["-n", server, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// A veth pair: `srvN` with `serverAddress/24` in the server namespace, `ethN` (down, no
    /// address, the given MAC) in the client namespace.
    func addLink(_ number: Int, serverAddress: String, mac: String) throws {
        try ip([
            "link", "add", "srv\(number)", "netns", server, "type", "veth", "peer", "name", "eth\(number)", "netns",
            client, "address", mac,
        ])
        try ip(["-n", server, "addr", "add", serverAddress + "/24", "dev", "srv\(number)"])
        try ip(["-n", server, "link", "set", "srv\(number)", "up"])
        if let dir = ProcessInfo.processInfo.environment["CLUMP_CAPTURE_DIR"] {
            try ip(["-n", client, "link", "set", "eth\(number)", "up"])
            try start(
                [
                    "ip", "netns", "exec", client, "tcpdump", "-i", "eth\(number)", "-U", "-w",
                    "\(dir)/\(name)-eth\(number).pcap", "udp",
                ], log: "tcpdump\(number)")
        }
    }

    /// Starts dnsmasq in the server namespace: DHCP only (--port=0), our temp files, logging, and
    /// no ping of a new address before offering it (that check costs 3 s per new client).
    @discardableResult
    func startDnsmasq(_ arguments: [String], tag: String = "dnsmasq") throws -> pid_t {
        let base = [
            "ip", "netns", "exec", server, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--bind-interfaces",
            "--port=0", "--log-dhcp", "--no-ping", "--dhcp-leasefile=\(directory.path)/\(tag).leases",
            "--pid-file=\(directory.path)/\(tag).pid",
        ]
        let pid = try start(base + arguments, log: tag)
        // dnsmasq exits at once on a bad option or a busy port: catch that here, with its words.
        Thread.sleep(forTimeInterval: 0.2)
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            processes.removeAll { $0 == pid }
            throw TestNetworkError("dnsmasq exited: \(log(tag))")
        }
        return pid
    }

    /// Starts a process with stdout and stderr to `<directory>/<tag>.log`.
    @discardableResult
    func start(_ argv: [String], log tag: String) throws -> pid_t {
        let pid = try Spawn.start(argv, output: directory.appendingPathComponent(tag + ".log").path)
        processes.append(pid)
        return pid
    }

    func log(_ tag: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(tag + ".log"), encoding: .utf8)) ?? "(no log)"
    }

    /// Runs `ip ARGS` and returns its output; throws with the output when it fails or takes over 10 s.
    @discardableResult
    func ip(_ arguments: [String]) throws -> String {
        try TestNetwork.run(["ip"] + arguments)
    }

    static func run(_ argv: [String], timeout: Double = 10) throws -> String {
        try Spawn.run(argv, timeout: timeout)
    }

    /// `ip -4 addr show dev X` / `ip -4 route` in the client namespace.
    func clientAddresses(_ interface: String) -> String {
        (try? ip(["-n", client, "-4", "addr", "show", "dev", interface])) ?? ""
    }
    func clientRoutes() -> String { (try? ip(["-n", client, "-4", "route"])) ?? "" }

    func remove() {
        if removed { return }
        removed = true
        for pid in processes { Spawn.stop(pid) }
        _ = try? TestNetwork.run(["ip", "netns", "del", client])
        _ = try? TestNetwork.run(["ip", "netns", "del", server])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a `DHCPClient` inside the client namespace, on a thread of its own (a network
    /// namespace is per thread: `setns` there, sockets opened there stay there), until `done`
    /// says so or `seconds` pass. Returns every event.
    func runClient(
        interfaces: [String], options: DHCPClient.Options = DHCPClient.Options(), seconds: Double,
        done: @escaping @Sendable ([DHCPEvent]) -> Bool
    ) async throws -> [DHCPEvent] {
        let namespace = client
        // The client's own `seconds` bound ends the thread, so the continuation always resumes.
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let log = EventLog()
                do {
                    try TestNetwork.enter(namespace)
                    let client = try DHCPClient(interfaces: interfaces, options: options)
                    try client.run(seconds: seconds) { event in
                        log.append(event)
                        return done(log.events) ? .stop : .keepRunning
                    }
                    continuation.resume(returning: log.events)
                } catch {
                    continuation.resume(throwing: TestNetworkError("\(error); events so far: \(log.events)"))
                }
            }
            thread.start()
        }
    }

    /// Runs `body` on a thread inside the client namespace.
    func inClientNamespace<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let namespace = client
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    try TestNetwork.enter(namespace)
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    static func enter(_ namespace: String) throws { try Namespace.enter(namespace) }
}

struct TestNetworkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [DHCPEvent] = []
    private var failure: Error?

    func append(_ event: DHCPEvent) { lock.withLock { stored.append(event) } }
    func fail(_ error: Error) { lock.withLock { failure = error } }
    var events: [DHCPEvent] { lock.withLock { stored } }
    var error: Error? { lock.withLock { failure } }
}

extension [DHCPEvent] {
    var bound: [DHCPLease] { compactMap { if case .bound(let lease) = $0 { lease } else { nil } } }
    var renewed: [DHCPLease] { compactMap { if case .renewed(let lease) = $0 { lease } else { nil } } }
    var naks: Int { filter { if case .nak = $0 { true } else { false } }.count }
    var offers: Int { filter { if case .offered = $0 { true } else { false } }.count }
    var noAnswers: Int { filter { if case .noAnswer = $0 { true } else { false } }.count }
    var failures: [DHCPEvent] { filter { if case .failed = $0 { true } else { false } } }
}
