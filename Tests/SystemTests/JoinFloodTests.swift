import AgentSupport
import Foundation
import Glibc
import JoinProtocol
import TPM
import TestSupport
import Testing

/// A LAN PC floods a running `clumpbuild serve --join-only` with join attempts, each a full Noise
/// handshake and a hello from invented MACs that then waits, while a TPM-bound node joins beside
/// it. Namespace clumpflood<pid>, network 10.70.0.0/24: no other test uses them.
@Suite(.serialized) struct JoinFloodTests {
    static let prefix = "10.70.0"
    static let attempts = 10_000
    /// Connections the flood keeps open at once: every machine waits (the policy is approve), so serve's
    /// pending list fills and it drops the oldest, as it must.
    static let keptOpen = 1_000
    static let boundMAC = "52:54:00:70:00:99"
    /// The addresses the flood comes from (as PCs on the LAN would: one address cannot hold more than 16
    /// unfinished handshakes, which throttles a flood from one PC by itself).
    static let sources = 200

    /// The namespace with a bridge holding the master's address, for serve to listen on.
    final class Network: @unchecked Sendable {
        let namespace = "clumpflood\(getpid())"

        init() throws {
            _ = try? Harness.run(["ip", "netns", "del", namespace])
            for step in [
                ["ip", "netns", "add", namespace],
                ["ip", "-n", namespace, "link", "set", "lo", "up"],
                ["ip", "-n", namespace, "link", "add", "br0", "type", "bridge"],
                ["ip", "-n", namespace, "addr", "add", "\(JoinFloodTests.prefix).1/24", "dev", "br0"],
                ["ip", "-n", namespace, "link", "set", "br0", "up"],
            ] + (2...JoinFloodTests.sources + 1).map { ["ip", "-n", namespace, "addr", "add", "\(JoinFloodTests.prefix).\($0)/32", "dev", "br0"] } {
                let (status, output) = try Harness.run(step)
                guard status == 0 else {
                    remove()
                    throw HarnessError("\(step.joined(separator: " ")) failed: \(output)")
                }
            }
        }

        func remove() { _ = try? Harness.run(["ip", "netns", "del", namespace]) }

        /// Runs `body` on a thread inside the namespace (setns moves that thread only) and returns its result.
        func inside<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) throws -> Result {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var outcome: Swift.Result<Result, Error> = .failure(HarnessError("never ran"))
            let namespace = namespace
            let thread = Thread {
                defer { done.signal() }
                outcome = Swift.Result {
                    try Namespace.enter(namespace)
                    return try body()
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
            done.wait()
            return try outcome.get()
        }
    }

    /// One drone's side of a join, on a blocking socket.
    struct Session {
        let fd: Int32
        var noise: NoiseXK
        var transport: Transport?
        var reader = FrameReader()

        init(master: [UInt8], source: String? = nil) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            self.fd = fd
            guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if let source {
                var local = sockaddr_in()
                local.sin_family = sa_family_t(AF_INET)
                inet_pton(AF_INET, source, &local.sin_addr)
                let bound = withUnsafePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard bound == 0 else {
                    let code = errno
                    close(fd)
                    throw HarnessError("bind \(source): \(String(cString: strerror(code)))")
                }
            }
            var peer = sockaddr_in()
            peer.sin_family = sa_family_t(AF_INET)
            peer.sin_port = JoinSettings.defaultPort.bigEndian
            inet_pton(AF_INET, "\(JoinFloodTests.prefix).1", &peer.sin_addr)
            let connected = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                let code = errno
                close(fd)
                throw HarnessError("connect: \(String(cString: strerror(code)))")
            }
            noise = .initiator(localStatic: .generate(), remoteStatic: master, prologue: JoinWire.prologue)
        }

        func send(_ bytes: [UInt8]) throws { try SystemFile.writeAll(fd, FrameReader.frame(bytes)) }

        mutating func frame() throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                if let frame = try reader.next() { return frame }
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { throw HarnessError("the master closed the session (\(count < 0 ? String(cString: strerror(errno)) : "EOF"))") }
                reader.append(buffer.prefix(count))
            }
        }

        mutating func handshake() throws {
            try send(noise.write())
            _ = try noise.read(try frame())
            try send(noise.write())
            transport = noise.split()
        }

        mutating func say(_ message: JoinMessage) throws { try send(transport!.seal(message.bytes)) }

        /// The next reply that is not a keep-alive.
        mutating func reply() throws -> JoinReply? {
            while true {
                let sealed = try frame()
                guard let message = transport!.open(sealed).flatMap(JoinMessage.parse) else { throw HarnessError("a reply that does not open") }
                if message.kind == JoinWire.keepAlive { continue }
                return JoinReply(message)
            }
        }
    }

    static func randomMAC() -> String {
        // Locally administered, unicast: what an attacker would invent.
        let bytes = [UInt8.random(in: 0...255) & 0xFC | 0x02] + (0..<5).map { _ in UInt8.random(in: 0...255) }
        return bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
    }

    static func peakMemoryKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    @Test("10,000 joins from invented MACs against serve: the inventory unchanged, at most 256 waiting, a summary line a second, and a TPM-bound node joins meanwhile")
    func flood() async throws {
        let work = try Harness.scratch("flood")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let tpm = try SoftwareTPM(directory: work + "/tpm")
        defer { tpm.stop() }
        let endorsementKey = try TPMAttestation(path: tpm.socket).endorsementKey
        let spec = work + "/clump.yaml"
        let out = work + "/out"
        try "cluster:\n  network: \(Self.prefix).0/24\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let inventory = "- {mac: \"\(Self.boundMAC)\", address: \(Self.prefix).99, tpm: \"\(TPMFingerprint.of(endorsementKey))\"}\n"
        try inventory.write(toFile: work + "/nodes.yaml", atomically: true, encoding: .utf8)
        let built = try Harness.run([try Harness.clumpbuild, "build", "--spec", spec, "--out", out], cwd: work)
        try #require(built.status == 0, "\(built.output)")
        let master = try #require(JoinKeyFile.keyPair(from: Array(try Data(contentsOf: URL(fileURLWithPath: work + "/join.key")))))

        let network = try Network()
        defer { network.remove() }
        let serve = try Console(
            "serve-flood", clumpbuild: ["serve", "--spec", spec, "--out", out, "--interface", "br0", "--join-only"],
            namespace: network.namespace)
        defer { _ = try? serve.stop() }
        try serve.expect("clump: serving joins only on 10\\.70\\.0\\.1 port 7078", within: 60)
        let (_, pids) = try Harness.run(["pgrep", "-f", "serve --spec \(spec)"])
        let pid = try #require(pids.split(separator: "\n").compactMap { Int32($0) }.first, "serve's pid")

        // The flood: handshake and hello, the connection left open (the oldest closed past `keptOpen`).
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let started = Date()
        final class Measure: @unchecked Sendable { var memoryAfterFirstThousand: Int? }
        let measure = Measure()
        let flood = Task.detached {
            try network.inside { () throws -> Int in
                var open: [Int32] = []
                var failures = 0
                for attempt in 0..<Self.attempts {
                    do {
                        let source = "\(Self.prefix).\(2 + attempt % Self.sources)"
                        var session = try Session(master: master.publicKey, source: source)
                        open.append(session.fd)
                        try session.handshake()
                        try session.say(JoinHello(macs: [Self.randomMAC()], address: source).message)
                    } catch {
                        failures += 1
                    }
                    if open.count > Self.keptOpen { close(open.removeFirst()) }
                    if attempt == 1_000 { measure.memoryAfterFirstThousand = Self.peakMemoryKiB(pid) }
                }
                for fd in open { close(fd) }
                return failures
            }
        }
        // Meanwhile the node bound to its TPM joins, proving it, with nobody approving.
        try await Task.sleep(nanoseconds: 2_000_000_000)
        let tpmJoin = try network.inside { () throws -> (String, Double) in
            let begin = Date()
            let attestation = try TPMAttestation(path: tpm.socket)
            var session = try Session(master: master.publicKey)
            defer { close(session.fd) }
            try session.handshake()
            try session.say(
                JoinHello(macs: [Self.boundMAC], tpm: (attestation.endorsementKey, attestation.attestationName)).message)
            guard case .challenge(let credential, let secret)? = try session.reply() else {
                throw HarnessError("no TPM challenge")
            }
            try session.say(JoinProof.message(try attestation.activate(credential: credential, secret: secret)))
            guard case .welcome(let welcome)? = try session.reply() else { throw HarnessError("the bound node was not let in") }
            return (welcome.approvedBy, Date().timeIntervalSince(begin))
        }
        let failures = try await flood.value
        let seconds = Date().timeIntervalSince(started)
        #expect(tpmJoin.0 == "tpm")
        print("join flood: \(Self.attempts) attempts in \(String(format: "%.1f", seconds)) s (\(Int(Double(Self.attempts) / seconds))/s), "
            + "\(failures) turned away; the bound node joined in \(String(format: "%.2f", tpmJoin.1)) s during it")
        #expect(failures < Self.attempts / 100, "\(failures) attempts failed")

        // Nobody was enrolled, and at most 256 machines wait.
        #expect(try String(contentsOfFile: work + "/nodes.yaml", encoding: .utf8) == inventory)
        let pending = try Harness.run([try Harness.clumpbuild, "approve", "--pending", "--out", out])
        #expect(pending.status == 0, "\(pending.output)")
        let waiting = pending.output.split(separator: "\n").count
        #expect(waiting <= 256, "\(waiting) waiting")
        // One line per waiting machine only up to 5 a second; the rest in one summary line a second.
        try serve.expect("clump: join: [0-9]+ more machines waiting for approval in the last second, not shown one by one; [0-9]+ oldest waiting dropped", within: 5)
        let lines = serve.transcript.split(separator: "\n")
        let summaries = lines.filter { $0.contains("more machines waiting for approval in the last second") }.count
        let shown = lines.filter { $0.contains("waits for approval, code") }.count
        let elapsed = Int(seconds.rounded(.up)) + 3
        #expect(summaries >= 1 && summaries <= elapsed, "\(summaries) summary lines in \(elapsed) s:\n\(lines.filter { $0.contains("more machines waiting") }.suffix(40).joined(separator: "\n"))")
        #expect(shown <= 6 * elapsed, "\(shown) machines shown one by one in \(elapsed) s")
        // serve's memory: bounded by its limits, not by the attempts (the peak after 1,000 against the end).
        let peak = try #require(Self.peakMemoryKiB(pid))
        let early = try #require(measure.memoryAfterFirstThousand)
        print("join flood: serve's peak memory \(early / 1024) MiB after 1,000 attempts, \(peak / 1024) MiB after \(Self.attempts)")
        #expect(peak - early < 32 * 1024, "serve grew from \(early) KiB to \(peak) KiB")
    }
}
