/// An NFS-root node's two trees on the master, as `clumpbuild generate` writes them and the
/// agent reads them (HOWTO 10.2 with one shared root), and the rules both sides hold them to.
/// An NFS-root boot entry names the three trees with `BootArgument.root`, `.node` and `.data`.
///
/// The *description* (`files/` laid over the shared root, `writable.list`) is exported read-only:
/// anyone can take a node's address while the node is off, so nothing a node (or a PC posing as
/// one) can write may decide what the node runs. The *data* tree holds the writable directories,
/// exported read-write with root squashed: root's writes there land as `anonymousID`, and the
/// agent mounts it `nosuid,nodev`. What a writable directory may be is one allow-list, checked by
/// the spec and again by the agent, so a list that names `/sbin` is refused on both sides.
public enum NodeTree {
    /// Inside the description: the files laid over the shared root, and the list of writable directories.
    public static let files = "files"
    public static let writableList = "writable.list"

    /// The user and group NFS servers map a client's root to with `root_squash` (exports(5)'s
    /// `anonuid`/`anongid` default, `nobody`/`nogroup` on Debian); the owner of each writable
    /// directory, so the node's root can write there.
    public static let anonymousID: UInt32 = 65534

    /// Where writable directories may be: places that hold data, not programs or configuration
    /// root runs or reads (a node's writable tree is writable by whoever holds its address, as any
    /// user but root). Not `/tmp` or `/var/tmp`: owned by the squashed user, the kernel's
    /// protected_symlinks would not guard them; they stay in RAM.
    public static let writableAreas = ["/home", "/srv", "/scratch", "/data", "/mnt", "/media", "/var/log", "/var/mail"]

    /// Nil when `directory` may be a writable directory of a node, else why not, in words.
    public static func refusal(writable directory: String) -> String? {
        let components = directory.split(separator: "/", omittingEmptySubsequences: false)
        guard directory.hasPrefix("/"), directory.count > 1,
            !components.dropFirst().contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else {
            return "\(directory) is not a plain absolute directory (no empty, `.` or `..` components)"
        }
        if writableAreas.contains(where: { directory == $0 || directory.hasPrefix($0 + "/") }) { return nil }
        return "\(directory) is outside the data areas a node may keep writable (\(writableAreas.joined(separator: ", "))): "
            + "what a node writes there, anyone holding its address could write"
    }
}
