import AgentSupport
import CSodium
import Foundation
import ImageSpec
import JoinProtocol

/// The secrets an NFS-root node needs and its shared root must not hold, handed to it inside its
/// join session and laid into its RAM (see `NFSRootMode` in the agent):
/// - its own SSH host key, made by serve the first time the node is seen and kept beside the join
///   state (`out/join/nodes/NAME/`), so it is the same on every boot and no other node has it;
///   the public halves go to `out/master/ssh_known_hosts` for the site's SSH clients;
/// - the root's password hashes (`etc/shadow`, `etc/gshadow`) as the root has them: root-only
///   there (the shared-root check demands it), so a node, whose root is squashed, could not read
///   them over NFS anyway;
/// - the MUNGE key, where the spec runs Slurm and the root has munge (`etc/munge`), owned by the
///   root's munge user.
/// Nothing is ever read through a symbolic link in a root: a root with `etc -> /etc` would
/// otherwise hand out the master's own hashes.
public struct NodeSecrets: Sendable {
    /// `out/join/nodes`: a directory per node, root only.
    public let directory: String
    /// Where the nodes' root directories are when their entry names none (`nfsroot.root`).
    public let defaultRoot: String
    public let mungeKey: [UInt8]?

    public init(directory: String, defaultRoot: String, mungeKey: [UInt8]?) {
        self.directory = directory
        self.defaultRoot = defaultRoot
        self.mungeKey = mungeKey
    }

    /// Where the node's host key is laid, and the root's files handed out as they are.
    public static let hostKey = "etc/ssh/ssh_host_ed25519_key"
    static let rootFiles = ["etc/shadow", "etc/gshadow"]
    static let mungeKeyPath = "etc/munge/munge.key"

    /// Makes the host keys nodes do not have yet and writes the known-hosts file; the number made.
    @discardableResult
    public func prepare(_ inventory: Inventory, knownHosts: String) throws -> Int {
        var made = 0
        var lines: [String] = []
        for node in inventory.nodes where node.boot == .nfsroot {
            let (key, fresh) = try MasterSideError.wrapping { try hostKey(for: node.name) }
            if fresh { made += 1 }
            lines.append("\(node.name),\(node.address) \(key.publicLine)")
        }
        let text = "# The SSH host keys of the NFS-root nodes, made by clumpbuild serve: `ssh -o UserKnownHostsFile=<this file>`\n"
            + "# or copy the lines to /etc/ssh/ssh_known_hosts.\n" + lines.map { $0 + "\n" }.joined()
        if (try? SystemFile.readText(knownHosts)) != text {
            try MasterSideError.wrapping { try SystemFile.writeAtomically(Array(text.utf8), to: knownHosts, mode: 0o644) }
        }
        return made
    }

    /// The node's host key, made and kept if it has none yet; and whether it was made now.
    func hostKey(for name: String) throws -> (SSHHostKey.Files, Bool) {
        let base = "\(directory)/\(name)"
        let file = BeneathDirectory.split(Self.hostKey).name
        if let key = try? SystemFile.read("\(base)/\(file)", limit: 4096),
            let line = try? SystemFile.readText("\(base)/\(file).pub", limit: 4096), !key.isEmpty, line.hasPrefix("ssh-ed25519 ")
        {
            return (SSHHostKey.Files(privateKey: key, publicLine: String(line.prefix { $0 != "\n" })), false)
        }
        // Both halves in a directory of their own, renamed into place: a crash leaves the pair or
        // nothing, never a private key with another's public half.
        try SystemFile.makeDirectories(directory, mode: 0o700)
        let staging = "\(directory)/.\(name).new"
        try? FileManager.default.removeItem(atPath: staging)
        try SystemFile.makeDirectories(staging, mode: 0o700)
        let files = SSHHostKey.generate().files(comment: "root@\(name)")
        try SystemFile.writeAtomically(files.privateKey, to: "\(staging)/\(file)", mode: 0o600)
        try SystemFile.writeAtomically(Array((files.publicLine + "\n").utf8), to: "\(staging)/\(file).pub", mode: 0o644)
        // A directory with half a pair (an older version's crash) gives way.
        try? FileManager.default.removeItem(atPath: base)
        try syscall("rename", path: base) { rename(staging, base) }
        return (files, true)
    }

    /// What `node` is handed after its welcome, and what could not be read (said by serve; the
    /// node gets the rest).
    public func files(for node: Inventory.Node) -> (files: [JoinFile], problems: [String]) {
        guard node.boot == .nfsroot else { return ([], []) }
        var files: [JoinFile] = []
        var problems: [String] = []
        do {
            let (key, _) = try hostKey(for: node.name)
            files.append(JoinFile(path: Self.hostKey, mode: 0o600, contents: key.privateKey))
            files.append(JoinFile(path: Self.hostKey + ".pub", mode: 0o644, contents: Array((key.publicLine + "\n").utf8)))
        } catch {
            problems.append("no SSH host key for \(node.name): \(error)")
        }
        let root = node.root ?? defaultRoot
        for path in Self.rootFiles {
            let (parent, name) = BeneathDirectory.split(path)
            do {
                let directory = try BeneathDirectory.open(parent, below: root, create: false)
                guard let (bytes, info) = try directory.read(name, limit: JoinFile.maxSize) else { continue }
                // A second name could be the master's own file, linked into the root.
                guard info.st_nlink == 1 else {
                    problems.append("\(node.name) does not get \(path): it has \(info.st_nlink) names (a hard link); copy it instead")
                    continue
                }
                files.append(JoinFile(path: path, mode: UInt32(info.st_mode & 0o777), uid: info.st_uid, gid: info.st_gid, contents: bytes))
            } catch let error as OperationError where error.code == ENOENT {
                continue
            } catch {
                problems.append("\(node.name) does not get \(path): \(error)")
            }
        }
        if let mungeKey {
            // Owned by whoever owns the root's /etc/munge: its munge user, whatever its number there.
            let (parent, _) = BeneathDirectory.split(Self.mungeKeyPath)
            if let directory = try? BeneathDirectory.open(parent, below: root, create: false) {
                var info = stat()
                if fstat(directory.descriptor, &info) == 0 {
                    files.append(JoinFile(path: Self.mungeKeyPath, mode: 0o400, uid: info.st_uid, gid: info.st_gid, contents: mungeKey))
                }
            }
        }
        return (files, problems)
    }
}

/// An Ed25519 SSH host key in OpenSSH's formats: the private key as `ssh-keygen` writes it
/// (`openssh-key-v1`, unencrypted, PROTOCOL.key in OpenSSH's sources) and the public line.
public struct SSHHostKey: Sendable {
    /// The 32-byte public key.
    public let publicKey: [UInt8]
    /// libsodium's 64-byte secret key: the seed, then the public key (what OpenSSH stores too).
    let secretKey: [UInt8]

    public init(seed: [UInt8]) {
        precondition(seed.count == 32)
        var publicKey = [UInt8](repeating: 0, count: 32)
        var secretKey = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_ed25519_seed_keypair(&publicKey, &secretKey, seed)
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public static func generate() -> SSHHostKey {
        var seed = [UInt8](repeating: 0, count: 32)
        seed.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, 32) }
        defer { sodium_memzero(&seed, 32) }
        return SSHHostKey(seed: seed)
    }

    /// The two files, as `ssh-keygen -t ed25519` would write them.
    public struct Files: Sendable {
        public var privateKey: [UInt8]
        public var publicLine: String
    }

    public func files(comment: String, check: UInt32 = UInt32.random(in: 0...UInt32.max)) -> Files {
        Files(privateKey: Array(privateText(comment: comment, check: check).utf8), publicLine: publicLine(comment: comment))
    }

    /// `ssh-ed25519 AAAA... comment`.
    public func publicLine(comment: String) -> String {
        "ssh-ed25519 " + Data(publicBlob).base64EncodedString() + " " + comment
    }

    /// The key type and the public key, in SSH's wire encoding.
    var publicBlob: [UInt8] { Self.string(Array("ssh-ed25519".utf8)) + Self.string(publicKey) }

    /// The private key file: a check number twice (equal when a passphrase decrypted it, here always),
    /// the key, its comment, padding to 8 bytes; all base64 between the armour lines.
    public func privateText(comment: String, check: UInt32) -> String {
        var section = Self.uint32(check) + Self.uint32(check) + Self.string(Array("ssh-ed25519".utf8)) + Self.string(publicKey)
            + Self.string(secretKey) + Self.string(Array(comment.utf8))
        var pad: UInt8 = 1
        while section.count % 8 != 0 {
            section.append(pad)
            pad += 1
        }
        let none = Self.string(Array("none".utf8))
        let body = Array("openssh-key-v1".utf8) + [0] + none + none + Self.string([]) + Self.uint32(1) + Self.string(publicBlob)
            + Self.string(section)
        let encoded = Data(body).base64EncodedString()
        var lines = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
        var rest = Substring(encoded)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(70)))
            rest = rest.dropFirst(70)
        }
        lines.append("-----END OPENSSH PRIVATE KEY-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func uint32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    static func string(_ bytes: [UInt8]) -> [UInt8] { uint32(UInt32(bytes.count)) + bytes }
}
