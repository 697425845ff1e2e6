import AgentSupport
import AutoMap
import Foundation
import Glibc
import ImageSpec
import JoinProtocol
import TestSupport
import Testing

@testable import MasterSide

/// What NFS-root nodes get in their session instead of from the shared root: their own SSH host
/// key (in the format OpenSSH itself reads), the root's password hashes with their owner and
/// mode, the MUNGE key owned by the root's munge user; and the files' way over the session.
@Suite("NFS-root node secrets")
struct NodeSecretsTests {
    /// A scratch directory with a shared root: hashes root-only as the shared-root check wants them, munge installed.
    final class Fixture {
        let directory = NSTemporaryDirectory() + "clump-secrets-\(UUID().uuidString.prefix(8))"
        var root: String { directory + "/root" }
        var nodes: String { directory + "/join/nodes" }
        static let shadow = "root:$y$j9T$abcdefghijklmnop$0123456789012345678901234567890123456789012:19700:0:99999:7:::\n"

        init() throws {
            for path in ["root/etc/munge", "join"] {
                try FileManager.default.createDirectory(atPath: directory + "/" + path, withIntermediateDirectories: true)
            }
            try Self.shadow.write(toFile: root + "/etc/shadow", atomically: true, encoding: .utf8)
            #expect(chown(root + "/etc/shadow", 0, 42) == 0 && chmod(root + "/etc/shadow", 0o640) == 0)
            #expect(chown(root + "/etc/munge", 105, 107) == 0)
        }

        func secrets(root: String? = nil) -> NodeSecrets {
            NodeSecrets(directory: nodes, defaultRoot: root ?? self.root, mungeKey: [UInt8](repeating: 0x33, count: 1024))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func node(
        _ number: UInt32, boot: Inventory.BootKind = .nfsroot, root: String? = nil, address: String? = nil
    ) throws -> Inventory.Node {
        Inventory.Node(
            macs: [try #require(MACAddress(parsing: String(format: "52:54:00:66:02:%02x", number)))],
            address: try IPv4Address(parsing: address ?? "10.66.0.\(number)"), number: number, name: "node\(number)", boot: boot,
            root: root)
    }

    /// What an NFS-root node's RAM disk says: its card, and that it wants its files.
    static func hello(_ number: UInt32, files: Bool = true) -> JoinHello {
        var hello = JoinHello(macs: [String(format: "52:54:00:66:02:%02x", number)])
        hello.wantsFiles = files
        return hello
    }

    @Test("the host key is one OpenSSH reads: ssh-keygen derives the same public key from it, and its fingerprint")
    func openSSHFormat() throws {
        let key = SSHHostKey(seed: [UInt8](repeating: 7, count: 32))
        let files = key.files(comment: "root@node11", check: 0x1234_5678)
        let path = NSTemporaryDirectory() + "clump-hostkey-\(UUID().uuidString.prefix(8))"
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(files.privateKey), attributes: [.posixPermissions: 0o600]))
        let derived = try Spawn.capture(["ssh-keygen", "-y", "-f", path])
        #expect(derived.status == 0, "\(derived.output)")
        // ssh-keygen -y prints the key and the comment stored in the private file.
        #expect(derived.output.trimmingCharacters(in: .whitespacesAndNewlines) == files.publicLine, "\(derived.output)")
        #expect(files.publicLine.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"))
        let fingerprint = try Spawn.capture(["ssh-keygen", "-l", "-f", path])
        #expect(fingerprint.status == 0 && fingerprint.output.contains("root@node11 (ED25519)"), "\(fingerprint.output)")
        // Another seed is another key.
        #expect(SSHHostKey(seed: [UInt8](repeating: 8, count: 32)).publicKey != key.publicKey)
    }

    @Test("a node gets its own host key (the same on every boot), the root's hashes as they are there, and the MUNGE key as munge's")
    func files() throws {
        let fixture = try Fixture()
        let secrets = fixture.secrets()
        let inventory = Inventory(file: "nodes.yaml", nodes: [try Self.node(11), try Self.node(12), try Self.node(13, boot: .drone)])
        let knownHosts = fixture.directory + "/ssh_known_hosts"
        #expect(try secrets.prepare(inventory, knownHosts: knownHosts) == 2)
        #expect(try secrets.prepare(inventory, knownHosts: knownHosts) == 0, "the keys are kept")

        let (files, problems) = secrets.files(for: try Self.node(11))
        #expect(problems.isEmpty, "\(problems)")
        #expect(files.map(\.path) == [NodeSecrets.hostKey, NodeSecrets.hostKey + ".pub", "etc/shadow", "etc/munge/munge.key"])
        let kept = try SystemFile.read(fixture.nodes + "/node11/ssh_host_ed25519_key")
        #expect(files[0].contents == kept && files[0].mode == 0o600 && files[0].uid == 0)
        var info = stat()
        #expect(stat(fixture.nodes + "/node11/ssh_host_ed25519_key", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(fixture.nodes, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(files[2] == JoinFile(path: "etc/shadow", mode: 0o640, uid: 0, gid: 42, contents: Array(Fixture.shadow.utf8)))
        #expect(files[3].mode == 0o400 && files[3].uid == 105 && files[3].gid == 107 && files[3].contents.count == 1024)
        // node12's key is its own.
        #expect(secrets.files(for: try Self.node(12)).files[0].contents != kept)
        // A drone gets none of this.
        #expect(secrets.files(for: try Self.node(13, boot: .drone)).files.isEmpty)

        // The known-hosts file names both nodes by name and address, with the public halves ssh-keygen reads back.
        let hosts = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let pub = try String(contentsOfFile: fixture.nodes + "/node11/ssh_host_ed25519_key.pub", encoding: .utf8)
        #expect(hosts.contains("node11,10.66.0.11 " + pub), "\(hosts)")
        #expect(hosts.contains("node12,10.66.0.12 ssh-ed25519 "), "\(hosts)")
        #expect(!hosts.contains("node13"), "\(hosts)")
        let derived = try Spawn.capture(["ssh-keygen", "-y", "-f", fixture.nodes + "/node11/ssh_host_ed25519_key"])
        #expect(pub.hasPrefix(derived.output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(derived.output)")
    }

    @Test("a root whose etc is a link to the master's /etc hands out nothing of the master's, and says why")
    func linkedRoot() throws {
        let fixture = try Fixture()
        let linked = fixture.directory + "/linked"
        try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linked + "/etc", withDestinationPath: "/etc")
        let (files, problems) = fixture.secrets().files(for: try Self.node(11, root: linked))
        #expect(files.map(\.path) == [NodeSecrets.hostKey, NodeSecrets.hostKey + ".pub"], "only its own host key")
        #expect(problems.count == NodeSecrets.rootFiles.count, "\(problems)")
        #expect(problems.allSatisfy { $0.contains("refusing the symbolic link") && $0.contains("linked/etc") }, "\(problems)")

        // A link in the shadow's own place, too.
        unlink(fixture.root + "/etc/shadow")
        try FileManager.default.createSymbolicLink(atPath: fixture.root + "/etc/shadow", withDestinationPath: "/etc/shadow")
        let (others, why) = fixture.secrets().files(for: try Self.node(11))
        #expect(!others.contains { $0.path == "etc/shadow" })
        #expect(why.contains { $0.contains("etc/shadow") && $0.contains("symbolic link") }, "\(why)")
    }

    @Test("files cross as parts of at most a chunk, any size up to the limit; out of order, oversized or climbing paths are refused")
    func fileMessages() throws {
        for size in [0, 1, JoinFile.chunk, JoinFile.chunk + 1, 5000] {
            let file = JoinFile(path: "etc/shadow", mode: 0o640, uid: 0, gid: 42, contents: (0..<size).map { UInt8($0 & 0xFF) })
            let messages = file.messages
            #expect(messages.count == max(1, (size + JoinFile.chunk - 1) / JoinFile.chunk))
            // Each part fits a frame with the session's 16-byte tag.
            #expect(messages.allSatisfy { $0.bytes.count + 16 <= FrameReader.maximum })
            var assembler = JoinFile.Assembler()
            for message in messages { try assembler.add(JoinMessage.parse(message.bytes)!) }
            #expect(assembler.files == [file] && assembler.between)
        }
        let big = JoinFile(path: "etc/shadow", mode: 0o640, contents: [UInt8](repeating: 1, count: 4000)).messages
        func refused(_ messages: [JoinMessage]) -> Bool {
            var assembler = JoinFile.Assembler()
            do {
                for message in messages { try assembler.add(message) }
                return false
            } catch { return true }
        }
        #expect(refused([big[1]]), "a file that begins in the middle")
        #expect(refused([big[0], big[2]]), "a part skipped")
        #expect(refused([big[0], big[0]]), "a part twice")
        for path in ["../etc/shadow", "/etc/shadow", "etc/./shadow", "etc//shadow", "etc/sha dow", ""] {
            #expect(refused(JoinFile(path: path, mode: 0o600, contents: [1]).messages), "\(path)")
        }
        #expect(refused(JoinFile(path: "bin/sh", mode: 0o4755, contents: [1]).messages), "a setuid file")
        var tooBig = JoinFile(path: "etc/x", mode: 0o600, contents: [1]).messages[0]
        tooBig.fields = tooBig.fields.map { $0.name == "size" ? (name: "size", value: "\(JoinFile.maxSize + 1)") : $0 }
        #expect(refused([tooBig]))
    }

    @Test("an NFS-root node that joins gets its files right after its welcome, and only then; a drone gets none")
    func delivered() throws {
        let fixture = try Fixture()
        // node11 is on loopback, where the test's sessions come from; node12 is elsewhere.
        let inventory = Inventory(
            file: "nodes.yaml",
            nodes: [try Self.node(11, address: "127.0.0.1"), try Self.node(12), try Self.node(13, boot: .drone, address: "127.0.0.1")])
        let master = try JoinServiceTests.Master(policy: .knownMACs, inventory: inventory, secrets: fixture.secrets())
        defer { master.remove() }

        let node = try JoinServiceTests.Drone(master)
        try node.handshake()
        try node.say(Self.hello(11).message)
        guard case .welcome(let welcome)? = try node.reply() else { throw TestFailure("no welcome") }
        #expect(welcome.name == "node11" && welcome.files == 4)
        var assembler = JoinFile.Assembler()
        while assembler.files.count < welcome.files, let message = try node.message() { try assembler.add(message) }
        #expect(assembler.files.map(\.path) == [NodeSecrets.hostKey, NodeSecrets.hostKey + ".pub", "etc/shadow", "etc/munge/munge.key"])
        #expect(assembler.files[0].contents == (try SystemFile.read(fixture.nodes + "/node11/ssh_host_ed25519_key")))
        #expect(master.events.contains { "\($0)".contains("node11 gets etc/ssh/ssh_host_ed25519_key") }, "\(master.events)")
        // Only with that first welcome: a key pushed later comes alone.
        #expect(master.service.rotateMunge([UInt8](repeating: 0x44, count: 1024), now: master.now) == 1)
        guard case .welcome(let pushed)? = try node.reply() else { throw TestFailure("no pushed welcome") }
        #expect(pushed.files == 0 && pushed.mungeKey == [UInt8](repeating: 0x44, count: 1024))
        #expect(try node.message() == nil, "files after a pushed welcome")

        // The same node's card in a session that does not ask (a drone's image on that machine): no files.
        let asking = [(11, false, "a drone on node11's card"), (12, true, "node12's card from another address"), (13, true, "a drone")]
        for (number, wants, what) in asking {
            let other = try JoinServiceTests.Drone(master)
            try other.handshake()
            try other.say(Self.hello(UInt32(number), files: wants).message)
            guard case .welcome(let welcome)? = try other.reply() else { throw TestFailure("no welcome for \(what)") }
            #expect(welcome.name == "node\(number)" && welcome.files == 0, "\(what)")
            #expect(try other.message() == nil, "files for \(what)")
        }
        #expect(
            master.events.contains { "\($0)".contains("files not sent to 127.0.0.1") && "\($0)".contains("address is 10.66.0.12") },
            "\(master.events)")
    }

    @Test("the largest file part there can be (a 255-character path, the largest owner, mode and size) fits a frame")
    func worstPart() throws {
        let path = (0..<31).map { _ in "abcdefg" }.joined(separator: "/").prefix(255)
        #expect(JoinFile.isPlain(String(path)) == false, "more than 8 parts")
        let long = String(repeating: "a", count: 127) + "/" + String(repeating: "b", count: 127)
        #expect(JoinFile.isPlain(long))
        let file = JoinFile(
            path: long, mode: 0o777, uid: UInt32.max, gid: UInt32.max, contents: [UInt8](repeating: 0xFF, count: JoinFile.maxSize))
        let messages = file.messages
        #expect(messages.allSatisfy { $0.bytes.count + 16 <= FrameReader.maximum }, "\(messages.map(\.bytes.count).max() ?? 0)")
        var assembler = JoinFile.Assembler()
        for message in messages { try assembler.add(message) }
        #expect(assembler.files == [file])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
