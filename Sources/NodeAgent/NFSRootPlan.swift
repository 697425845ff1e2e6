import DroneProtocol
import Glibc

/// An NFS export as the command line names it: `SERVER:PATH`, the server by address (there is no
/// resolver in the RAM disk).
public struct NFSLocation: Equatable, Sendable, CustomStringConvertible {
    /// The server's IPv4 address, dotted.
    public var server: String
    /// The exported directory, absolute.
    public var path: String

    /// Parses `10.0.2.1:/srv/clump/root`; nil for anything else.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let server = String(text[..<colon])
        let path = String(text[text.index(after: colon)...])
        var address = in_addr()
        guard inet_pton(AF_INET, server, &address) == 1, path.hasPrefix("/"), !path.contains(",") else { return nil }
        self.server = server
        self.path = path
    }

    public var description: String { "\(server):\(path)" }
}

/// How an NFS-root node becomes its full system (HOWTO 10.2 with one shared root): what to mount,
/// lay over and check before `/sbin/init` of the root takes over as PID 1. Pure: `NFSRootMode`
/// performs it.
///
/// The shared root is mounted read-only; a tmpfs upper layer under overlayfs takes every write
/// (lost at reboot); the node's description on the master (`NodeTree`, read-only) gives the files
/// that differ per node, laid into that layer as plain files, and the list of its writable
/// directories, bind-mounted `nosuid,nodev` from its data tree over the root's. Whoever takes the
/// node's address while it is off can write the data tree (as any user but root), so nothing there
/// decides what runs, and a list naming `/sbin` is refused here as in the spec.
public struct NFSRootPlan: Equatable, Sendable {
    /// The shared root, the node's description (nil: no per-node files) and its data (nil: no
    /// writable directories).
    public var root: NFSLocation
    public var node: NFSLocation?
    public var data: NFSLocation?

    /// Where the pieces are mounted in the RAM disk while the root is assembled.
    public static let lower = "/mnt/clump/lower"
    public static let layer = "/mnt/clump/layer"
    public static let newRoot = "/mnt/clump/root"
    public static let tree = "/mnt/clump/node"
    public static let dataTree = "/mnt/clump/data"
    /// The init the root must have.
    public static let initPath = "/sbin/init"
    /// The mounts of the RAM disk that move into the new root before it takes over.
    public static let carried = ["/dev", "/proc", "/sys", "/run"]
    /// The modules for NFSv4 and overlayfs (their dependencies come from modules.dep).
    public static let modules = ["nfsv4", "overlay"]
    /// NFS minor versions, newest first: a server that lacks one answers EPROTONOSUPPORT.
    public static let versions = ["4.2", "4.1", "4.0"]

    /// A plan from the `clump.root`, `clump.node` and `clump.data` options.
    public init(root: NFSLocation, node: NFSLocation?, data: NFSLocation? = nil) {
        self.root = root
        self.node = node
        self.data = data
    }

    /// The plan from `clump.root` (and `clump.node`), or else from the lease's root path (RFC 2132
    /// section 3.19, option 17: `SERVER:PATH`, or a bare path on the DHCP server), or what is wrong.
    public static func parse(
        options: [String: String], rootPath: String? = nil, dhcpServer: String? = nil
    ) -> Result<NFSRootPlan, NFSRootProblem> {
        var options = options
        let rootKey = BootArgument.root.option
        if options[rootKey] == nil, let rootPath {
            options[rootKey] = rootPath.hasPrefix("/") ? dhcpServer.map { "\($0):\(rootPath)" } : rootPath
        }
        guard let text = options[rootKey] else {
            return .failure(
                NFSRootProblem(
                    "no \(BootArgument.root.with("SERVER:PATH")) on the kernel command line, and no root path in the lease",
                    hint: "boot it from the master's PXE entry for this node (clumpbuild generate writes it)"))
        }
        guard let root = NFSLocation(parsing: text) else {
            return .failure(
                NFSRootProblem(
                    "\(BootArgument.root.with(ConsoleText.printable(text))) is not SERVER:PATH",
                    hint: "write the server's address, e.g. \(BootArgument.root.with("10.0.2.1:/srv/clump/root"))"))
        }
        var trees: [NFSLocation?] = []
        for argument in [BootArgument.node, BootArgument.data] {
            guard let text = options[argument.option] else {
                trees.append(nil)
                continue
            }
            guard let location = NFSLocation(parsing: text) else {
                return .failure(NFSRootProblem("\(argument.with(ConsoleText.printable(text))) is not SERVER:PATH", hint: nil))
            }
            trees.append(location)
        }
        return .success(NFSRootPlan(root: root, node: trees[0], data: trees[1]))
    }

    /// The text options of an NFSv4 mount (nfs(5)); with them the kernel needs no mount.nfs.
    /// `clientaddr` is the address the server sees (RFC 7530 section 3.3.4's callback address).
    public static func options(_ location: NFSLocation, client: String, version: String) -> String {
        "vers=\(version),proto=tcp,port=2049,addr=\(location.server),clientaddr=\(client),hard,timeo=600,retrans=2"
    }

    /// The NFS mount of `location` at `target`.
    public static func nfsMount(
        _ location: NFSLocation, at target: String, client: String, version: String, readOnly: Bool
    ) -> MountOperation {
        MountOperation(
            source: location.description, target: target, type: "nfs4", flags: readOnly ? UInt(MS_RDONLY) : 0,
            data: options(location, client: client, version: version))
    }

    /// The RAM layer and the overlay of it on the shared root.
    public static let layerMounts: [MountOperation] = [
        MountOperation(source: "clump-layer", target: layer, type: "tmpfs", data: "mode=0755"),
        MountOperation(
            source: "clump-root", target: newRoot, type: "overlay",
            data: "lowerdir=\(lower),upperdir=\(layer)/upper,workdir=\(layer)/work"),
    ]

    /// The node's writable directories from its `writable.list`: each one allowed by
    /// `NodeTree.refusal(writable:)` becomes a bind mount from the data tree over the new root's,
    /// then a remount of it `nosuid,nodev` (a bind takes no other flags when it is made); the
    /// others are ignored with the reason, for the console.
    public static func writableMounts(list: String) -> (mounts: [MountOperation], ignored: [String]) {
        var mounts: [MountOperation] = []
        var ignored: [String] = []
        for line in list.split(separator: "\n").map({ $0.trimmingSpaces }) where !line.isEmpty {
            if let refusal = NodeTree.refusal(writable: line) {
                ignored.append(ConsoleText.printable(refusal))
                continue
            }
            mounts.append(
                MountOperation(source: "\(dataTree)\(line)", target: "\(newRoot)\(line)", type: "none", flags: UInt(MS_BIND)))
            mounts.append(
                MountOperation(
                    source: "\(dataTree)\(line)", target: "\(newRoot)\(line)", type: "none",
                    flags: UInt(MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)))
        }
        return (mounts, ignored)
    }

    /// The flags of the node's own NFS mounts: its description read-only and never run from, its data
    /// never trusted for setuid programs or device nodes.
    public static let descriptionFlags = UInt(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    public static let dataFlags = UInt(MS_NOSUID | MS_NODEV)

    /// What of the description's `files/` entry is laid over the root, by its `lstat` mode: a
    /// directory or a regular file without setuid, setgid and sticky bits (`mode`), or nothing,
    /// with the reason (`ignored`). Links, device nodes, pipes and sockets are never laid.
    public static func layable(mode: mode_t) -> (mode: mode_t?, ignored: String?) {
        switch mode & S_IFMT {
        case S_IFDIR: return (mode & 0o777, nil)
        case S_IFREG:
            let special = mode & 0o7000
            return (mode & 0o777, special == 0 ? nil : "its setuid, setgid or sticky bits were dropped")
        case S_IFLNK: return (nil, "a symbolic link, not laid")
        case S_IFCHR, S_IFBLK: return (nil, "a device node, not laid")
        default: return (nil, "not a regular file, not laid")
        }
    }

    /// Why a mount(2) of an export failed, in words, by errno (nfs(5), and what the Linux client
    /// returns for NFS4ERR_ACCESS, NFS4ERR_PERM and NFS4ERR_NOENT).
    public static func refusal(_ location: NFSLocation, code: Int32) -> String {
        switch code {
        case EACCES, EPERM:
            return "the server refused the export \(location): this node's address is not allowed to mount it "
                + "(check the master's exports)"
        case ENOENT:
            return "the server has no export \(location) for this node (check the path and the master's exports)"
        case ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH:
            return "server \(location.server) not answering while mounting \(location)"
        default:
            return "cannot mount \(location): \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

/// A problem with the nfsroot options or the root: one sentence and a hint.
public struct NFSRootProblem: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String?) {
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message) (\($0))" } ?? message }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
