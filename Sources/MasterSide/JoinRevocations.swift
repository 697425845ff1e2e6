import AgentSupport
import JoinProtocol

/// The machines `clumpbuild revoke` shut out: by each MAC of the node and its TPM, kept on disk
/// (`OUT/join/revoked`, one line each: `mac|tpm VALUE TIME NODE`). A hello that names any of them
/// is refused before anything else is looked at, whoever approved that machine before and
/// whatever the policy: a revoked PC stays out until `clumpbuild revoke --undo`.
public struct JoinRevocations: Sendable {
    public struct Entry: Sendable, Equatable {
        /// `mac` or `tpm`.
        public var kind: String
        /// A lower-case MAC, or a TPM's fingerprint.
        public var value: String
        public var time: Int
        public var node: String
    }

    public let path: String
    public private(set) var entries: [Entry] = []

    /// The revocations in `path`; none when it is not there yet.
    public init(path: String) throws {
        self.path = path
        guard SystemFile.exists(path) else { return }
        let text = try MasterSideError.wrapping { try SystemFile.readText(path, limit: 16 << 20) }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 4, ["mac", "tpm"].contains(words[0]), let time = Int(words[2]) else { continue }
            entries.append(Entry(kind: words[0], value: words[1], time: time, node: words[3]))
        }
    }

    /// Why this hello is refused, if it names a revoked card or TPM.
    public func reason(for hello: JoinHello) -> String? {
        let macs = Set(hello.macs.map { $0.lowercased() })
        let tpm = hello.tpmFingerprint
        guard let entry = entries.first(where: { $0.kind == "mac" ? macs.contains($0.value) : $0.value == tpm }) else {
            return nil
        }
        return "\(entry.node) was revoked by the operator (its \(entry.kind == "mac" ? "MAC \(entry.value)" : "TPM")); "
            + "`clumpbuild revoke --undo \(entry.node)` on the master lets it ask again"
    }

    /// Shuts out `node`'s cards and TPM, and writes the file.
    public mutating func revoke(node: String, macs: [String], tpm: String?, time: Int) throws {
        let new = macs.map { Entry(kind: "mac", value: $0.lowercased(), time: time, node: node) }
            + (tpm.map { [Entry(kind: "tpm", value: $0, time: time, node: node)] } ?? [])
        var copy = entries
        copy.removeAll { entry in new.contains { $0.kind == entry.kind && $0.value == entry.value } }
        try write(copy + new)
    }

    /// Lets `which` (a node's name or one of its MACs) ask again; how many entries were lifted.
    public mutating func undo(_ which: String) throws -> Int {
        let lowered = which.lowercased()
        let nodes = Set(entries.filter { $0.node == which || $0.value == lowered }.map(\.node))
        let kept = entries.filter { !nodes.contains($0.node) }
        let lifted = entries.count - kept.count
        if lifted > 0 { try write(kept) }
        return lifted
    }

    private mutating func write(_ new: [Entry]) throws {
        let text = "# machines shut out by `clumpbuild revoke`: kind value time node\n"
            + new.map { "\($0.kind) \($0.value) \($0.time) \($0.node)\n" }.joined()
        try AtomicWrite.write(Array(text.utf8), to: path, mode: 0o600)
        entries = new
    }
}
