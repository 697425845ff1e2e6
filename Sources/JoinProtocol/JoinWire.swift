/// What both ends of the join agree on besides Noise itself.
public enum JoinWire {
    /// Mixed into every handshake: a session of another protocol or version cannot pass for ours.
    public static let prologue = Array("clump join 1".utf8)
    /// The master's keep-alive message (`JoinMessage` kind), every `keepAliveMilliseconds`.
    public static let keepAlive = "alive"
    public static let keepAliveMilliseconds = 15_000
    /// A drone that hears nothing for this long takes the master for gone and reconnects.
    public static let silenceMilliseconds = 45_000
}
