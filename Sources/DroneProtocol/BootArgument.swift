/// The `clump.*` kernel arguments: the boot menu (`ImageBuilder`) and the master's per-node
/// files (`MasterSide`) write them, the agent reads them from /proc/cmdline. One definition,
/// so a writer and its reader cannot spell a key differently.
public enum BootArgument: String, Sendable, CaseIterable {
    /// The boot mode (`BootMode`): the menu entry that was chosen.
    case mode = "clump.mode"
    /// `A.B.C.D/P`: the cluster network, so a drone with several cards knows its cluster card.
    case network = "clump.network"
    /// An NFS-root node's shared root, `SERVER:PATH` (see `NodeTree`).
    case root = "clump.root"
    /// An NFS-root node's description tree, `SERVER:PATH`.
    case node = "clump.node"
    /// An NFS-root node's writable data tree, `SERVER:PATH`.
    case data = "clump.data"

    /// The name in `KernelCommandLine.clumpOptions` (the key without `clump.`).
    public var option: String { String(rawValue.dropFirst("clump.".count)) }

    /// `key=value`, one word of a command line (the value must hold no whitespace).
    public func with(_ value: String) -> String { rawValue + "=" + value }
}
