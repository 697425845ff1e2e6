import AgentSupport
import DroneProtocol
import Foundation
import Glibc
import AutoMap
import ImageSpec
import JoinProtocol
import TPM
import TestSupport
import Testing

@testable import MasterSide
@testable import NodeAgent

/// The drone's own join client (`clumpnode join`'s session) against the master's service on
/// loopback: a server with another key gets refused, the real one makes it wait with the code it
/// shows, `clumpbuild approve`'s request lets it in, and the keys land in RAM, root only.
@Suite("drone join client", .serialized)
struct DroneJoinTests {
    /// A service pumped on its own thread until stopped.
    final class Running: @unchecked Sendable {
        let master: JoinServiceTests.Master
        private let lock = NSLock()
        private var stopping = false
        private var closeRequested = false
        private var thread: Thread?

        init(_ master: JoinServiceTests.Master) {
            self.master = master
            let thread = Thread { [self] in
                let master = self.master
                while true {
                    lock.lock()
                    let (stop, close) = (stopping, closeRequested)
                    closeRequested = false
                    lock.unlock()
                    if stop { return }
                    if close { master.service.closeSessions() }
                    master.pump(rounds: 1)
                }
            }
            self.thread = thread
            thread.start()
        }

        func closeSessions() {
            lock.lock()
            closeRequested = true
            lock.unlock()
        }

        func stop() {
            lock.lock()
            stopping = true
            lock.unlock()
            while thread?.isFinished == false { usleep(10_000) }
        }
    }

    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    static func waitFor(_ what: String, seconds: Double = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw JoinError("timed out waiting for \(what)") }
            usleep(20_000)
        }
    }

    @Test("refuses a server with another key, waits at the real master with its code, and keeps the keys it is given in RAM, root only")
    func droneJoins() throws {
        let real = try JoinServiceTests.Master()
        let rogue = try JoinServiceTests.Master()
        defer {
            real.remove()
            rogue.remove()
        }
        let root = real.directory + "/drone"
        try FileManager.default.createDirectory(atPath: root + "/run/clump", withIntermediateDirectories: true)
        let lines = Lines()
        let keys = try JoinCommand.sessionKey(root: root)
        #expect(try JoinCommand.sessionKey(root: root) == keys, "a restarted join is the same drone")
        let hello = JoinHello(macs: ["52:54:00:66:00:55"], address: "10.66.0.200")

        // The rogue answers where the drone looks for its master: it cannot read the first message.
        let rogueRunning = Running(rogue)
        var misled = JoinSession(
            settings: JoinSettings(master: "127.0.0.1", port: rogue.service.port, masterKey: real.keys.publicKey), keys: keys,
            root: root, say: lines.add)
        guard case .failed(let reason) = misled.attempt(hello) else {
            Issue.record("the drone joined a server with another key")
            return
        }
        rogueRunning.stop()
        #expect(reason.contains("does not hold this image's master key"), "\(reason)")
        #expect(!SystemFile.exists(root + JoinedFiles.clusterKey))

        // The real master: the drone waits, showing its code, until the operator approves it.
        let running = Running(real)
        let port = real.service.port
        let masterKey = real.keys.publicKey
        let outcome = LockedOutcome()
        let drone = Thread {
            var session = JoinSession(
                settings: JoinSettings(master: "127.0.0.1", port: port, masterKey: masterKey), keys: keys, root: root,
                say: lines.add)
            outcome.set(session.attempt(hello))
        }
        drone.start()
        try Self.waitFor("the waiting line") { lines.all.contains { $0.hasPrefix("clump: waiting for approval by 127.0.0.1, code ") } }
        let code = String(try #require(lines.all.last { $0.hasPrefix("clump: waiting") }).suffix(7))
        #expect(SystemFile.text(root + JoinedFiles.state) == "waiting \(code) 127.0.0.1\n")
        #expect(!SystemFile.exists(root + JoinedFiles.clusterKey), "a key before approval")
        let answer = try JoinControl.send("approve \(code)", outDir: real.directory)
        #expect(answer.hasPrefix("approved machine 52:54:00:66:00:55 at 127.0.0.1"), "\(answer)")
        // The cluster key comes last: once it is there, so is everything else.
        try Self.waitFor("the keys") { SystemFile.exists(root + JoinedFiles.clusterKey) }
        #expect(lines.all.contains("clump: joined 127.0.0.1 (approved by operator)"))
        #expect(ClusterKeyFile.key(from: try SystemFile.read(root + JoinedFiles.clusterKey)) == JoinServiceTests.clusterKey)
        #expect(try SystemFile.read(root + JoinedFiles.mungeKey) == JoinServiceTests.mungeKey)
        var info = stat()
        stat(root + JoinedFiles.clusterKey, &info)
        #expect(info.st_mode & 0o777 == 0o400)
        #expect(SystemFile.text(root + JoinedFiles.state) == "joined 127.0.0.1 operator\n")

        // The master ends the session: the drone keeps its keys and reports it, to reconnect.
        running.closeSessions()
        try Self.waitFor("the session's end") { outcome.value != nil }
        #expect(outcome.value == .closedAfterJoining)
        running.stop()
        #expect(SystemFile.exists(root + JoinedFiles.clusterKey))
    }

    @Test("an NFS-root node joins once: it takes its welcome and its files, writes nothing, and ends the session")
    func joinOnce() throws {
        let fixture = try NodeSecretsTests.Fixture()
        let inventory = Inventory(file: "nodes.yaml", nodes: [try NodeSecretsTests.node(11, address: "127.0.0.1")])
        let master = try JoinServiceTests.Master(policy: .knownMACs, inventory: inventory, secrets: fixture.secrets())
        defer { master.remove() }
        let root = master.directory + "/node"
        try FileManager.default.createDirectory(atPath: root + "/sys/class/net/eth0", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/etc/clump", withIntermediateDirectories: true)
        try "52:54:00:66:02:0b\n".write(toFile: root + "/sys/class/net/eth0/address", atomically: true, encoding: .utf8)
        let settings = JoinSettings(master: "127.0.0.1", port: master.service.port, masterKey: master.keys.publicKey)
        try settings.text.write(toFile: root + JoinSettings.path, atomically: true, encoding: .utf8)

        let running = Running(master)
        defer { running.stop() }
        let lines = Lines()
        let (welcome, files) = try JoinCommand.joinOnce(root: root, address: "10.66.0.11", say: lines.add)
        #expect(welcome.approvedBy == "mac" && welcome.name == "node11")
        #expect(files.map(\.path) == [NodeSecrets.hostKey, NodeSecrets.hostKey + ".pub", "etc/shadow", "etc/munge/munge.key"])
        #expect(files[2].contents == Array(NodeSecretsTests.Fixture.shadow.utf8) && files[2].gid == 42)
        #expect(lines.all == ["clump: joined 127.0.0.1 (approved by mac)"], "\(lines.all)")
        // No key file, no session key: the node's RAM disk is freed at the switch, and nothing of this survives it.
        #expect(!SystemFile.exists(root + JoinedFiles.clusterKey) && !SystemFile.exists(root + JoinedFiles.directory + "/session.key"))
    }

    @Test("a TPM that cannot open the master's credential: the drone says why and asks again as a machine without one")
    func tpmFallback() throws {
        let directory = NSTemporaryDirectory() + "clump-join-tpmfail-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tpm = try SoftwareTPM(directory: directory + "/tpm")
        defer { tpm.stop() }
        let root = directory + "/drone"
        try FileManager.default.createDirectory(atPath: root + "/run/clump", withIntermediateDirectories: true)

        // A master (it holds the pinned key) whose credential this TPM cannot open: bytes of no TPM's.
        let masterKeys = KeyPair.generate()
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try #require(bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0)
            }
        }
        let hellos = Lines()
        let server = Thread {
            for _ in 0..<2 {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                defer { close(fd) }
                var noise = NoiseXK.responder(localStatic: masterKeys, prologue: JoinWire.prologue)
                var reader = FrameReader()
                var buffer = [UInt8](repeating: 0, count: 8192)
                func next() -> [UInt8]? {
                    while true {
                        if let frame = try? reader.next() { return frame }
                        let count = read(fd, &buffer, buffer.count)
                        guard count > 0 else { return nil }
                        reader.append(buffer.prefix(count))
                    }
                }
                guard let first = next(), (try? noise.read(first)) != nil, let second = try? noise.write() else { return }
                _ = try? SystemFile.writeAll(fd, FrameReader.frame(second))
                guard let third = next(), (try? noise.read(third)) != nil else { return }
                var transport = noise.split()
                guard let sealed = next(), let plain = transport.open(sealed), let message = JoinMessage.parse(plain) else { return }
                hellos.add(message.first("tpm-ek") == nil ? "hello without a TPM" : "hello with a TPM")
                let reply = message.first("tpm-ek") == nil
                    ? JoinReply.refused(reason: "test over")
                    : JoinReply.challenge(credential: [UInt8](repeating: 7, count: 68), secret: [UInt8](repeating: 9, count: 258))
                _ = try? SystemFile.writeAll(fd, FrameReader.frame(transport.seal(reply.message.bytes)))
                _ = next()
            }
        }
        server.start()
        let lines = Lines()
        var session = JoinSession(
            settings: JoinSettings(master: "127.0.0.1", port: UInt16(bigEndian: address.sin_port), masterKey: masterKeys.publicKey),
            keys: KeyPair.generate(), root: root, tpm: tpm.socket, say: lines.add)
        let hello = JoinHello(macs: ["52:54:00:66:00:78"])
        guard case .failed(let reason) = session.attempt(hello) else { throw JoinError("the first session did not fail") }
        #expect(reason.hasPrefix("the TPM could not open the master's credential ("), "\(reason)")
        #expect(reason.hasSuffix("joining without it from now on"), "\(reason)")
        guard case .failed(let second) = session.attempt(hello) else { throw JoinError("the second session did not fail") }
        #expect(second.contains("refused this machine: test over"), "\(second)")
        #expect(hellos.all == ["hello with a TPM", "hello without a TPM"])
    }

    /// Runs one session on its own thread; the test ends it by closing the master's sessions.
    static func session(
        _ master: JoinServiceTests.Master, root: String, tpm: String?, mac: String, lines: Lines
    ) throws -> LockedOutcome {
        let settings = JoinSettings(master: "127.0.0.1", port: master.service.port, masterKey: master.keys.publicKey)
        let keys = KeyPair.generate()
        let outcome = LockedOutcome()
        Thread {
            var session = JoinSession(settings: settings, keys: keys, root: root, tpm: tpm, say: lines.add)
            outcome.set(session.attempt(JoinHello(macs: [mac], address: "10.66.0.201")))
        }.start()
        return outcome
    }

    @Test("a TPM proves itself: approved once by code, the approval names the TPM; bound, it joins by itself; another TPM or none with its MAC is refused")
    func tpmBinding() throws {
        let directory = NSTemporaryDirectory() + "clump-join-tpm-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        let tpm = try SoftwareTPM(directory: directory + "/tpm")
        let otherTPM = try SoftwareTPM(directory: directory + "/other")
        let fingerprint = TPMFingerprint.of(try TPMAttestation(path: tpm.socket).endorsementKey)
        let mac = "52:54:00:66:00:77"
        let root = directory + "/drone"
        try FileManager.default.createDirectory(atPath: root + "/run/clump", withIntermediateDirectories: true)

        // Unknown: the TPM is proved first, then the machine waits for its code like any other.
        let first = try JoinServiceTests.Master()
        defer { first.remove() }
        var running = Running(first)
        let lines = Lines()
        var outcome = try Self.session(first, root: root, tpm: tpm.socket, mac: mac, lines: lines)
        try Self.waitFor("the waiting line") { lines.all.contains { $0.hasPrefix("clump: waiting for approval by 127.0.0.1, code ") } }
        let code = String(try #require(lines.all.last { $0.hasPrefix("clump: waiting") }).suffix(7))
        let answer = try JoinControl.send("approve \(code)", outDir: first.directory)
        #expect(answer.contains("(TPM \(TPMFingerprint.short(fingerprint))...)"), "\(answer)")
        try Self.waitFor("the join") { lines.all.contains("clump: joined 127.0.0.1 (approved by operator)") }
        running.closeSessions()
        try Self.waitFor("the session's end") { outcome.value != nil }
        running.stop()
        #expect(first.events.contains(.approved(macs: [mac], address: "10.66.0.201", by: "operator", tpm: fingerprint)))

        // Bound in the inventory (what serve writes on that approval): it joins with nobody approving.
        let node = Inventory.Node(
            macs: [try #require(MACAddress(parsing: mac))], address: try IPv4Address(parsing: "10.66.0.201"), number: 201,
            name: "node201", tpm: fingerprint)
        let bound = try JoinServiceTests.Master(inventory: Inventory(file: "nodes.yaml", nodes: [node]))
        defer { bound.remove() }
        running = Running(bound)
        let again = Lines()
        outcome = try Self.session(bound, root: root, tpm: tpm.socket, mac: mac, lines: again)
        try Self.waitFor("the join by TPM") { again.all.contains("clump: joined 127.0.0.1 (approved by tpm)") }
        #expect(!again.all.contains { $0.hasPrefix("clump: waiting") })
        running.closeSessions()
        try Self.waitFor("the session's end") { outcome.value != nil }

        // The same MAC with another TPM, and with none: refused, and serve says why.
        for (what, path) in [("another TPM", Optional(otherTPM.socket)), ("no TPM", nil)] {
            let refused = Lines()
            let attempt = try Self.session(bound, root: root, tpm: path, mac: mac, lines: refused)
            try Self.waitFor("the refusal with \(what)") { attempt.value != nil }
            guard case .failed(let reason)? = attempt.value else {
                Issue.record("a machine with \(what) and node201's MAC joined")
                continue
            }
            #expect(reason.contains("node201 is bound to its TPM") && reason.contains("has \(what)"), "\(reason)")
        }
        running.stop()
        let printed = bound.events.compactMap { event -> String? in
            if case .print(let line) = event { return line }
            return nil
        }
        #expect(printed.filter { $0.contains("refused: node201 is bound to its TPM") }.count == 2, "\(printed)")
        let approvals = bound.events.compactMap { event -> String? in
            if case .approved(_, _, let by, _) = event { return by }
            return nil
        }
        #expect(approvals == ["tpm"], "only the machine with the bound TPM is let in")
        try? FileManager.default.removeItem(atPath: directory)
    }

    final class LockedOutcome: @unchecked Sendable {
        private let lock = NSLock()
        private var outcome: JoinSession.Outcome?
        func set(_ value: JoinSession.Outcome) { lock.withLock { outcome = value } }
        var value: JoinSession.Outcome? { lock.withLock { outcome } }
    }
}
