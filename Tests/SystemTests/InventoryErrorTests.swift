import Foundation
import Testing

/// Bad inventories, end to end: `clumpbuild generate` and `serve` name the file, line:column and key,
/// exit with 2 and write nothing, not even the master directory.
@Suite("bad inventories")
struct InventoryErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let nodes: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "duplicate MAC", nodes: "- mac: 52:54:00:00:00:01\n- mac: 52:54:00:00:00:01\n",
            expected: ["nodes.yaml:2:8", "[1].mac", "listed twice", "[0] (line 1)"]),
        Case(name: "bad MAC", nodes: "- mac: 52:54:00:00:01\n", expected: ["nodes.yaml:1:8", "[0].mac", "not a MAC address"]),
        Case(
            name: "address outside the network", nodes: "- {mac: 52:54:00:00:00:01, address: 10.0.3.5}\n",
            expected: ["nodes.yaml:1:37", "[0].address", "outside the cluster network 10.0.2.0/24"]),
        Case(
            name: "unknown key", nodes: "- mac: 52:54:00:00:00:01\n  adress: 10.0.2.5\n",
            expected: ["nodes.yaml:2:3", "[0].adress", "unknown key", "did you mean `address`?"]),
        Case(
            name: "two nodes with one name", nodes: "- {mac: 52:54:00:00:00:01, name: a}\n- {mac: 52:54:00:00:00:02, name: a}\n",
            expected: ["nodes.yaml:2:34", "[1].name", "the name a already belongs to [0]"]),
    ]

    @Test(arguments: cases)
    func rejected(_ testCase: Case) throws {
        let work = try Harness.scratch("badnodes")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try "cluster:\n  network: 10.0.2.0/24\n".write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
        try testCase.nodes.write(toFile: work + "/nodes.yaml", atomically: true, encoding: .utf8)
        for command in [["generate"], ["serve", "--interface", "lo"]] {
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild] + command + ["--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work)
            #expect(status == 2, "\(command[0]): exit status \(status), output:\n\(output)")
            for fragment in testCase.expected {
                #expect(output.contains(fragment), "\(command[0]): '\(fragment)' not in:\n\(output)")
            }
            #expect(!FileManager.default.fileExists(atPath: work + "/out"), "\(command[0]) wrote despite the error")
        }
    }

    /// A shared root whose secrets any PC with a node's address could read (sec=sys: it claims the
    /// `shadow` group, or the user a key belongs to): generate refuses it, naming each, with exit 2;
    /// the spec's override lets it through; a root made safe passes.
    @Test func aSharedRootWithReadableSecretsIsRefused() throws {
        let work = try Harness.scratch("secrets")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let root = work + "/root"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/etc/ssh", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: work + "/out/tftpboot", withIntermediateDirectories: true)
        for name in ["vmlinuz", "initrd.img", "pxelinux.0", "ldlinux.c32"] {
            try name.write(toFile: work + "/out/tftpboot/" + name, atomically: true, encoding: .utf8)
        }
        // Debian's own modes: shadow root:shadow 0640; a host key made readable by a service's group.
        try "root:$y$j9T$abc$def:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n"
            .write(toFile: root + "/etc/shadow", atomically: true, encoding: .utf8)
        chown(root + "/etc/shadow", 0, 42)
        chmod(root + "/etc/shadow", 0o640)
        try "KEY\n".write(toFile: root + "/etc/ssh/ssh_host_ed25519_key", atomically: true, encoding: .utf8)
        chown(root + "/etc/ssh/ssh_host_ed25519_key", 0, 106)
        chmod(root + "/etc/ssh/ssh_host_ed25519_key", 0o640)
        try "PUB\n".write(toFile: root + "/etc/ssh/ssh_host_ed25519_key.pub", atomically: true, encoding: .utf8)
        try "- {mac: 52:54:00:00:00:01, boot: nfsroot}\n".write(toFile: work + "/nodes.yaml", atomically: true, encoding: .utf8)
        func generate(_ extra: String) throws -> (Int32, String) {
            try "cluster:\n  network: 10.0.2.0/24\nnfsroot:\n  root: \(root)\n\(extra)"
                .write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
            return try Harness.run(
                [try Harness.clumpbuild, "generate", "--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work)
        }
        let (status, output) = try generate("")
        #expect(status == 2, "exit \(status):\n\(output)")
        for fragment in [
            "clump.yaml:4:9", "nfsroot.root", "/etc/shadow (password hashes)", "/etc/ssh/ssh_host_ed25519_key (a private key)",
            "chmod 0600", "allow-readable-secrets",
        ] {
            #expect(output.contains(fragment), "'\(fragment)' not in:\n\(output)")
        }
        #expect(!output.contains("ssh_host_ed25519_key.pub"), "\(output)")
        #expect(!fm.fileExists(atPath: work + "/out/master/nfs/exports"), "exports written despite the refusal")

        let (allowed, allowedOutput) = try generate("  allow-readable-secrets: true\n")
        #expect(allowed == 0, "with the override: exit \(allowed):\n\(allowedOutput)")

        // Readable by root alone (squashed to nobody), or without a hash: nothing to refuse.
        chown(root + "/etc/ssh/ssh_host_ed25519_key", 0, 0)
        chmod(root + "/etc/ssh/ssh_host_ed25519_key", 0o600)
        try "root:*:19700:0:99999:7:::\n".write(toFile: root + "/etc/shadow", atomically: true, encoding: .utf8)
        chown(root + "/etc/shadow", 0, 42)
        chmod(root + "/etc/shadow", 0o640)
        let (safe, safeOutput) = try generate("")
        #expect(safe == 0, "a safe root: exit \(safe):\n\(safeOutput)")
    }
}
