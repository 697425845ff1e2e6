import Foundation
import Testing

/// Boots the default image in QEMU (TCG) the ways a lab boots it, in 128 MB of RAM,
/// and reads the serial console. One boot per scenario, one image for all of them.
@Suite("QEMU boots", .serialized)
struct BootTests {
    /// A generous bound: a BIOS boot under TCG takes 10-30 s on a loaded 2-core machine.
    static let bootSeconds = 240.0

    private func boot(_ name: String, _ arguments: [String]) throws -> Console {
        try Console(name, bootArguments: arguments + ["--memory", "128", "--timeout", "600"])
    }

    @Test("ISO as a CD boots to the agent in auto mode")
    func cdAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("cd-auto", [out + "/clump.iso"])
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
        try console.expect("auto mode not yet available", within: 60)
    }

    @Test("the same ISO as a hard disk (hybrid MBR) boots, in safe mode")
    func diskSafe() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("disk-safe", [out + "/clump.iso", "--as", "disk", "--mode", "safe"])
        try console.expect(#"clump: agent \S+ mode=safe"#, within: Self.bootSeconds)
        try console.expect("clump: safe mode: no autoconfiguration", within: 60)
    }

    @Test("the ISO as a hard disk reaches auto mode by the menu's default")
    func diskAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("disk-auto", [out + "/clump.iso", "--as", "disk"])
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
    }

    @Test("PXE through the tftpboot tree over QEMU's user network")
    func pxeAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("pxe-auto", [out + "/tftpboot"])
        try console.expect("PXELINUX", within: Self.bootSeconds)
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
    }

    @Test("expert mode typed at the isolinux prompt gives a working shell; poweroff ends QEMU")
    func cdExpert() async throws {
        let out = try await SharedImage.shared.outDir()
        // No --mode: type the label at the prompt ourselves, as a user at the console would.
        let console = try boot("cd-expert", [out + "/clump.iso"])
        try console.expect("boot:", within: Self.bootSeconds)
        console.type("expert")
        try console.expect(#"clump: agent \S+ mode=expert"#, within: Self.bootSeconds)
        try console.expect("#", within: 60)
        console.type("echo shell-$((6*7))")
        try console.expect("shell-42", within: 30)
        console.type("poweroff")
        try console.expect("clump: powering off", within: 60)
        let status = try console.waitForExit(within: 60)
        #expect(status == 0, "QEMU exit status after poweroff")
    }
}
