import AgentSupport
import AutoMap
import Foundation
import Glibc
import ImageSpec
import JoinProtocol
import TPM
import TestSupport
import Testing

@testable import MasterSide

/// The master's join service on loopback, with the test as the drone: the handshake pinned to
/// the master's key, the code both ends derive, approval over the control socket, the keys that
/// arrive, a restart that remembers, and the floods and garbage a LAN can send.
@Suite("join service", .serialized)
struct JoinServiceTests {
    static let clusterKey = Array("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n".utf8)
    static let mungeKey = [UInt8](repeating: 0x5A, count: 1024)
    /// The master's clock when the tests start, and a key epoch of an hour.
    static let wall = 1_800_000_000
    static let epochLength = 3600

    // Driven by one thread at a time (DroneJoinTests hands it to its pump thread).
    final class Master: @unchecked Sendable {
        let directory: String
        let keys = KeyPair.generate()
        var service: JoinService
        var events: [JoinService.Event] = []
        var now = 1000.0
        /// The master's clock, for the key epochs.
        var wall = JoinServiceTests.wall

        init(
            policy: Spec.JoinPolicy = .approve, window: EnrolmentLimits? = nil, inventory: Inventory? = nil, maxPending: Int = 256,
            epochs: Bool = false, secrets: NodeSecrets? = nil, mungeKeyFile: String? = nil
        ) throws {
            directory = NSTemporaryDirectory() + "clump-join-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            service = try Self.start(
                directory, keys, policy: policy, window: window, inventory: inventory, maxPending: maxPending, epochs: epochs,
                secrets: secrets, mungeKeyFile: mungeKeyFile)
        }

        static func start(
            _ directory: String, _ keys: KeyPair, policy: Spec.JoinPolicy, window: EnrolmentLimits? = nil,
            inventory: Inventory? = nil, maxPending: Int = 256, epochs: Bool = false, wall: Int = JoinServiceTests.wall,
            secrets: NodeSecrets? = nil, mungeKeyFile: String? = nil
        ) throws -> JoinService {
            var options = JoinService.Options(
                address: try IPv4Address(parsing: "127.0.0.1"), controlPath: directory + "/join/control.sock", policy: policy,
                window: window)
            options.port = 0
            options.maxPending = maxPending
            options.mungeKeyFile = mungeKeyFile
            return try JoinService(
                options: options, keys: keys, delivery: JoinDelivery(
                    clusterKey: JoinServiceTests.clusterKey, mungeKey: JoinServiceTests.mungeKey, secrets: secrets),
                records: try JoinRecords(path: directory + "/join/approved"), inventory: inventory ?? Inventory(file: "nodes.yaml", nodes: []),
                now: 1000, revocations: try JoinRevocations(path: directory + "/join/revoked"),
                epochs: epochs ? .init(files: KeyEpochs.Files(directory: directory + "/join"), length: JoinServiceTests.epochLength) : nil,
                wall: wall)
        }

        /// Serves whatever is ready now (a few rounds: loopback delivers at once).
        func pump(rounds: Int = 4) {
            for _ in 0..<rounds {
                var fds = service.descriptors()
                _ = poll(&fds, nfds_t(fds.count), 5)
                events += service.handle(fds, now: now)
                events += service.tick(now: now, wall: wall)
            }
        }

        /// A control command, answered while the service is pumped.
        func control(_ command: String) throws -> String {
            let path = directory + "/join/control.sock"
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(connected == 0)
            try SystemFile.writeAll(fd, command + "\n")
            pump()
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &buffer, buffer.count)
            return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The drone's side, step by step on a blocking socket, the service pumped in between.
    final class Drone {
        let fd: Int32
        var noise: NoiseXK
        var transport: Transport?
        var reader = FrameReader()
        let master: Master

        init(_ master: Master, pinned: [UInt8]? = nil, keys: KeyPair = .generate()) throws {
            self.master = master
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.fd = fd
            var peer = sockaddr_in()
            peer.sin_family = sa_family_t(AF_INET)
            peer.sin_port = master.service.port.bigEndian
            peer.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let connected = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(connected == 0)
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            noise = .initiator(localStatic: keys, remoteStatic: pinned ?? master.keys.publicKey, prologue: JoinWire.prologue)
        }

        deinit { close(fd) }

        func send(_ bytes: [UInt8]) throws {
            try SystemFile.writeAll(fd, bytes)
            master.pump()
        }

        /// The next frame, nil when the master closed or said nothing.
        func frame() throws -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: 8192)
            for _ in 0..<20 {
                if let frame = try reader.next() { return frame }
                master.pump(rounds: 1)
                let count = read(fd, &buffer, buffer.count)
                if count == 0 { return nil }
                if count > 0 { reader.append(buffer.prefix(count)) }
            }
            return nil
        }

        func handshake() throws {
            try send(FrameReader.frame(noise.write()))
            let answer = try #require(try frame(), "the master answered the first message")
            _ = try noise.read(answer)
            try send(FrameReader.frame(noise.write()))
            transport = noise.split()
        }

        func say(_ message: JoinMessage) throws {
            try send(FrameReader.frame(transport!.seal(message.bytes)))
        }

        func reply() throws -> JoinReply? {
            try message().flatMap(JoinReply.init)
        }

        /// The next message other than a keep-alive, nil when none came.
        func message() throws -> JoinMessage? {
            while let sealed = try frame() {
                let message = try #require(transport!.open(sealed).flatMap(JoinMessage.parse))
                if message.kind == JoinWire.keepAlive { continue }
                return message
            }
            return nil
        }

        var code: String { ApprovalCode.code(seed: noise.approvalSeed!) }
    }

    static let hello = JoinHello(macs: ["52:54:00:66:00:44"], uuid: "1e0c4ee6-6d4b-4c4a-a4f5-33f2b2e1d001", address: "10.66.0.200")

    @Test("approve: the drone waits with the code both ends derive; approving it delivers the keys, and a restarted serve remembers")
    func approveByCode() throws {
        let master = try Master()
        defer { master.remove() }
        let keys = KeyPair.generate()
        let drone = try Drone(master, keys: keys)
        try drone.handshake()
        try drone.say(Self.hello.message)
        #expect(try drone.reply() == .wait(code: drone.code))
        #expect(master.events.contains(.print(
            "clump: join: machine 52:54:00:66:00:44 at 127.0.0.1 (uuid 1e0c4ee6-6d4b-4c4a-a4f5-33f2b2e1d001) waits for approval, "
                + "code \(drone.code): `clumpbuild approve \(drone.code)` lets it in")))
        #expect(try master.control("pending").hasPrefix(drone.code + " machine 52:54:00:66:00:44"))
        #expect(try master.control("approve 000-000").hasPrefix("error: no machine waits with code 000-000"))
        // A MAC is only a claim: approval takes the code.
        #expect(try master.control("approve 52:54:00:66:00:44").hasPrefix("error: approve by the code"))
        #expect(try master.control("approve \(drone.code.replacingOccurrences(of: "-", with: ""))").hasPrefix("approved machine"))
        guard case .welcome(let welcome)? = try drone.reply() else {
            Issue.record("no welcome after approval")
            return
        }
        #expect(welcome.approvedBy == "operator")
        #expect(welcome.clusterKey == Self.clusterKey)
        #expect(welcome.mungeKey == Self.mungeKey)
        #expect(master.events.contains(.approved(macs: ["52:54:00:66:00:44"], address: "10.66.0.200", by: "operator", tpm: nil)))
        #expect(master.service.pendingCount == 0)
        let records = try String(contentsOfFile: master.directory + "/join/approved", encoding: .utf8)
        #expect(records.hasPrefix(Hex.encode(keys.publicKey) + " operator "), "\(records)")

        // serve restarts: the same drone (its key lives for the boot) reconnects and is let in at once.
        master.service = try Master.start(master.directory, master.keys, policy: .approve)
        let again = try Drone(master, keys: keys)
        try again.handshake()
        try again.say(Self.hello.message)
        guard case .welcome(let second)? = try again.reply() else {
            Issue.record("a drone approved before a restart waits again")
            return
        }
        #expect(second.approvedBy == "operator")
    }

    @Test("deny: the waiting drone is told, gets no key, and is gone from the pending list")
    func deny() throws {
        let master = try Master()
        defer { master.remove() }
        let drone = try Drone(master)
        try drone.handshake()
        try drone.say(Self.hello.message)
        _ = try drone.reply()
        #expect(try master.control("deny 52:54:00:66:00:44").hasPrefix("denied machine"))
        #expect(try drone.reply() == .refused(reason: "denied by the operator"))
        #expect(try master.control("pending") == "no machine waits for approval\n")
    }

    @Test("a drone pinned to another key gets nothing: the master cannot read its first message and closes")
    func wrongKey() throws {
        let master = try Master()
        defer { master.remove() }
        let drone = try Drone(master, pinned: KeyPair.generate().publicKey)
        try drone.send(FrameReader.frame(drone.noise.write()))
        #expect(try drone.frame() == nil)
        #expect(master.service.connectionCount == 0)
    }

    @Test("garbage, an oversized frame and a silent peer are dropped; the silent one at its deadline")
    func garbage() throws {
        let master = try Master()
        defer { master.remove() }
        let junk = try Drone(master)
        try junk.send([0, 40] + [UInt8](repeating: 0xAB, count: 40))
        #expect(try junk.frame() == nil)
        let huge = try Drone(master)
        try huge.send([0xFF, 0xFF, 1, 2, 3])
        #expect(try huge.frame() == nil)
        let silent = try Drone(master)
        master.pump()
        #expect(master.service.connectionCount == 1)
        master.now += 11
        master.pump()
        #expect(master.service.connectionCount == 0)
        _ = silent
        // A drone that finishes the handshake but sends no hello is refused with a reason.
        let mute = try Drone(master)
        try mute.handshake()
        try mute.say(JoinMessage("hello", "99", fields: [(name: "mac", value: "x")]))
        #expect(try mute.reply() == .refused(reason: "not a hello of join protocol 1"))
        // A hello whose "MAC" is anything else (text for serve's terminal) is no hello either.
        let liar = try Drone(master)
        try liar.handshake()
        try liar.say(JoinMessage("hello", "1", fields: [(name: "mac", value: "node11 joined (approved")]))
        #expect(try liar.reply() == .refused(reason: "not a hello of join protocol 1"))
        // A payload in the handshake, which could steer the session, is dropped at once.
        let steering = try Drone(master)
        try steering.send(FrameReader.frame(steering.noise.write(payload: [1, 2, 3])))
        #expect(try steering.frame() == nil)
    }

    @Test("a flood of invented machines keeps the pending list at its bound, oldest dropped, and says so in summary lines")
    func flood() throws {
        let master = try Master(maxPending: 16)
        defer { master.remove() }
        var drones: [Drone] = []
        for index in 0..<60 {
            let drone = try Drone(master)
            try drone.handshake()
            try drone.say(JoinHello(macs: [String(format: "02:cf:00:00:%02x:%02x", index >> 8, index & 0xFF)]).message)
            drones.append(drone)
        }
        master.now += 1
        master.pump()
        #expect(master.service.pendingCount == 16)
        #expect(master.service.connectionCount == 16)
        let lines = master.events.compactMap { if case .print(let line) = $0 { return line } else { return nil } }
        // One second's share of lines, then the summary (a hello that arrives in the next second may add its own).
        #expect((JoinService.linesPerSecond...JoinService.linesPerSecond + 1).contains(lines.filter { $0.contains("waits for approval") }.count))
        #expect(lines.contains { $0.contains("more machines waiting for approval in the last second") && $0.contains("oldest waiting dropped") })
        #expect(!master.events.contains { if case .approved = $0 { return true } else { return false } })
        // The first one was pushed out: its code is no longer known.
        #expect(try master.control("approve \(drones[0].code)").hasPrefix("error: no machine waits"))
        #expect(try master.control("approve \(drones[59].code)").hasPrefix("approved"))
    }

    @Test("a flood of invented TPMs gets credentials nobody can open and no key; a bound TPM among them is proved at once and joins")
    func tpmFlood() throws {
        let directory = NSTemporaryDirectory() + "clump-join-tpm-flood-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tpm = try SoftwareTPM(directory: directory + "/tpm")
        let attestation = try TPMAttestation(path: tpm.socket)
        let node = Inventory.Node(
            macs: [try #require(MACAddress(parsing: "52:54:00:66:00:88"))], address: try IPv4Address(parsing: "10.66.0.88"),
            number: 88, name: "node88", tpm: TPMFingerprint.of(attestation.endorsementKey))
        let master = try Master(inventory: Inventory(file: "nodes.yaml", nodes: [node]))
        defer { master.remove() }
        // Keys of the shape of an RSA endorsement key, with invented moduli: tpm2-tools makes credentials for them.
        var replies: [String] = []
        for index in 0..<40 {
            var key = attestation.endorsementKey
            key[key.count - 2 - index] ^= UInt8(1 + index)  // the modulus stays odd, as RSA wants it
            let drone = try Drone(master)
            try drone.handshake()
            try drone.say(JoinHello(macs: [String(format: "02:cf:00:00:01:%02x", index)], tpm: (key, attestation.attestationName)).message)
            switch try drone.reply() {
            case .challenge?: replies.append("challenge")
            case .refused(let reason)?: replies.append(reason)
            default: replies.append("?")
            }
        }
        #expect(replies.allSatisfy { $0 == "challenge" }, "\(replies)")
        #expect(!master.events.contains { if case .approved = $0 { return true } else { return false } })

        // The same second: the bound node's TPM is proved at once, and it is in with nobody approving.
        let bound = try Drone(master)
        try bound.handshake()
        try bound.say(JoinHello(macs: ["52:54:00:66:00:88"], tpm: (attestation.endorsementKey, attestation.attestationName)).message)
        guard case .challenge(let credential, let secret)? = try bound.reply() else {
            Issue.record("no challenge for the bound TPM")
            return
        }
        try bound.say(JoinProof.message(try attestation.activate(credential: credential, secret: secret)))
        guard case .welcome(let welcome)? = try bound.reply() else {
            Issue.record("the bound TPM was not let in")
            return
        }
        #expect(welcome.approvedBy == "tpm" && welcome.name == "node88")

        // A wrong proof is refused and said.
        let liar = try Drone(master)
        try liar.handshake()
        try liar.say(JoinHello(macs: ["52:54:00:66:00:89"], tpm: (attestation.endorsementKey, attestation.attestationName)).message)
        guard case .challenge? = try liar.reply() else {
            Issue.record("no challenge for the liar")
            return
        }
        try liar.say(JoinProof.message([UInt8](repeating: 7, count: 32)))
        #expect(try liar.reply() == .refused(reason: "its TPM did not open the master's credential"))
    }

    @Test("the policies: open and a reconnect welcome at once, known-macs only a known card, the window while it lasts")
    func decisions() throws {
        let hello = JoinHello(macs: ["52:54:00:00:00:01"])
        let known: Set<String> = ["52:54:00:00:00:01"]
        #expect(JoinDecision.decide(hello, .init(policy: .open, knownMACs: [])) == .welcome(by: "open"))
        #expect(JoinDecision.decide(hello, .init(policy: .approve, knownMACs: known)) == .wait)
        #expect(JoinDecision.decide(hello, .init(policy: .knownMACs, knownMACs: known)) == .welcome(by: "mac"))
        #expect(JoinDecision.decide(hello, .init(policy: .knownMACs, knownMACs: ["52:54:00:00:00:02"])) == .wait)
        #expect(JoinDecision.decide(hello, .init(policy: .approve, knownMACs: [], windowOpen: true)) == .welcome(by: "window"))
        #expect(JoinDecision.decide(hello, .init(policy: .approve, knownMACs: [], approvedBefore: "operator")) == .welcome(by: "operator"))

        // A revoked machine is refused before anything else: its TPM, an earlier approval, the policy.
        for policy in [Spec.JoinPolicy.approve, .knownMACs, .open] {
            #expect(
                JoinDecision.decide(
                    hello,
                    .init(
                        policy: policy, knownMACs: known, approvedBefore: "operator", windowOpen: true, provenTPM: "sha256:00",
                        boundMACs: ["52:54:00:00:00:01": (node: "node11", tpm: "sha256:00")], revoked: "node11 was revoked"))
                    == .refused("node11 was revoked"))
        }

        // A TPM bound in the inventory lets its machine in under every policy; its MAC without it is refused under every one.
        let tpm = "sha256:" + String(repeating: "ab", count: 32)
        let other = "sha256:" + String(repeating: "cd", count: 32)
        let bound = ["52:54:00:00:00:01": (node: "node11", tpm: tpm)]
        for policy in [Spec.JoinPolicy.approve, .knownMACs, .open] {
            #expect(
                JoinDecision.decide(hello, .init(policy: policy, knownMACs: known, provenTPM: tpm, boundMACs: bound))
                    == .welcome(by: "tpm"))
            for proven in [other, nil] {
                // Not even a session approved before (by a copied MAC) gets past the binding.
                let decision = JoinDecision.decide(
                    hello,
                    .init(
                        policy: policy, knownMACs: known, approvedBefore: "mac", windowOpen: true, provenTPM: proven,
                        boundMACs: bound))
                guard case .refused(let reason) = decision else {
                    Issue.record("\(policy): node11's MAC with \(proven ?? "no TPM") was not refused: \(decision)")
                    continue
                }
                #expect(reason.hasPrefix("node11 is bound to its TPM (sha256:abababab"), "\(reason)")
                #expect(reason.hasSuffix(proven == nil ? "has no TPM" : "has another TPM (sha256:cdcdcdcdcdcd...)"), "\(reason)")
            }
        }
        // A proved TPM that no node is bound to is only that: the policy decides. Nor does node11's TPM
        // in a machine that claims other MACs make it node11, or anyone.
        #expect(JoinDecision.decide(hello, .init(policy: .approve, knownMACs: [], provenTPM: other)) == .wait)
        #expect(
            JoinDecision.decide(
                JoinHello(macs: ["52:54:00:00:00:09"]), .init(policy: .approve, knownMACs: known, provenTPM: tpm, boundMACs: bound))
                == .wait)

        // The window takes at most --max machines.
        let master = try Master(window: EnrolmentLimits(max: 2, perMinute: 60, window: 600))
        defer { master.remove() }
        var replies: [String] = []
        for index in 0..<3 {
            let drone = try Drone(master)
            try drone.handshake()
            try drone.say(JoinHello(macs: [String(format: "52:54:00:00:01:%02x", index)]).message)
            switch try drone.reply() {
            case .welcome(let welcome)?: replies.append(welcome.approvedBy)
            case .wait?: replies.append("wait")
            default: replies.append("?")
            }
        }
        #expect(replies == ["window", "window", "wait"])
    }

    /// A joined drone's welcome, pushed on its open session.
    static func welcome(_ drone: Drone) throws -> JoinReply.Welcome? {
        guard case .welcome(let welcome)? = try drone.reply() else { return nil }
        return welcome
    }

    static func node(_ number: UInt32) throws -> Inventory.Node {
        Inventory.Node(
            macs: [try #require(MACAddress(parsing: String(format: "52:54:00:66:01:%02x", number)))],
            address: try IPv4Address(parsing: "10.66.0.\(number)"), number: number, name: "node\(number)")
    }

    static func hello(_ number: UInt32) -> JoinHello { JoinHello(macs: [String(format: "52:54:00:66:01:%02x", number)]) }

    @Test("a rotated MUNGE key reaches every joined drone within a second; a key munged would refuse is said once and not sent")
    func mungeRotation() throws {
        let file = NSTemporaryDirectory() + "clump-munge-\(UUID().uuidString.prefix(8)).key"
        defer { unlink(file) }
        try SystemFile.writeAtomically(Self.mungeKey, to: file, mode: 0o400)
        let master = try Master(policy: .open, mungeKeyFile: file)
        defer { master.remove() }
        let drones = try (0..<2).map { _ in try Drone(master) }
        for (index, drone) in drones.enumerated() {
            try drone.handshake()
            try drone.say(Self.hello(UInt32(20 + index)).message)
            #expect(try Self.welcome(drone)?.mungeKey == Self.mungeKey)
        }
        // The same key, looked at again: nothing to say, nothing sent.
        master.now += 2
        master.pump()
        #expect(!master.events.contains { "\($0)".contains("MUNGE") }, "\(master.events)")

        // Taken once it has stayed the same for a second (a key written in place is not sent half written).
        let rotated = [UInt8](repeating: 0x77, count: 1024)
        try SystemFile.writeAtomically(rotated, to: file, mode: 0o400)
        master.now += 1.5
        master.pump()
        #expect(!master.events.contains { "\($0)".contains("MUNGE") }, "\(master.events)")
        master.now += 1.5
        master.pump()
        #expect(master.events.contains { "\($0)".contains("the MUNGE key in \(file) changed: 2 joined drones get it now") }, "\(master.events)")
        for drone in drones {
            let welcome = try #require(try Self.welcome(drone))
            #expect(welcome.mungeKey == rotated && welcome.clusterKey == Self.clusterKey, "the same announcement key with it")
        }

        // Too short for munged: said once, and the drones keep what they have.
        try SystemFile.writeAtomically([1, 2, 3], to: file, mode: 0o400)
        for _ in 0..<4 {
            master.now += 1.5
            master.pump()
        }
        #expect(master.events.filter { "\($0)".contains("is 3 bytes, not 32 to 1024") }.count == 1, "\(master.events)")
        #expect(try drones[0].message() == nil, "a key was sent")
        // A new drone still gets the last good one.
        let late = try Drone(master)
        try late.handshake()
        try late.say(Self.hello(30).message)
        #expect(try Self.welcome(late)?.mungeKey == rotated)
    }

    @Test("revoke: the node's session ends and it is refused from then on; the others get a new key at once and use it 3 s later")
    func revoke() throws {
        let master = try Master(
            policy: .knownMACs, inventory: Inventory(file: "nodes.yaml", nodes: [try Self.node(2), try Self.node(3)]), epochs: true)
        defer { master.remove() }
        let files = KeyEpochs.Files(directory: master.directory + "/join")
        let keeps = try Drone(master)
        try keeps.handshake()
        try keeps.say(Self.hello(2).message)
        let first = try #require(try Self.welcome(keeps))
        // The first epoch's key is the cluster key; the master's view reads the keys in use beside the epochs.
        #expect(first.epoch == 1 && first.clusterKey == Self.clusterKey && first.nextKey == nil && first.previousKey == nil)
        #expect(try ClusterKeyFile.key(from: SystemFile.read(files.clusterKey)) == first.clusterKey)
        let revokedKeys = KeyPair.generate()
        let revoked = try Drone(master, keys: revokedKeys)
        try revoked.handshake()
        try revoked.say(Self.hello(3).message)
        #expect(try Self.welcome(revoked)?.approvedBy == "mac")

        let answer = try master.control("revoke node3")
        #expect(answer == "revoked node3: 1 sessions ended; key epoch 2 begins in 3 s without it\n", "\(answer)")
        #expect(try revoked.reply() == .refused(reason: "revoked by the operator"))
        #expect(master.events.contains(.revoked(node: "node3", macs: ["52:54:00:66:01:03"])))
        // The other drone has the next key at once, and signs with it only once its epoch begins.
        let handed = try #require(try Self.welcome(keeps), "no new key pushed")
        let next = try #require(handed.nextKey)
        #expect(handed.epoch == 1 && handed.clusterKey == first.clusterKey && next != first.clusterKey && next.count == 32)
        #expect(try ClusterKeyFile.key(from: SystemFile.read(files.clusterKey + ".next")) == next)
        master.wall += KeyEpochs.revocationLead
        master.pump()
        let began = try #require(try Self.welcome(keeps))
        #expect(began.epoch == 2 && began.clusterKey == next && began.previousKey == first.clusterKey && began.nextKey == nil)
        #expect(try ClusterKeyFile.key(from: SystemFile.read(files.clusterKey)) == next)
        #expect(try ClusterKeyFile.key(from: SystemFile.read(files.clusterKey + ".previous")) == first.clusterKey)
        #expect(!SystemFile.exists(files.clusterKey + ".next"))
        // Once the overlap is over, the revoked node's key is accepted nowhere.
        master.wall += KeyEpochs.revocationOverlap
        master.pump()
        let settled = try #require(try Self.welcome(keeps))
        #expect(settled.epoch == 2 && settled.clusterKey == next && settled.previousKey == nil)
        #expect(!SystemFile.exists(files.clusterKey + ".previous"))

        // The revoked machine asks again, with its key of this boot or a new one: refused, with the way back.
        for keys in [revokedKeys, KeyPair.generate()] {
            let again = try Drone(master, keys: keys)
            try again.handshake()
            try again.say(Self.hello(3).message)
            guard case .refused(let reason)? = try again.reply() else {
                Issue.record("a revoked machine was not refused")
                continue
            }
            #expect(reason.hasPrefix("node3 was revoked by the operator (its MAC 52:54:00:66:01:03)"), "\(reason)")
        }
        // A restarted serve keeps the revocation and the epoch.
        master.service = try Master.start(
            master.directory, master.keys, policy: .knownMACs, inventory: Inventory(file: "nodes.yaml", nodes: [try Self.node(2), try Self.node(3)]),
            epochs: true, wall: master.wall)
        let after = try Drone(master)
        try after.handshake()
        try after.say(Self.hello(3).message)
        #expect({ if case .refused? = try? after.reply() { return true } else { return false } }())
        let rejoined = try Drone(master)
        try rejoined.handshake()
        try rejoined.say(Self.hello(2).message)
        let restarted = try #require(try Self.welcome(rejoined))
        #expect(restarted.epoch == 2 && restarted.clusterKey == next)

        #expect(try master.control("unrevoke node4") == "error: 'node4' is not revoked\n")
        #expect(try master.control("revoke node9").hasPrefix("error: no node named 'node9' in the inventory"))
        #expect(try master.control("unrevoke node3") == "node3 may ask to join again (1 entries lifted)\n")
        let back = try Drone(master)
        try back.handshake()
        try back.say(Self.hello(3).message)
        #expect(try Self.welcome(back)?.clusterKey == next)
    }

    @Test("key epochs: the next key reaches joined drones ahead of its epoch, which then begins by itself, and serve restarts into it")
    func scheduledEpochs() throws {
        let master = try Master(policy: .open, epochs: true)
        defer { master.remove() }
        let drone = try Drone(master)
        try drone.handshake()
        try drone.say(Self.hello(2).message)
        let first = try #require(try Self.welcome(drone))
        #expect(first.epoch == 1)
        // A tenth of the hour before it ends, the next key is handed out.
        master.wall += Self.epochLength - Self.epochLength / 10 - 1
        master.pump()
        #expect(try drone.reply() == nil, "a key handed out before its time")
        master.wall += 1
        master.pump()
        let next = try #require(try Self.welcome(drone)?.nextKey)
        master.wall += Self.epochLength / 10
        master.pump()
        let began = try #require(try Self.welcome(drone))
        #expect(began.epoch == 2 && began.clusterKey == next && began.previousKey == first.clusterKey)
        #expect(master.events.contains(.print("clump: join: key epoch 2 begins; 1 joined drones have its key")))
        let state = try String(contentsOfFile: master.directory + "/join/epochs", encoding: .utf8)
        #expect(state.contains("epoch 2 start \(Self.wall + Self.epochLength) overlap 360 key \(Hex.encode(next))"), "\(state)")
        // Down for two epochs: a restarted serve does not go back to an expired key; a new epoch begins shortly.
        let later = master.wall + 2 * Self.epochLength
        master.service = try Master.start(master.directory, master.keys, policy: .open, epochs: true, wall: later)
        master.wall = later
        let again = try Drone(master)
        try again.handshake()
        try again.say(Self.hello(2).message)
        let resumed = try #require(try Self.welcome(again))
        #expect(resumed.epoch == 2 && resumed.clusterKey == next && resumed.nextKey != nil)
        // `clumpbuild rotate-key`: a new key at once, in place of the one handed out for the schedule.
        #expect(try master.control("rotate") == "key epoch 3 begins in 3 s\n")
        let rotated = try #require(try Self.welcome(again))
        #expect(rotated.epoch == 2 && rotated.nextKey != nil && rotated.nextKey != resumed.nextKey)
        // Unreadable epochs: serve starts again from the cluster key, and says so.
        try "garbage\n".write(toFile: master.directory + "/join/epochs", atomically: true, encoding: .utf8)
        master.service = try Master.start(master.directory, master.keys, policy: .open, epochs: true, wall: master.wall)
        master.events = []
        master.pump(rounds: 1)
        #expect(master.events.contains { if case .print(let line) = $0 { return line.hasSuffix("key epochs start again from the cluster key") } else { return false } })
        #expect(master.service.epoch == 1)
    }
}
