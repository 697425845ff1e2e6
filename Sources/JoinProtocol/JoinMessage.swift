import AgentSupport

/// The join's messages inside the Noise session: lines of `name value`, the first naming the
/// message. Text, so a transcript reads as what was said; values never hold a newline.
public struct JoinMessage: Sendable, Equatable {
    /// The first line's word (`hello`, `wait`, `welcome`, `refused`).
    public var kind: String
    /// The first line's value.
    public var value: String
    /// The other lines, in order; a name may repeat (`mac`).
    public var fields: [(name: String, value: String)]

    public init(_ kind: String, _ value: String = "", fields: [(name: String, value: String)] = []) {
        self.kind = kind
        self.value = value
        self.fields = fields
    }

    public static func == (a: JoinMessage, b: JoinMessage) -> Bool {
        a.kind == b.kind && a.value == b.value && a.fields.map(\.name) == b.fields.map(\.name)
            && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// The values of every `name` line.
    public func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }
    /// The value of the first `name` line.
    public func first(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    public var bytes: [UInt8] {
        var text = value.isEmpty ? kind : kind + " " + value
        for field in fields { text += "\n" + field.name + " " + field.value }
        return Array((text + "\n").utf8)
    }

    /// Reads a message; nil for anything that is not lines of printable ASCII with a name each.
    public static func parse(_ bytes: [UInt8]) -> JoinMessage? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 == 0x0A || (0x20...0x7E).contains($0) }) else { return nil }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map { line -> (String, String) in
            let text = String(decoding: line, as: UTF8.self)
            guard let space = text.firstIndex(of: " ") else { return (text, "") }
            return (String(text[..<space]), String(text[text.index(after: space)...]))
        }
        guard !lines.isEmpty, lines.allSatisfy({ !$0.0.isEmpty }) else { return nil }
        let head = lines.removeFirst()
        return JoinMessage(head.0, head.1, fields: lines.map { (name: $0.0, value: $0.1) })
    }
}

/// What a drone says about itself: every card's MAC, the board's DMI UUID and serial, its lease.
public struct JoinHello: Sendable, Equatable {
    /// The protocol's version: a master refuses what it does not know, with a reason.
    public static let version = "1"

    public var macs: [String]
    public var uuid: String?
    public var serial: String?
    public var address: String?
    /// Where the machine has a TPM: its endorsement key's `TPM2B_PUBLIC` and this session's attestation key's name.
    public var tpm: (endorsementKey: [UInt8], attestationName: [UInt8])?
    /// An NFS-root node in its RAM disk asks for its files (`JoinFile`); a drone never does.
    public var wantsFiles = false

    public init(
        macs: [String], uuid: String? = nil, serial: String? = nil, address: String? = nil,
        tpm: (endorsementKey: [UInt8], attestationName: [UInt8])? = nil
    ) {
        self.macs = macs
        self.uuid = uuid
        self.serial = serial
        self.address = address
        self.tpm = tpm
    }

    public static func == (a: JoinHello, b: JoinHello) -> Bool {
        a.macs == b.macs && a.uuid == b.uuid && a.serial == b.serial && a.address == b.address && a.wantsFiles == b.wantsFiles
            && a.tpm?.endorsementKey == b.tpm?.endorsementKey && a.tpm?.attestationName == b.tpm?.attestationName
    }

    /// The TPM's fingerprint, as the inventory's `tpm:` records it.
    public var tpmFingerprint: String? { tpm.map { TPMFingerprint.of($0.endorsementKey) } }

    /// At most this many cards, and each value this long: a hello fits one frame.
    static let maxMACs = 16
    static let maxValue = 128
    /// An RSA 2048 endorsement key's public area is 318 bytes; room for RSA 4096 and ECC.
    static let maxEndorsementKey = 1024

    public var message: JoinMessage {
        var fields = macs.prefix(Self.maxMACs).map { (name: "mac", value: $0) }
        if let uuid { fields.append((name: "uuid", value: Self.clean(uuid))) }
        if let serial { fields.append((name: "serial", value: Self.clean(serial))) }
        if let address { fields.append((name: "address", value: Self.clean(address))) }
        if let tpm {
            fields.append((name: "tpm-ek", value: Hex.encode(tpm.endorsementKey)))
            fields.append((name: "tpm-ak", value: Hex.encode(tpm.attestationName)))
        }
        if wantsFiles { fields.append((name: "files", value: "yes")) }
        return JoinMessage("hello", Self.version, fields: fields)
    }

    public init?(_ message: JoinMessage) {
        guard message.kind == "hello", message.value == Self.version else { return nil }
        macs = Array(message.all("mac").prefix(Self.maxMACs)).map { String($0.lowercased()) }
        uuid = message.first("uuid")
        serial = message.first("serial")
        address = message.first("address")
        wantsFiles = message.first("files") == "yes"
        switch (message.first("tpm-ek").flatMap({ Hex.decode($0) }), message.first("tpm-ak").flatMap({ Hex.decode($0) })) {
        case (nil, nil) where message.first("tpm-ek") == nil && message.first("tpm-ak") == nil: tpm = nil
        case (let key?, let name?) where (1...Self.maxEndorsementKey).contains(key.count) && (2...66).contains(name.count):
            tpm = (key, name)
        default: return nil
        }
        guard !macs.isEmpty, macs.allSatisfy(Self.isMAC),
            [uuid, serial, address].compactMap({ $0 }).allSatisfy({ $0.count <= Self.maxValue })
        else { return nil }
    }

    /// `52:54:00:12:34:56`: what serve prints and compares is a card's address, nothing else.
    static func isMAC(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 17 && bytes.indices.allSatisfy { index in
            index % 3 == 2 ? bytes[index] == 0x3A : (0x30...0x39).contains(bytes[index]) || (0x61...0x66).contains(bytes[index])
        }
    }

    /// Firmware strings can be anything: printable ASCII, bounded.
    static func clean(_ text: String, keepingSpaces: Bool = false) -> String {
        let lowest: UInt8 = keepingSpaces ? 0x20 : 0x21
        return String(decoding: text.utf8.filter { (lowest...0x7E).contains($0) }.prefix(maxValue), as: UTF8.self)
    }
}

/// The master's answer to a hello.
public enum JoinReply: Sendable, Equatable {
    /// Not approved yet: the code an operator approves it by.
    case wait(code: String)
    /// Approved (`by`: operator, window, mac, tpm, open), with what the drone needs; sent again
    /// on the open session whenever the keys change (a key epoch begins, or the next is handed out).
    case welcome(Welcome)
    /// No, and why.
    case refused(reason: String)
    /// Prove the TPM the hello named: open this credential (TPM2_ActivateCredential) and send back what is in it.
    case challenge(credential: [UInt8], secret: [UInt8])

    public struct Welcome: Sendable, Equatable {
        public var approvedBy: String
        public var clusterKey: [UInt8]
        public var previousKey: [UInt8]?
        /// The next key epoch's key, handed out ahead: accepted from others, not yet signed with.
        public var nextKey: [UInt8]?
        /// The key epoch `clusterKey` belongs to.
        public var epoch: Int?
        public var mungeKey: [UInt8]?
        public var name: String?
        /// How many files follow the welcome (`JoinFile`): an NFS-root node's secrets, sent with its first welcome only.
        public var files: Int

        public init(
            approvedBy: String, clusterKey: [UInt8], previousKey: [UInt8]? = nil, nextKey: [UInt8]? = nil, epoch: Int? = nil,
            mungeKey: [UInt8]? = nil, name: String? = nil, files: Int = 0
        ) {
            self.files = files
            self.approvedBy = approvedBy
            self.clusterKey = clusterKey
            self.previousKey = previousKey
            self.nextKey = nextKey
            self.epoch = epoch
            self.mungeKey = mungeKey
            self.name = name
        }
    }

    public var message: JoinMessage {
        switch self {
        case .wait(let code): return JoinMessage("wait", code)
        case .refused(let reason): return JoinMessage("refused", JoinHello.clean(reason, keepingSpaces: true))
        case .challenge(let credential, let secret):
            return JoinMessage(
                "challenge", "tpm", fields: [(name: "credential", value: Hex.encode(credential)), (name: "secret", value: Hex.encode(secret))])
        case .welcome(let welcome):
            var fields = [(name: "cluster-key", value: Hex.encode(welcome.clusterKey))]
            if let key = welcome.previousKey { fields.append((name: "previous-key", value: Hex.encode(key))) }
            if let key = welcome.nextKey { fields.append((name: "next-key", value: Hex.encode(key))) }
            if let epoch = welcome.epoch { fields.append((name: "epoch", value: "\(epoch)")) }
            if let key = welcome.mungeKey { fields.append((name: "munge-key", value: Hex.encode(key))) }
            if let name = welcome.name { fields.append((name: "name", value: name)) }
            if welcome.files > 0 { fields.append((name: "files", value: "\(welcome.files)")) }
            return JoinMessage("welcome", welcome.approvedBy, fields: fields)
        }
    }

    public init?(_ message: JoinMessage) {
        switch message.kind {
        case "wait": self = .wait(code: message.value)
        case "refused": self = .refused(reason: message.value)
        case "challenge":
            guard message.value == "tpm", let credential = message.first("credential").flatMap({ Hex.decode($0) }),
                let secret = message.first("secret").flatMap({ Hex.decode($0) })
            else { return nil }
            self = .challenge(credential: credential, secret: secret)
        case "welcome":
            guard let key = message.first("cluster-key").flatMap { Hex.decode($0) }, key.count >= 16 else { return nil }
            self = .welcome(
                Welcome(
                    approvedBy: message.value, clusterKey: key, previousKey: message.first("previous-key").flatMap { Hex.decode($0) },
                    nextKey: message.first("next-key").flatMap { Hex.decode($0) }, epoch: message.first("epoch").flatMap { Int($0) },
                    mungeKey: message.first("munge-key").flatMap { Hex.decode($0) }, name: message.first("name"),
                    files: message.first("files").flatMap { Int($0) }.map { min(max($0, 0), JoinFile.maxFiles) } ?? 0))
        default: return nil
        }
    }
}

/// The drone's answer to a challenge: what its TPM recovered from the credential.
public enum JoinProof {
    public static func message(_ recovered: [UInt8]) -> JoinMessage { JoinMessage("proof", Hex.encode(recovered)) }

    public static func recovered(_ message: JoinMessage) -> [UInt8]? {
        guard message.kind == "proof", let bytes = Hex.decode(message.value), bytes.count <= 64 else { return nil }
        return bytes
    }
}

/// A TPM's fingerprint: `sha256:` and the hex SHA-256 of its endorsement key's `TPM2B_PUBLIC`, the
/// bytes `tpm2 createek -G rsa -u ek.pub` writes (so `sha256sum ek.pub` on the machine shows it).
public enum TPMFingerprint {
    public static func of(_ endorsementKey: [UInt8]) -> String { "sha256:" + Hex.encode(SHA256.hash(endorsementKey)) }

    /// The first digits, for a log line.
    public static func short(_ fingerprint: String) -> String { String(fingerprint.prefix(7 + 12)) }
}
