import AgentSupport

/// `/etc/clump/join` in the image: where the master's join service is and its public key, which
/// the drone pins. Nothing in it is secret. Written by the builder, read by the agent.
public struct JoinSettings: Sendable, Equatable {
    /// Where the image keeps it.
    public static let path = "/etc/clump/join"
    /// The join service's TCP port on the master.
    public static let defaultPort: UInt16 = 7078

    public var master: String
    public var port: UInt16
    /// The master's X25519 public key.
    public var masterKey: [UInt8]

    public init(master: String, port: UInt16 = defaultPort, masterKey: [UInt8]) {
        self.master = master
        self.port = port
        self.masterKey = masterKey
    }

    public var text: String { "master \(master)\nport \(port)\nkey \(Hex.encode(masterKey))\n" }

    public static func parse(_ text: String) -> JoinSettings? {
        guard let message = JoinMessage.parse(Array(("settings\n" + text).utf8)),
            let master = message.first("master"), let port = message.first("port").flatMap({ UInt16($0) }),
            let key = message.first("key").flatMap({ Hex.decode($0) }), key.count == 32
        else { return nil }
        return JoinSettings(master: master, port: port, masterKey: key)
    }
}

/// The master's private join key, kept beside the spec (hex, 0600) like cluster.key.
public enum JoinKeyFile {
    /// The key pair in a key file's contents; nil when it is not 64 hex digits.
    public static func keyPair(from contents: [UInt8]) -> KeyPair? {
        var text = contents
        while let last = text.last, last == 0x0A || last == 0x0D || last == 0x20 { text.removeLast() }
        guard text.count == 64, let secret = Hex.decode(text) else { return nil }
        return KeyPair(secret: secret)
    }

    /// A new key file's contents.
    public static func contents(of pair: KeyPair) -> [UInt8] { Array((Hex.encode(pair.secret) + "\n").utf8) }
}
