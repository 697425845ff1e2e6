import DroneProtocol

extension Spec {
    /// `nfsroot:` in the spec: what every `boot: nfsroot` node of the inventory shares (HOWTO 10.2,
    /// with one read-only root instead of a copy per node).
    public struct NFSRoot: Sendable, Equatable {
        /// The shared root on the master, exported read-only with root squashed.
        public var root: String = SpecTable.nfsrootRoot.default
        /// Absolute directories on the node that live in its own tree on the master.
        public var writable: [String] = SpecTable.nfsrootWritable.default
        /// Whether a root whose secrets any client can read is exported anyway.
        public var allowReadableSecrets: Bool = SpecTable.nfsrootReadableSecrets.default

        /// The defaults.
        public init() {}
    }
}

extension PathCheck {
    /// A directory the master exports: absolute, so `/etc/exports` and ganesha name it as it is.
    @Sendable static func exportPath(_ text: String) -> (message: String, hint: String?)? {
        if !isAbsoluteBelowRoot(text) {
            return (
                "\(text.debugDescription) is not an absolute directory below /",
                "write the root's full path on the master, e.g. `/srv/clump/root`"
            )
        }
        return hostPath(text)
    }
}

extension ValueType where Value == [String] {
    /// Writable directories of an NFS-root node: absolute paths on the node, none inside another.
    static var writableDirectories: Self {
        .list(
            of: "absolute directories", example: "[/var/log, /home]",
            .string("an absolute directory") { text in
                if PathCheck.imagePath(text) != nil || text.contains(",") || text.contains(where: \.isWhitespace) {
                    return (
                        "\(text.debugDescription) is not an absolute directory on the node",
                        "write the directory's full path on the node, without commas or spaces, e.g. `/var/log`"
                    )
                }
                if let refusal = NodeTree.refusal(writable: text) {
                    return (
                        refusal,
                        "keep data there (e.g. `/var/log`, `/home`, `/scratch`); programs and configuration come from "
                            + "the shared root"
                    )
                }
                return nil
            }
        ) { values, nodes, path, decoding in
            for (index, value) in values.enumerated() {
                let normal = Path.normalize(value)
                if let other = values.prefix(index).first(where: {
                    let earlier = Path.normalize($0)
                    return earlier == normal || normal.hasPrefix(earlier + "/") || earlier.hasPrefix(normal + "/")
                }) {
                    decoding.error(
                        "\(path)[\(index)]", at: nodes[index], "\(value) overlaps \(other), listed before it",
                        hint: "list each writable directory once, and none inside another")
                    return false
                }
            }
            return true
        }
    }
}
