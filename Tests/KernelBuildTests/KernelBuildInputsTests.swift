import Foundation
import Testing

@testable import KernelBuild

@Suite struct KernelBuildInputsTests {
    static let inputs = KernelBuildInputs(
        source: "/usr/src/linux-source-6.1.tar.xz", sourceIdentity: "tarball size 1 mtime 2.0", base: "tinyconfig",
        baseText: nil,
        fragments: [.init(name: "required.config", path: "/k/required.config", text: "CONFIG_NET=y\n")],
        patches: [.init(name: "banner.patch", path: "/p/banner.patch", text: "--- a/x\n+++ b/x\n")],
        toolchain: ["gcc (Debian 12.2.0-14) 12.2.0", "GNU ld 2.40", "GNU Make 4.3"], timestamp: "Tue Nov 14 2023",
        user: "clump", host: "clump")

    @Test("same inputs, same key; the key is 24 hex digits")
    func stable() {
        #expect(Self.inputs.key == Self.inputs.key)
        #expect(Self.inputs.key.count == 24)
        #expect(Self.inputs.key.allSatisfy { $0.isHexDigit })
    }

    @Test(
        "every input changes the key",
        arguments: [
            "source", "identity", "base", "fragment", "patch", "patch order", "toolchain", "timestamp", "user", "host",
        ])
    func everyInput(_ what: String) {
        var other = Self.inputs
        switch what {
        case "source": other.source = "/src/linux"
        case "identity": other.sourceIdentity = "tarball size 1 mtime 3.0"
        case "base": other.base = "defconfig"
        case "fragment": other.fragments[0].text = "CONFIG_NET=n\n"
        case "patch": other.patches[0].text += " "
        case "patch order": other.patches.insert(.init(name: "b.patch", path: "/p/b.patch", text: "x"), at: 0)
        case "toolchain": other.toolchain[0] = "gcc (Debian 12.2.0-15) 12.2.0"
        case "timestamp": other.timestamp = "Wed Nov 15 2023"
        case "user": other.user = "root"
        default: other.host = "master"
        }
        #expect(other.key != Self.inputs.key, "\(what)")
    }

    @Test("a profile brings the profiles it includes first, each once")
    func includes() throws {
        let directory = NSTemporaryDirectory() + "clump-profiles-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/profiles", withIntermediateDirectories: true)
        try "CONFIG_E1000=m\n".write(toFile: directory + "/nic.config", atomically: true, encoding: .utf8)
        try "# clump: base tinyconfig\nCONFIG_E1000=y\n".write(
            toFile: directory + "/profiles/small.config", atomically: true, encoding: .utf8)
        try "# clump: include small\n# clump: include nic\nCONFIG_MODULES=y\n".write(
            toFile: directory + "/profiles/big.config", atomically: true, encoding: .utf8)
        var seen: Set<String> = []
        let paths = try KernelBuildInputs.fragmentPaths("big", kernelConfig: directory, seen: &seen)
        #expect(
            paths == [
                directory + "/profiles/small.config", directory + "/nic.config", directory + "/profiles/big.config",
            ])
        #expect(try KernelBuildInputs.fragmentPaths("small", kernelConfig: directory, seen: &seen).isEmpty)
        var again: Set<String> = []
        #expect(throws: KernelBuildError.self) {
            _ = try KernelBuildInputs.fragmentPaths("huge", kernelConfig: directory, seen: &again)
        }
    }

    @Test("builtin options become a fragment of =y lines")
    func builtin() {
        #expect(KernelBuildInputs.builtinFragment(["E1000", "CONFIG_VIRTIO_NET"]) == "CONFIG_E1000=y\nCONFIG_VIRTIO_NET=y\n")
    }

    @Test("the timestamp is written as date(1) prints it, in UTC")
    func timestamp() {
        #expect(KernelBuilder.timestamp(epoch: 1_700_000_000) == "Tue Nov 14 22:13:20 UTC 2023")
    }

    @Test("make's short output moves the progress line")
    func progress() {
        var progress = BuildProgress()
        #expect(progress.line == "kernel: configuring, 0 objects")
        let moved = [
            "  CC      kernel/fork.o", "  AS      arch/x86/entry/entry_64.o", "make[1]: Entering directory '/x'",
        ].map { progress.take($0) }
        #expect(moved == [true, true, false])
        #expect(progress.line == "kernel: compiling, 2 objects (arch/x86/entry/entry_64.o)")
        let vdso = progress.take("  OBJCOPY arch/x86/entry/vdso/vdso64.so")
        #expect(!vdso && progress.stage == "compiling")
        let linking = progress.take("  LD      vmlinux.o")
        #expect(linking && progress.stage == "linking")
        let packing = progress.take("  BUILD   arch/x86/boot/bzImage")
        #expect(packing)
        #expect(progress.line == "kernel: packing the image, 2 objects (arch/x86/boot/bzImage)")
    }
}
