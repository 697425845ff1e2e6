/// The cluster key file: the hex text `clumpbuild` generates (64 hex digits and a newline), or,
/// when a spec supplies its own file that is not hex, its raw bytes (at least 16).
public enum ClusterKeyFile {
    /// The key bytes in a key file's contents; nil when too short to be a key.
    public static func key(from contents: [UInt8]) -> [UInt8]? {
        var text = contents
        while let last = text.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { text.removeLast() }
        if text.count >= 32, text.count % 2 == 0, let bytes = Hex.decode(text) { return bytes }
        return contents.count >= 16 ? contents : nil
    }

    /// A key file's contents as clumpbuild writes them, and serve and the join write each epoch's key.
    public static func contents(of key: [UInt8]) -> [UInt8] { Array((Hex.encode(key) + "\n").utf8) }
}
