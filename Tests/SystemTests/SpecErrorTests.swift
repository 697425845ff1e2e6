import Foundation
import Testing

/// Bad specs, end to end: a clear error with file, line:column and key path, exit code 2,
/// and nothing written to the out directory.
@Suite("bad specs")
struct SpecErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let yaml: String
        /// Fragments the error message must contain.
        let expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown key", yaml: "label: CLUMP\nbooot:\n  timeout: 3\n", expected: ["clump.yaml:2:1", "booot", "boot"]),
        Case(name: "wrong type", yaml: "boot:\n  timeout: five\n", expected: ["clump.yaml:2:12", "boot.timeout"]),
        Case(
            name: "missing kernel", yaml: "kernel:\n  image: /nonexistent/vmlinuz-9.9.9\n",
            expected: ["clump.yaml:2:10", "kernel.image"]),
        Case(
            name: "unreadable module dir", yaml: "kernel:\n  modules: /nonexistent/lib/modules/9.9.9\n",
            expected: ["clump.yaml:2:12", "kernel.modules"]),
        Case(
            name: "a driver the kernel lacks", yaml: "drivers:\n  include: [ethernet, e1000x]\n",
            expected: ["clump.yaml:2:23", "drivers.include[1]", "e1000x"]),
        Case(
            name: "a previous key that is not there", yaml: "cluster:\n  previous-key-file: old.key\n",
            expected: ["clump.yaml:2:22", "cluster.previous-key-file", "old.key does not exist"]),
        Case(
            name: "Secure Boot with stripped modules", yaml: "boot:\n  secure-boot: true\ndrivers:\n  strip: true\n",
            expected: ["clump.yaml:4:10", "drivers.strip", "strip: false"]),
        Case(
            name: "a Slurm engine without its MUNGE key",
            yaml: "engine:\n  slurm:\n    controller: 10.0.2.1\n    munge-key-file: no.key\n",
            expected: ["clump.yaml:4:21", "engine.slurm.munge-key-file", "no.key: no such file", "mungekey"]),
        Case(
            name: "a Slurm controller with a bad port", yaml: "engine:\n  slurm:\n    controller: \"master:0\"\n",
            expected: ["clump.yaml:3:17", "engine.slurm.controller", "not a port", "HOST:PORT"]),
    ]

    @Test(arguments: cases)
    func rejected(_ testCase: Case) throws {
        let work = try Harness.scratch("badspec")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try testCase.yaml.write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try Harness.run(
            [try Harness.clumpbuild, "build", "--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work)
        #expect(status == 2, "exit status \(status), output:\n\(output)")
        for fragment in testCase.expected {
            #expect(output.contains(fragment), "'\(fragment)' not in:\n\(output)")
        }
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: work + "/out")) ?? []
        #expect(leftovers.isEmpty, "output written despite the error: \(leftovers)")
    }

    /// Debian's kernel with its Authenticode certificate table cut off: what a self-built kernel looks
    /// like to Secure Boot firmware.
    @Test("Secure Boot with an unsigned kernel is a spec error at kernel.image, and nothing is written")
    func secureBootRefusesAnUnsignedKernel() throws {
        let work = try Harness.scratch("unsigned")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let version = try #require(
            try FileManager.default.contentsOfDirectory(atPath: "/lib/modules").filter {
                FileManager.default.fileExists(atPath: "/boot/vmlinuz-\($0)")
            }.sorted().last, "no kernel with modules installed")
        var kernel = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/boot/vmlinuz-\(version)")))
        // PE32+: the optional header follows the 24-byte signature and COFF header; the certificate
        // table is the fifth 8-byte data directory, at byte 112 + 32 of it.
        let pe = Int(kernel[0x3C]) | Int(kernel[0x3D]) << 8 | Int(kernel[0x3E]) << 16 | Int(kernel[0x3F]) << 24
        let directory = pe + 24 + 112 + 4 * 8
        let signedSize = Int(kernel[directory]) | Int(kernel[directory + 1]) << 8 | Int(kernel[directory + 2]) << 16
            | Int(kernel[directory + 3]) << 24
        #expect(signedSize > 0, "the host kernel is not signed to begin with")
        kernel.replaceSubrange(directory..<(directory + 8), with: [UInt8](repeating: 0, count: 8))
        try Data(kernel).write(to: URL(fileURLWithPath: work + "/vmlinuz"))
        let yaml =
            "kernel:\n  image: vmlinuz\n  modules: /lib/modules/\(version)\n"
            + "boot:\n  secure-boot: true\ndrivers:\n  strip: false\n"
        try yaml.write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try Harness.run(
            [try Harness.clumpbuild, "build", "--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work)
        #expect(status == 2, "exit status \(status), output:\n\(output)")
        for fragment in ["clump.yaml:2:10", "kernel.image", "is not signed", "secure-boot: false"] {
            #expect(output.contains(fragment), "'\(fragment)' not in:\n\(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: work + "/out/clump.iso"))
    }

    @Test("init writes ./clump.yaml, which build accepts, and refuses to overwrite it without --force")
    func initInTheCurrentDirectory() throws {
        let work = try Harness.scratch("init")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let first = try Harness.run([try Harness.clumpbuild, "init"], cwd: work)
        #expect(first.status == 0, "\(first.output)")
        let written = try String(contentsOfFile: work + "/clump.yaml", encoding: .utf8)
        #expect(written.contains("kernel:"))
        let again = try Harness.run([try Harness.clumpbuild, "init"], cwd: work)
        #expect(again.status == 1, "\(again.output)")
        #expect(again.output.contains("--force"), "\(again.output)")
        #expect(try String(contentsOfFile: work + "/clump.yaml", encoding: .utf8) == written)
        let forced = try Harness.run([try Harness.clumpbuild, "init", "--force"], cwd: work)
        #expect(forced.status == 0, "\(forced.output)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
