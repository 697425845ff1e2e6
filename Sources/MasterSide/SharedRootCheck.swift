import AgentSupport
import DroneProtocol
import Glibc

/// What of a shared root's secrets any PC on the LAN could read through its export.
///
/// A root is exported `sec=sys` (AUTH_SYS, RFC 5531 appendix A): the server believes whatever
/// user and groups the client claims. `root_squash` maps uid and gid 0 to nobody, but anyone who
/// takes a node's address may claim every other user and up to 16 groups at once. So a file is
/// readable through the export when some non-root user, with any groups but 0, can reach it:
/// Debian's `/etc/shadow` (`root:shadow 0640`) is, and so is a key owned by a service user. The
/// check looks where Debian keeps password hashes and private keys, and reports those that are
/// there, hold a secret and are reachable so.
public enum SharedRootCheck {
    /// A file of the root that exposes a secret.
    public struct Finding: Equatable, Sendable, CustomStringConvertible {
        /// The path inside the root.
        public var path: String
        /// What it holds.
        public var what: String

        public var description: String { "\(path) (\(what))" }
    }

    /// The mode, owner and group of one object on a path, as `lstat` gives them.
    public struct Permissions: Equatable, Sendable {
        public var mode: mode_t
        public var uid: uid_t
        public var gid: gid_t

        public init(mode: mode_t, uid: uid_t, gid: gid_t) {
            self.mode = mode
            self.uid = uid
            self.gid = gid
        }
    }

    /// Whether a client that claims any user but root and any groups but 0 can read the last of
    /// `chain` (the file) after searching every directory before it: each object grants access by
    /// its other bits, its group bits when its group is not 0, or its owner bits when the client
    /// claims its owner; the client claims one user for the whole path.
    public static func readable(_ chain: [Permissions]) -> Bool {
        guard let file = chain.last else { return false }
        let owners = Set(chain.map(\.uid).filter { $0 != 0 })
        for user in [nil] + owners.map(Optional.some) {
            let reaches = chain.enumerated().allSatisfy { index, object in
                let bit: mode_t = index == chain.count - 1 ? 4 : 1
                return object.mode & bit != 0 || (object.gid != 0 && object.mode & (bit << 3) != 0)
                    || (user != nil && object.uid == user && object.mode & (bit << 6) != 0)
            }
            if reaches && file.mode & S_IFMT == S_IFREG { return true }
        }
        return false
    }

    /// Whether a `passwd`/`shadow`-style text has a password hash in its second field (a locked
    /// account's `!$6$...` still is one; `*`, `!`, `x` and empty are not).
    public static func holdsHash(_ text: String) -> Bool {
        text.split(separator: "\n").contains { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count > 1 else { return false }
            let password = fields[1].drop { $0 == "!" }
            return !password.isEmpty && password != "*" && password != "x"
        }
    }

    /// Where the hashes and keys are, relative to the root; `*` matches one name part.
    static let hashFiles = ["etc/shadow", "etc/shadow-", "etc/gshadow", "etc/gshadow-", "etc/passwd", "etc/passwd-"]
    static let keyFiles = [
        "etc/ssh/ssh_host_*_key", "etc/ssl/private/*", "etc/munge/munge.key", "etc/krb5.keytab", "root/.ssh/id_*",
        "home/*/.ssh/id_*", ImageFiles.entry(ImageFiles.clusterKey),
    ]

    /// The secrets of the root at `root` that a client can read through its export.
    public static func findings(root: String) -> [Finding] {
        var found: [Finding] = []
        for path in hashFiles {
            guard let chain = chain(root, path), readable(chain),
                let bytes = try? SystemFile.read(root + "/" + path, limit: 16 << 20),
                holdsHash(String(decoding: bytes, as: UTF8.self))
            else { continue }
            found.append(Finding(path: "/" + path, what: "password hashes"))
        }
        for pattern in keyFiles {
            for path in expand(root, pattern) where !path.hasSuffix(".pub") {
                if let chain = chain(root, path), readable(chain) {
                    found.append(Finding(path: "/" + path, what: "a private key"))
                }
            }
        }
        return found
    }

    /// The permissions of each directory from the root down to `path`, and of `path`; nil if one is missing.
    static func chain(_ root: String, _ path: String) -> [Permissions]? {
        var result: [Permissions] = []
        var current = root
        for component in [""] + path.split(separator: "/").map(String.init) {
            if !component.isEmpty { current += "/" + component }
            var info = stat()
            guard lstat(current, &info) == 0 else { return nil }
            result.append(Permissions(mode: info.st_mode, uid: info.st_uid, gid: info.st_gid))
        }
        return result
    }

    /// The paths below `root` matching `pattern`, `*` within one component, sorted.
    static func expand(_ root: String, _ pattern: String) -> [String] {
        var paths = [""]
        for component in pattern.split(separator: "/").map(String.init) {
            var next: [String] = []
            for base in paths {
                if !component.contains("*") {
                    next.append(base.isEmpty ? component : base + "/" + component)
                    continue
                }
                guard let directory = opendir(root + "/" + base) else { continue }
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name != ".", name != "..", fnmatch(component, name, 0) == 0 {
                        next.append(base.isEmpty ? name : base + "/" + name)
                    }
                }
                closedir(directory)
            }
            paths = next
        }
        return paths.sorted()
    }
}
