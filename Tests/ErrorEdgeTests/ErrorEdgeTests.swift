import AgentSupport
import AutoMap
import ClusterView
import ELF
import ImageBuilder
import ImageSpec
import Kernel
import KernelBuild
import MasterSide
import NetProbe
import Testing
import XZ

/// Every module's error, thrown out of an executable, reaches the user as its own sentence,
/// prefixed by the program, with the exit status it asks for: never ArgumentParser's generic
/// `Error:` line or a Swift type dump.
@Suite struct ErrorEdgeTests {
    /// One error of each module's type, with the words its description must carry.
    static let errors: [(any ClumpError, words: String, code: Int32)] = [
        (OperationError(operation: "mount", path: "/proc", code: 1, hint: "run as root"), "/proc", 1),
        (ELFError(.notELF, "not an ELF file", file: "/bin/x"), "/bin/x", 1),
        (XZError(.corrupt, "corrupt stream", file: "/m.ko.xz"), "/m.ko.xz", 1),
        (KernelError(.io, "no modules.dep", file: "/lib/modules/6.1/modules.dep"), "modules.dep", 1),
        (AutoMapError(.badPrefix("33"), file: "hpc.map", line: 3), "hpc.map", 1),
        (DHCPError(.malformed("short packet"), interface: "eth0"), "eth0", 1),
        (ClusterViewError(operation: "open", path: "/run/clump/cluster", code: 2), "/run/clump/cluster", 1),
        (ImageBuilderError.io("read", path: "/boot/vmlinuz"), "/boot/vmlinuz", 1),
        (MasterSideError("no PXE tree", subject: "out/tftpboot", hint: "run clumpbuild build"), "out/tftpboot", 1),
        (SpecError(file: "clump.yaml", location: nil, keyPath: "boot.timeout", message: "too long"), "boot.timeout", 2),
        (KernelBuildError("interrupted", "stopped by SIGINT"), "SIGINT", 130),
        (KernelBuildError("make", "failed", file: "/usr/src/linux"), "/usr/src/linux", 1),
    ]

    @Test(arguments: errors.indices)
    func everyModulesErrorReachesTheUserFormatted(_ index: Int) {
        let (error, words, code) = Self.errors[index]
        let (text, exitCode) = ErrorEdge.report(error, program: "clumpbuild")
        #expect(text == "clumpbuild: " + error.description)
        #expect(text.contains(words))
        // A description of its own, not Swift's reflection of the value (`Kind(...)`, `message:`).
        #expect(!text.contains("(kind:") && !text.contains("message: \""))
        #expect(exitCode == code)
    }

    /// An error of no module of ours keeps its own words and fails with 1.
    @Test func foreignErrorsStillSayWhatHappened() {
        struct Other: Error, CustomStringConvertible { var description: String { "disk on fire" } }
        let (text, code) = ErrorEdge.report(Other(), program: "clumpview")
        #expect(text == "clumpview: disk on fire")
        #expect(code == 1)
    }
}
