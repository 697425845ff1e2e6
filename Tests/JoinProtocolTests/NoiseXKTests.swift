import AgentSupport
import Testing

@testable import JoinProtocol

/// The handshake and transport against the Noise_XK_25519_ChaChaPoly_SHA256 vector of the
/// cacophony suite (the Haskell reference implementation's), then the failures that matter here.
@Suite("Noise XK")
struct NoiseXKTests {
    static func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

    // cacophony.txt, "Noise_XK_25519_ChaChaPoly_SHA256".
    static let prologue = hex("4a6f686e2047616c74")
    static let initiatorStatic = hex("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1")
    static let initiatorEphemeral = hex("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a")
    static let responderStatic = hex("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893")
    static let responderEphemeral = hex("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b")
    static let handshakeHash = hex("cefffc5d1074126cc980ebfe902587ff36ba61dc77d4447ebe0f96dc22ae59d7")
    static let messages: [(payload: String, ciphertext: String)] = [
        ("4c756477696720766f6e204d69736573",
         "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944a3785af283c991bab613473804356ef6931f83acf64f99c274b93570857cfc5e"),
        ("4d757272617920526f746862617264",
         "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088433a4534805fa9fe4eb8343ace6609160c767ad9b832e8eea1d9b7a2111818dd"),
        ("462e20412e20486179656b",
         "5d8e67b9c1b8e36f5dc674bc5cd2ce243fb5d1710fa57de0370da7cc979015398eaad94603b05498ba9a613d2fd923dcaa6fd4288dfd8d70f419bf737efb4cd37f5da37ebb728849318c82"),
        ("4361726c204d656e676572", "3205e1265f809505e6edc092839d3156745d2abafbfd946b261e41"),
        ("4a65616e2d426170746973746520536179", "470bcb1ae099555ff0d729500df550418d6ee5149d9e40bd2f4c6b3d263cc818d5"),
        ("457567656e2042f6686d20766f6e2042617765726b", "d7187ed9d217ba6e91cf596e4871012ccedf7b5bed0d4cb8f7affb020fa17a95a23371e0f6"),
    ]

    @Test("the cacophony vector: every handshake and transport ciphertext, and the handshake hash")
    func vector() throws {
        let responderPair = KeyPair(secret: Self.responderStatic)
        var initiator = NoiseXK.initiator(
            localStatic: KeyPair(secret: Self.initiatorStatic), remoteStatic: responderPair.publicKey,
            prologue: Self.prologue, ephemeral: KeyPair(secret: Self.initiatorEphemeral))
        var responder = NoiseXK.responder(
            localStatic: responderPair, prologue: Self.prologue, ephemeral: KeyPair(secret: Self.responderEphemeral))
        for index in 0..<3 {
            let payload = Self.hex(Self.messages[index].payload)
            let sent = index % 2 == 0 ? try initiator.write(payload: payload) : try responder.write(payload: payload)
            #expect(sent == Self.hex(Self.messages[index].ciphertext), "handshake message \(index + 1)")
            let received = index % 2 == 0 ? try responder.read(sent) : try initiator.read(sent)
            #expect(received == payload)
        }
        #expect(initiator.isComplete && responder.isComplete)
        #expect(initiator.handshakeHash == Self.handshakeHash)
        #expect(responder.handshakeHash == Self.handshakeHash)
        #expect(responder.peerStatic == KeyPair(secret: Self.initiatorStatic).publicKey)
        var drone = initiator.split()
        var master = responder.split()
        for index in 3..<6 {
            let payload = Self.hex(Self.messages[index].payload)
            // The vector alternates senders, starting with the initiator after its third message.
            let sealed = index % 2 == 1 ? master.seal(payload) : drone.seal(payload)
            #expect(sealed == Self.hex(Self.messages[index].ciphertext), "transport message \(index - 2)")
            #expect((index % 2 == 1 ? drone.open(sealed) : master.open(sealed)) == payload)
        }
    }

    @Test("a drone pinned to another key refuses the master's answer, and a master finds a tampered hello unauthentic")
    func roguesAndTampering() throws {
        let master = KeyPair.generate()
        let rogue = KeyPair.generate()
        // The drone expects `master`, a rogue answers with its own key.
        var drone = NoiseXK.initiator(localStatic: .generate(), remoteStatic: master.publicKey)
        var impostor = NoiseXK.responder(localStatic: rogue)
        let first = try drone.write()
        // The rogue cannot even read the first message: it was sealed to the real master's key.
        #expect(throws: NoiseXK.Failure.authentication) { try impostor.read(first) }

        var real = NoiseXK.responder(localStatic: master)
        var second = NoiseXK.initiator(localStatic: .generate(), remoteStatic: master.publicKey)
        var message = try second.write()
        message[message.count - 1] ^= 1
        #expect(throws: NoiseXK.Failure.authentication) { try real.read(message) }
        #expect(throws: NoiseXK.Failure.malformed) { try real.read([1, 2, 3]) }
    }

    @Test("a replayed or reordered transport message is refused")
    func replay() throws {
        var (drone, master) = try Self.session()
        let one = drone.seal(Array("one".utf8))
        let two = drone.seal(Array("two".utf8))
        #expect(master.open(two) == nil)
        #expect(master.open(one) == Array("one".utf8))
        #expect(master.open(one) == nil)
    }

    @Test("both ends derive the same approval code from their session")
    func approvalCode() throws {
        let (a, b) = try Self.handshake()
        let code = ApprovalCode.code(seed: a.approvalSeed!)
        #expect(code == ApprovalCode.code(seed: b.approvalSeed!))
        // Another session has another seed (its code then collides one time in a million), and the
        // seed is none of what a listener sees: not the handshake hash.
        #expect(try Self.handshake().0.approvalSeed != a.approvalSeed)
        #expect(a.approvalSeed != a.handshakeHash && a.approvalSeed == b.approvalSeed)
        #expect(code.count == 7 && code.dropFirst(3).first == "-")
        #expect(ApprovalCode.code(seed: [0, 0, 0, 7]) == "000-007")
        #expect(ApprovalCode.normalise("482913") == "482-913")
        #expect(ApprovalCode.normalise("482 913") == "482-913")
        #expect(ApprovalCode.normalise("48291") == nil)
    }

    /// A whole handshake between a fresh drone and a fresh master.
    static func handshake() throws -> (NoiseXK, NoiseXK) {
        let pair = KeyPair.generate()
        var a = NoiseXK.initiator(localStatic: .generate(), remoteStatic: pair.publicKey)
        var b = NoiseXK.responder(localStatic: pair)
        _ = try b.read(a.write())
        _ = try a.read(b.write())
        _ = try b.read(a.write())
        return (a, b)
    }

    static func session() throws -> (Transport, Transport) {
        let (a, b) = try handshake()
        return (a.split(), b.split())
    }
}
