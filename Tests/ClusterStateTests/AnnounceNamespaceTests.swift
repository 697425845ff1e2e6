import Foundation
import Synchronization
import TestSupport
import Testing

@testable import ClusterState

/// 50 real `clumpnode announce` processes, each in its own network namespace on one bridge, an
/// in-process observer (the master's view) and a namespace that replays and forges datagrams
/// (root, iproute2). Loss is injected in the kernel with `--drop-percent` (a BPF socket filter):
/// no `tc netem` needed. Deadlines are generous; the printed times are the measure.
@Suite(.timeLimit(.minutes(4))) struct AnnounceNamespaceTests {
    static let nodes = 50
    static var stopped: Set<Int> { [3, 11, 22, 37, 49] }

    @Test func fiftyNodesAnObserverLossFailuresAndForgeries() throws {
        guard let net = GossipNetwork.make(nodes: Self.nodes) else { return }
        defer { net.remove() }
        try net.startObserver()
        try net.startForger()
        let started = Date()
        try net.startAnnouncers()

        // 1. Every view lists every node, up.
        let all = Set(1...Self.nodes)
        let seen = net.waitFor(seconds: 10) { net.everyViewSeesUp(all) }
        let took = Date().timeIntervalSince(started)
        print("namespace: \(Self.nodes) nodes in every view after \(String(format: "%.2f", took)) s")
        #expect(seen, "views after \(took) s: observer \(net.observerUp().count) up; \(net.diagnosis())")
        #expect(took <= 6, "every view lists \(Self.nodes) nodes within 3 s (6 s allowed here), took \(took) s")

        // 2. 5 % of the datagrams every member receives are dropped (the announcers restart one by
        // one with --drop-percent 5, the observer's socket gets the same filter): nobody is marked
        // down, in the observer or in any node's table, for 20 s.
        do {
            try net.setLoss(percent: 5)
        } catch {
            Issue.record("the 5 % loss phase cannot run: \(error)")
        }
        let rejoined = net.waitFor(seconds: 10) { net.everyViewSeesUp(all) }
        #expect(rejoined, "after the restart with loss: \(net.diagnosis()); observer \(net.observerCounters())")
        var falseDowns: [String] = []
        let lossEnd = Date().addingTimeInterval(20)
        var round = 0
        while Date() < lossEnd {
            let up = net.observerUp()
            if up != all { falseDowns.append("observer: missing \(all.subtracting(up).sorted())") }
            for node in stride(from: 1 + round % 5, through: Self.nodes, by: 5) {
                let up = net.upInFile(of: node)
                if up != all { falseDowns.append("node \(node): missing \(all.subtracting(up).sorted())") }
            }
            round += 1
            Thread.sleep(forTimeInterval: 0.25)
        }
        print("namespace: 20 s under 5 % loss, \(round) checks, \(falseDowns.count) false downs")
        #expect(falseDowns.count == 0, "false downs under 5 % loss, the first: \(falseDowns.prefix(5))")

        // 3. Stop 5 announcers (one in ten): every view marks them down.
        let stopped = Self.stopped
        let stoppedAt = Date()
        net.stop(stopped)
        let alive = all.subtracting(stopped)
        let marked = net.waitFor(seconds: 10) { net.everyViewSeesDown(stopped, up: alive) }
        let downAfter = Date().timeIntervalSince(stoppedAt)
        print("namespace: \(stopped.count) stopped nodes down in every view after \(String(format: "%.2f", downAfter)) s")
        #expect(marked, "after \(downAfter) s: \(net.diagnosis())")
        #expect(downAfter <= 8, "stopped nodes are down within 5 s (8 s allowed here), took \(downAfter) s")

        // 4. Replays of the stopped nodes' own datagrams and forgeries change nothing; counters go up.
        let before = net.observerCounters()
        let (replayed, forged) = try net.forge(claimingAlive: stopped)
        #expect(replayed > 0, "the forger captured nothing to replay")
        Thread.sleep(forTimeInterval: 2)
        let after = net.observerCounters()
        print("namespace: sent \(replayed) replays and \(forged) forgeries; observer counters \(after)")
        #expect(after.replayed > before.replayed)
        #expect(after.badMAC > before.badMAC)
        #expect(after.truncated > before.truncated)
        #expect(net.everyViewSeesDown(stopped, up: alive), "after the forgeries: \(net.diagnosis(of: stopped))")
    }
}

/// Namespaces `<prefix>-br` (a bridge), `<prefix>-N` (node N at 10.77.0.N), `<prefix>-o`
/// (observer, .200), `<prefix>-f` (forger, .201), `<prefix>-v` (a view started later, .202).
/// Everything is removed by `remove()`.
final class GossipNetwork: @unchecked Sendable {
    let prefix: String
    let count: Int
    let directory: URL
    let keyFile: String
    var pids: [Int: pid_t] = [:]
    var namespaces: [String] = []
    var observer: ClusterObserver!
    private let lock = NSLock()
    private var running = true
    private var observed = ClusterSnapshot()
    private var freshObserved = ClusterSnapshot()
    private var freshObserver: ClusterObserver?
    private var captured: [[UInt8]] = []
    private var forgerSocket: Int32 = -1
    /// A raw IPv4 socket in the forger's namespace: datagrams from any source address it likes.
    private var rawSocket: Int32 = -1
    private var threads: [Thread] = []
    /// Networks made so far in this process.
    private static let made = Mutex(0)
    /// The ARP table's limits as found, restored by `remove()`.
    private var neighbourLimits: [(path: String, value: String)] = []

    static func make(nodes: Int, sourceLocation: SourceLocation = #_sourceLocation) -> GossipNetwork? {
        guard getuid() == 0 else {
            Issue.record("namespace tests need root (network namespaces, veth, tc): run `sudo swift test`", sourceLocation: sourceLocation)
            return nil
        }
        for tool in ["ip"] where !["/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"].contains(where: { FileManager.default.isExecutableFile(atPath: $0 + tool) }) {
            Issue.record("namespace tests need \(tool): `apt-get install iproute2`", sourceLocation: sourceLocation)
            return nil
        }
        do {
            return try GossipNetwork(nodes: nodes)
        } catch {
            Issue.record("could not set up the test network: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    private init(nodes: Int) throws {
        count = nodes
        // Unique per network, not only per process: suites that each make one run side by side.
        prefix = "cs\(getpid() % 100000)-\(Self.made.withLock { made in made += 1; return made })"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("clump-gossip-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        keyFile = directory.appendingPathComponent("cluster.key").path
        let key = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try (key + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        do {
            try raiseNeighbourLimits(nodes: nodes)
            try addNamespace("\(prefix)-br")
            try Spawn.run(["ip", "-n", "\(prefix)-br", "link", "add", "br0", "type", "bridge"])
            try Spawn.run(["ip", "-n", "\(prefix)-br", "link", "set", "br0", "up"])
            for node in 1...nodes { try addHost("\(prefix)-\(node)", address: node, port: "n\(node)") }
            try addHost("\(prefix)-o", address: 200, port: "nobs")
            try addHost("\(prefix)-f", address: 201, port: "nfor")
            try addHost("\(prefix)-v", address: 202, port: "nfre")
        } catch {
            remove()
            throw error
        }
    }

    /// The kernel has one ARP table for all namespaces, and its limits (gc_thresh1-3) live in
    /// the initial one: 50 namespaces that each talk to 50 neighbours need 2,500 entries, past the
    /// default 1,024, and the kernel then drops what it cannot resolve ("neighbor table overflow"),
    /// so late starters looked cut off. One drone per machine needs at most 254.
    private func raiseNeighbourLimits(nodes: Int) throws {
        let needed = (nodes + 3) * (nodes + 3) * 2
        for (index, name) in ["gc_thresh1", "gc_thresh2", "gc_thresh3"].enumerated() {
            let path = "/proc/sys/net/ipv4/neigh/default/" + name
            let old = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let wanted = needed << index
            guard let current = Int(old), current < wanted else { continue }
            try "\(wanted)\n".write(toFile: path, atomically: false, encoding: .utf8)
            neighbourLimits.append((path, old))
        }
    }

    private func addNamespace(_ name: String) throws {
        try Spawn.run(["ip", "netns", "add", name])
        namespaces.append(name)
        try Spawn.run(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// A namespace with eth0 at 10.77.0.`address`/24, its veth peer on the bridge.
    private func addHost(_ name: String, address: Int, port: String) throws {
        try addNamespace(name)
        try Spawn.run(["ip", "link", "add", port, "netns", "\(prefix)-br", "type", "veth", "peer", "name", "eth0", "netns", name])
        try Spawn.run(["ip", "-n", "\(prefix)-br", "link", "set", port, "master", "br0", "up"])
        try Spawn.run(["ip", "-n", name, "addr", "add", "10.77.0.\(address)/24", "brd", "10.77.0.255", "dev", "eth0"])
        try Spawn.run(["ip", "-n", name, "link", "set", "eth0", "up"])
    }

    static var binary: String { Spawn.agent(nextTo: Bundle.module) }

    func root(of node: Int) -> URL { directory.appendingPathComponent("node\(node)") }

    func startAnnouncers() throws {
        for node in 1...count { try startAnnouncer(node) }
    }

    func startAnnouncer(_ node: Int) throws {
        let root = root(of: node)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("run/clump"), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: root.appendingPathComponent("proc").path) {
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("proc").path, withDestinationPath: "/proc")
        }
        try "state=configured\nnode=\(node)\naddress=10.77.0.\(node)\nnetwork=10.77.0.0/24\nmap=1 10.77.0.1 254\nmode=auto\n"
            .write(to: root.appendingPathComponent("run/clump/status"), atomically: true, encoding: .utf8)
        pids[node] = try Spawn.start(
            announce(node),
            output: directory.appendingPathComponent("node\(node).log").path)
    }

    /// Packets node `node`'s interface has sent, every kind (ARP too).
    func transmitted(by node: Int) throws -> Int {
        let text = try Spawn.run(["ip", "netns", "exec", "\(prefix)-\(node)", "cat", "/sys/class/net/eth0/statistics/tx_packets"])
        guard let packets = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSupportError("tx_packets of node \(node): \(text)")
        }
        return packets
    }

    /// Lets node `node` take datagrams from any source, also from off its network (no reverse-path
    /// filter): the attacker's best case, as on a LAN whose router does not filter.
    func acceptAnySource(_ node: Int) throws {
        for name in ["all", "default", "eth0"] {
            try Spawn.run(["ip", "netns", "exec", "\(prefix)-\(node)", "sysctl", "-qw", "net.ipv4.conf.\(name).rp_filter=0"])
        }
    }

    func stop(_ nodes: Set<Int>) {
        for node in nodes { if let pid = pids[node] { kill(pid, SIGTERM) } }
        for node in nodes { if let pid = pids[node] { _ = Spawn.wait(pid, timeout: 3); pids[node] = nil } }
    }

    /// Every member drops `percent` of what it receives: the observer's socket gets the filter
    /// now, each announcer restarts with `--drop-percent` (one at a time, so the others keep it up).
    func setLoss(percent: Int) throws {
        try observer.endpoint.setDropPercent(Double(percent))
        for node in 1...count {
            if let pid = pids[node] {
                kill(pid, SIGTERM)
                _ = Spawn.wait(pid, timeout: 3)
            }
            pids[node] = try Spawn.start(
                announce(node) + ["--drop-percent", "\(percent)"],
                output: directory.appendingPathComponent("node\(node).log").path)
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    private func announce(_ node: Int) -> [String] {
        ["ip", "netns", "exec", "\(prefix)-\(node)", Self.binary, "announce", "--root", root(of: node).path, "--key", keyFile]
    }

    /// Runs `setUp` on a new thread inside `namespace` (a namespace is per thread), then `step`
    /// over and over until `remove()`; throws what `setUp` threw.
    private func startThread(in namespace: String, setUp: @escaping @Sendable () throws -> Void, step: @escaping @Sendable () -> Void) throws {
        let ready = DispatchSemaphore(value: 0)
        // Written by the thread before `ready` is signalled, read after the wait.
        nonisolated(unsafe) var failure: Error?
        let thread = Thread { [self] in
            do {
                try Namespace.enter(namespace)
                try setUp()
            } catch {
                failure = error
            }
            ready.signal()
            guard failure == nil else { return }
            while lock.withLock({ running }) { step() }
        }
        thread.start()
        threads.append(thread)
        ready.wait()
        if let failure { throw failure }
    }

    /// The observer: the master's view, in its own namespace.
    func startObserver() throws {
        try startThread(in: "\(prefix)-o") { [self] in
            var options = ClusterEndpoint.Options()
            options.broadcast = 0x0A4D_00FF
            observer = try ClusterObserver(
                roster: .classC(network: 0x0A4D_0000), keyFile: keyFile, address: 0x0A4D_00C8, options: options)
        } step: { [self] in
            observer.poll(milliseconds: 50)
            let snapshot = observer.snapshot()
            lock.withLock { observed = snapshot }
        }
    }

    /// A second view, started late (a master's `clumpview` opened after the attack began), in
    /// its own namespace at .202.
    func startFreshView() throws {
        try startThread(in: "\(prefix)-v") { [self] in
            var options = ClusterEndpoint.Options()
            options.broadcast = 0x0A4D_00FF
            let view = try ClusterObserver(
                roster: .classC(network: 0x0A4D_0000), keyFile: keyFile, address: 0x0A4D_00CA, options: options)
            lock.withLock { freshObserver = view }
        } step: { [self] in
            guard let view = lock.withLock({ freshObserver }) else { return }
            view.poll(milliseconds: 50)
            let snapshot = view.snapshot()
            lock.withLock { freshObserved = snapshot }
        }
    }

    func freshViewUp() -> Set<Int> {
        Set(lock.withLock { freshObserved }.nodes.filter { !$0.down }.map { Int($0.id) })
    }

    /// Every datagram the forger has captured so far.
    func recordings() -> [[UInt8]] { lock.withLock { captured } }

    /// Sends `payload` to port 7077 at `destination` as if from `source` (a raw socket writes
    /// the IPv4 header; the kernel fills in its checksum; UDP checksum 0 is "none" in IPv4).
    func sendSpoofed(_ payload: [UInt8], from source: UInt32, to destination: UInt32) {
        var packet = [UInt8](repeating: 0, count: 28)
        let total = 28 + payload.count
        packet[0] = 0x45
        packet[2] = UInt8(total >> 8)
        packet[3] = UInt8(total & 0xFF)
        packet[8] = 64
        packet[9] = UInt8(IPPROTO_UDP)
        for index in 0..<4 {
            packet[12 + index] = UInt8(truncatingIfNeeded: source >> (24 - 8 * index))
            packet[16 + index] = UInt8(truncatingIfNeeded: destination >> (24 - 8 * index))
        }
        packet[20] = UInt8(7077 >> 8)
        packet[21] = UInt8(7077 & 0xFF)
        packet[22] = UInt8(7077 >> 8)
        packet[23] = UInt8(7077 & 0xFF)
        packet[24] = UInt8((8 + payload.count) >> 8)
        packet[25] = UInt8((8 + payload.count) & 0xFF)
        packet += payload
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = destination.bigEndian
        _ = packet.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(rawSocket, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// A datagram sealed with the cluster key, as only a holder of the key could make it.
    func sealed(_ datagram: Datagram, to destination: UInt32) throws -> [UInt8] {
        Authenticator(key: try ClusterKeys.load(keyFile).current).seal(datagram, to: destination)
    }

    /// The forger listens on the port from the start, keeping every datagram it hears (the
    /// nodes' broadcast joins, the views' hellos) to replay later.
    func startForger() throws {
        try startThread(in: "\(prefix)-f") { [self] in
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, 4)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(7077).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard fd >= 0, bound == 0 else { throw TestSupportError("forger socket: errno \(errno)") }
            forgerSocket = fd
            rawSocket = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
            guard rawSocket >= 0 else { throw TestSupportError("raw socket: errno \(errno)") }
            setsockopt(rawSocket, SOL_SOCKET, SO_BROADCAST, &one, 4)
        } step: { [self] in
            var entry = pollfd(fd: forgerSocket, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 2048)
            let count = recv(forgerSocket, &buffer, buffer.count, 0)
            if count > 0 { lock.withLock { captured.append(Array(buffer[0..<count])) } }
        }
    }

    /// Replays every captured datagram of `nodes` to the observer and to every node, and sends
    /// forgeries (a wrong key, a flipped MAC, a truncated one) claiming they are alive.
    func forge(claimingAlive nodes: Set<Int>) throws -> (replayed: Int, forged: Int) {
        let replays = lock.withLock { captured }.filter {
            guard case .success(let datagram) = Datagram.decode($0) else { return false }
            return nodes.contains(Int(datagram.sender))
        }
        var forgeries: [[UInt8]] = []
        let stranger = Authenticator(key: [UInt8](repeating: 1, count: 32))
        for node in nodes {
            var load = NodeLoad()
            load.configuration = .configured
            let datagram = Datagram(
                sender: UInt16(node), address: 0x0A4D_0000 | UInt32(node), incarnation: UInt32.max, sequence: 1,
                entries: [Datagram.Entry(id: UInt16(node), age20: 0, load: load)])
            forgeries.append(stranger.seal(datagram))
            var flipped = replays.first ?? stranger.seal(datagram)
            flipped[flipped.count - 1] ^= 0xFF
            forgeries.append(flipped)
            forgeries.append(Array(flipped.prefix(25)))
        }
        // Replayed as they were sent (broadcast), they pass the MAC and meet the replay windows;
        // sent to one node, they fail the MAC, which covers the destination.
        let targets = [200] + Array(1...count)
        for round in 0..<3 {
            for bytes in replays { send(bytes, to: 0x0A4D_00FF) }
            for target in targets {
                for bytes in replays + forgeries { send(bytes, to: 0x0A4D_0000 | UInt32(target)) }
            }
            if round < 2 { Thread.sleep(forTimeInterval: 0.5) }
        }
        return (replays.count * (targets.count + 1) * 3, forgeries.count * targets.count * 3)
    }

    private func send(_ bytes: [UInt8], to address: UInt32) {
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = UInt16(7077).bigEndian
        destination.sin_addr.s_addr = address.bigEndian
        _ = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(forgerSocket, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The observer's counters, from the snapshot its thread took (the observer is not shared).
    func observerCounters() -> Authenticator.Counters { lock.withLock { observed }.counters }

    func observerUp() -> Set<Int> {
        Set(lock.withLock { observed }.nodes.filter { !$0.down }.map { Int($0.id) })
    }

    func fileSnapshot(of node: Int) -> ClusterSnapshot? {
        let path = root(of: node).appendingPathComponent("run/clump/cluster").path
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { try? ClusterSnapshot(parsing: $0) }
    }

    func upInFile(of node: Int) -> Set<Int> {
        Set(fileSnapshot(of: node)?.nodes.filter { !$0.down }.map { Int($0.id) } ?? [])
    }

    func everyViewSeesUp(_ nodes: Set<Int>) -> Bool {
        guard observerUp() == nodes else { return false }
        return nodes.allSatisfy { upInFile(of: $0) == nodes }
    }

    func everyViewSeesDown(_ down: Set<Int>, up: Set<Int>) -> Bool {
        guard observerUp() == up else { return false }
        return up.allSatisfy { upInFile(of: $0) == up }
    }

    func diagnosis() -> String {
        let files = (1...count).filter { pids[$0] != nil }.prefix(3).map { node in
            let table = fileSnapshot(of: node)?.nodes.map { "\($0.id):\($0.down ? "down" : "up")@\($0.age / 1_000_000)" } ?? []
            return "node \(node): \(upInFile(of: node).count) up \(table)"
        }
        let logs = (1...2).map { (try? String(contentsOf: directory.appendingPathComponent("node\($0).log"), encoding: .utf8)) ?? "" }
        return "observer \(observerUp().count) up; \(files); logs: \(logs)"
    }

    /// How every view sees `nodes`.
    func diagnosis(of nodes: Set<Int>) -> String {
        let views = (1...count).filter { pids[$0] != nil }.map { node in
            let seen = fileSnapshot(of: node)?.nodes.filter { nodes.contains(Int($0.id)) }
                .map { "\($0.id) \($0.down ? "down" : "up") \($0.age / 1_000_000) ms" } ?? []
            return "node \(node): \(seen)"
        }
        return "observer up \(observerUp().sorted()); " + views.joined(separator: "; ")
    }

    func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    func remove() {
        lock.withLock { running = false }
        Thread.sleep(forTimeInterval: 0.2)
        stop(Set(pids.keys))
        if forgerSocket >= 0 { close(forgerSocket) }
        if rawSocket >= 0 { close(rawSocket) }
        for name in namespaces.reversed() { _ = try? Spawn.run(["ip", "netns", "del", name]) }
        namespaces = []
        // Highest first: the kernel wants gc_thresh1 <= gc_thresh2 <= gc_thresh3 on the way down too.
        for (path, value) in neighbourLimits.reversed() { try? "\(value)\n".write(toFile: path, atomically: false, encoding: .utf8) }
        neighbourLimits = []
        try? FileManager.default.removeItem(at: directory)
    }
}
