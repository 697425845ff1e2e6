import AgentSupport

/// An X25519 key pair.
public struct KeyPair: Sendable, Equatable {
    public var secret: [UInt8]
    public var publicKey: [UInt8]

    /// The pair of a private key (32 bytes).
    public init(secret: [UInt8]) {
        self.secret = secret
        publicKey = Sodium.publicKey(of: secret)
    }

    /// A fresh pair from the kernel's random numbers.
    public static func generate() -> KeyPair { KeyPair(secret: Sodium.random(32)) }
}

/// Noise_XK_25519_ChaChaPoly_SHA256 (noiseprotocol.org, revision 34): the drone (initiator) knows the
/// master's static key from its image and proves nothing about itself but its fresh key, which
/// is what the master then approves; the master proves its key in the second message, so a drone
/// never says a word to anyone else. Three messages:
/// ```
/// <- s
/// ...
/// -> e, es
/// <- e, ee
/// -> s, se
/// ```
/// Sans-IO: bytes in, bytes out; the socket is the caller's.
public struct NoiseXK: Sendable {
    public enum Role: Sendable { case initiator, responder }

    /// Why a handshake or transport message was refused.
    public enum Failure: Error, Equatable, Sendable {
        /// The message is too short or arrived out of turn.
        case malformed
        /// Authentication failed: another key (a rogue master, a tampered message).
        case authentication
    }

    static let protocolName = Array("Noise_XK_25519_ChaChaPoly_SHA256".utf8)

    public let role: Role
    private let localStatic: KeyPair
    private var remoteStatic: [UInt8]?
    private var localEphemeral: KeyPair?
    private var remoteEphemeral: [UInt8]?
    private var symmetric: SymmetricState
    private var step = 0
    private var nextEphemeral: KeyPair?

    /// The initiator, pinned to the responder's static public key.
    public static func initiator(
        localStatic: KeyPair, remoteStatic: [UInt8], prologue: [UInt8] = [], ephemeral: KeyPair? = nil
    ) -> NoiseXK {
        NoiseXK(role: .initiator, localStatic: localStatic, remoteStatic: remoteStatic, prologue: prologue, ephemeral: ephemeral)
    }

    /// The responder with its static key pair.
    public static func responder(localStatic: KeyPair, prologue: [UInt8] = [], ephemeral: KeyPair? = nil) -> NoiseXK {
        NoiseXK(role: .responder, localStatic: localStatic, remoteStatic: nil, prologue: prologue, ephemeral: ephemeral)
    }

    /// `ephemeral` is for test vectors only; otherwise each handshake makes its own.
    private init(role: Role, localStatic: KeyPair, remoteStatic: [UInt8]?, prologue: [UInt8], ephemeral: KeyPair?) {
        self.role = role
        self.localStatic = localStatic
        self.remoteStatic = remoteStatic
        nextEphemeral = ephemeral
        symmetric = SymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
        // The pre-message: the responder's static key, known to both.
        symmetric.mixHash(role == .initiator ? remoteStatic ?? [] : localStatic.publicKey)
    }

    /// Whether it is this side's turn to write a handshake message.
    public var writesNext: Bool { step < 3 && (step % 2 == 0) == (role == .initiator) }
    /// Whether all three messages have passed.
    public var isComplete: Bool { step == 3 }
    /// The handshake hash: the same on both sides once complete, unique to the session.
    public var handshakeHash: [UInt8] { symmetric.h }
    /// The seed of the session's approval code: a key from the chaining key right after the
    /// ephemeral-ephemeral exchange of message 2. Secret (an eavesdropper has no share of `ee`),
    /// and fixed before the drone says anything it could choose (its static key and payload come
    /// in message 3), so neither a listener nor the drone itself can steer the code.
    public private(set) var approvalSeed: [UInt8]?

    /// The peer's static key: the master's for the drone, the drone's (after message 3) for the master.
    public var peerStatic: [UInt8]? { remoteStatic }

    /// The next handshake message, carrying `payload`.
    public mutating func write(payload: [UInt8] = []) throws(Failure) -> [UInt8] {
        guard writesNext, step < 3 else { throw .malformed }
        var out: [UInt8] = []
        switch step {
        case 0:
            let e = takeEphemeral()
            out += e.publicKey
            symmetric.mixHash(e.publicKey)
            symmetric.mixKey(try dh(e.secret, remoteStatic))
        case 1:
            let e = takeEphemeral()
            out += e.publicKey
            symmetric.mixHash(e.publicKey)
            symmetric.mixKey(try dh(e.secret, remoteEphemeral))
        default:
            out += symmetric.encryptAndHash(localStatic.publicKey)
            symmetric.mixKey(try dh(localStatic.secret, remoteEphemeral))
        }
        out += symmetric.encryptAndHash(payload)
        step += 1
        if step == 2 { approvalSeed = symmetric.approvalSeed() }
        return out
    }

    /// Reads the peer's next handshake message; its payload.
    public mutating func read(_ message: [UInt8]) throws(Failure) -> [UInt8] {
        guard !writesNext, step < 3 else { throw .malformed }
        var rest = message[...]
        switch step {
        case 0, 1:
            guard rest.count >= 32 else { throw .malformed }
            let e = Array(rest.prefix(32))
            rest = rest.dropFirst(32)
            remoteEphemeral = e
            symmetric.mixHash(e)
            let local = step == 0 ? localStatic.secret : localEphemeral?.secret ?? []
            symmetric.mixKey(try dh(local, e))
        default:
            guard rest.count >= 48 else { throw .malformed }
            let encrypted = Array(rest.prefix(48))
            rest = rest.dropFirst(48)
            guard let key = symmetric.decryptAndHash(encrypted) else { throw .authentication }
            remoteStatic = key
            symmetric.mixKey(try dh(localEphemeral?.secret ?? [], key))
        }
        guard let payload = symmetric.decryptAndHash(Array(rest)) else { throw .authentication }
        step += 1
        if step == 2 { approvalSeed = symmetric.approvalSeed() }
        return payload
    }

    /// The transport: one cipher each way, after the handshake.
    public func split() -> Transport {
        precondition(isComplete)
        let (first, second) = symmetric.split()
        return role == .initiator ? Transport(sending: first, receiving: second) : Transport(sending: second, receiving: first)
    }

    private mutating func takeEphemeral() -> KeyPair {
        let pair = nextEphemeral ?? .generate()
        nextEphemeral = nil
        localEphemeral = pair
        return pair
    }

    private func dh(_ secret: [UInt8], _ peer: [UInt8]?) throws(Failure) -> [UInt8] {
        guard let peer, let shared = Sodium.dh(secret, peer) else { throw .authentication }
        return shared
    }
}

/// The transport phase: ChaCha20-Poly1305 with a counter nonce each way.
public struct Transport: Sendable {
    var sending: CipherState
    var receiving: CipherState

    /// Seals one message (at most 65,519 bytes of plaintext, to fit Noise's 65,535).
    public mutating func seal(_ plaintext: [UInt8]) -> [UInt8] { sending.encrypt(associated: [], plaintext) }

    /// Opens the peer's next message; nil when it is not authentic or out of order.
    public mutating func open(_ ciphertext: [UInt8]) -> [UInt8]? { receiving.decrypt(associated: [], ciphertext) }
}

struct CipherState: Sendable {
    var key: [UInt8]?
    var nonce: UInt64 = 0

    /// The 96-bit nonce: 32 zero bits, then the counter little-endian.
    private var nonceBytes: [UInt8] { [0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: nonce >> (8 * UInt64($0))) } }

    mutating func encrypt(associated: [UInt8], _ plaintext: [UInt8]) -> [UInt8] {
        guard let key else { return plaintext }
        defer { nonce += 1 }
        return Sodium.seal(key: key, nonce: nonceBytes, associated: associated, plaintext: plaintext)
    }

    mutating func decrypt(associated: [UInt8], _ ciphertext: [UInt8]) -> [UInt8]? {
        guard let key else { return ciphertext }
        guard let plaintext = Sodium.open(key: key, nonce: nonceBytes, associated: associated, ciphertext: ciphertext)
        else { return nil }
        nonce += 1
        return plaintext
    }
}

struct SymmetricState: Sendable {
    var ck: [UInt8]
    var h: [UInt8]
    var cipher = CipherState()

    init(protocolName: [UInt8]) {
        h = protocolName.count <= 32 ? protocolName + [UInt8](repeating: 0, count: 32 - protocolName.count)
            : SHA256.hash(protocolName)
        ck = h
    }

    mutating func mixHash(_ data: [UInt8]) { h = SHA256.hash(h + data) }

    mutating func mixKey(_ input: [UInt8]) {
        let (chaining, key) = Self.hkdf(ck, input)
        ck = chaining
        cipher = CipherState(key: key)
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) -> [UInt8] {
        let ciphertext = cipher.encrypt(associated: h, plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) -> [UInt8]? {
        guard let plaintext = cipher.decrypt(associated: h, ciphertext) else { return nil }
        mixHash(ciphertext)
        return plaintext
    }

    /// A key for the approval code only, apart from every key the session uses.
    func approvalSeed() -> [UInt8] { HMACSHA256(key: ck).mac(Array("clump approval code".utf8)) }

    func split() -> (CipherState, CipherState) {
        let (first, second) = Self.hkdf(ck, [])
        return (CipherState(key: first), CipherState(key: second))
    }

    /// Noise's HKDF with two outputs, over HMAC-SHA256.
    static func hkdf(_ chainingKey: [UInt8], _ input: [UInt8]) -> ([UInt8], [UInt8]) {
        let temp = HMACSHA256(key: chainingKey).mac(input)
        let mac = HMACSHA256(key: temp)
        let first = mac.mac([1])
        return (first, mac.mac(first + [2]))
    }
}
