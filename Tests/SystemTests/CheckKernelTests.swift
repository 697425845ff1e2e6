import Foundation
import Testing

/// `clumpbuild check-kernel` on the real Debian config and on edited copies of it.
@Suite("check-kernel")
struct CheckKernelTests {
    static func hostConfig() throws -> String {
        let boot = try FileManager.default.contentsOfDirectory(atPath: "/boot")
            .filter { $0.hasPrefix("config-") }.sorted()
        guard let newest = boot.last else { throw HarnessError("no /boot/config-*: apt-get install linux-image-amd64") }
        return "/boot/" + newest
    }

    @Test("Debian's kernel has everything a drone needs")
    func debianKernelPasses() throws {
        let (status, output) = try Harness.run([try Harness.clumpbuild, "check-kernel", "--verbose", "--config", try Self.hostConfig()])
        #expect(status == 0, "\(output)")
        #expect(output.contains("CONFIG_DEVTMPFS=y ok"), "\(output)")
        #expect(output.contains("=> a drone can boot this kernel"), "\(output)")
    }

    @Test("a kernel without devtmpfs fails, naming the option and why it is needed")
    func missingRequiredOption() throws {
        let work = try Harness.scratch("kconfig")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let text = try String(contentsOfFile: try Self.hostConfig(), encoding: .utf8)
            .replacingOccurrences(of: "CONFIG_DEVTMPFS=y", with: "# CONFIG_DEVTMPFS is not set")
        try text.write(toFile: work + "/config", atomically: true, encoding: .utf8)
        let (status, output) = try Harness.run([try Harness.clumpbuild, "check-kernel", "--config", work + "/config"])
        #expect(status == 1, "\(output)")
        #expect(output.contains("CONFIG_DEVTMPFS"), "\(output)")
    }

    @Test("--against lists the MOSIX topology difference the Clump/OS FAQ warns about")
    func againstMaster() throws {
        let work = try Harness.scratch("kconfig")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let node = try String(contentsOfFile: try Self.hostConfig(), encoding: .utf8)
        try (node + "CONFIG_MOSIX=y\n").write(toFile: work + "/node", atomically: true, encoding: .utf8)
        try (node + "CONFIG_MOSIX=y\nCONFIG_MOSIX_TOPOLOGY=y\n").write(
            toFile: work + "/master", atomically: true, encoding: .utf8)
        let (status, output) = try Harness.run([
            try Harness.clumpbuild, "check-kernel", "--config", work + "/node", "--against", work + "/master",
        ])
        #expect(status == 1, "\(output)")
        #expect(output.contains("CONFIG_MOSIX_TOPOLOGY"), "\(output)")
        let same = try Harness.run([
            try Harness.clumpbuild, "check-kernel", "--config", work + "/node", "--against", work + "/node",
        ])
        #expect(!same.output.contains("CONFIG_MOSIX_TOPOLOGY"), "\(same.output)")
    }
}
