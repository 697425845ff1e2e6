import Foundation
import Testing

/// Boots the default image under OVMF (UEFI firmware, TCG) from a CD, a USB stick and the
/// network, and a Secure Boot image under OVMF with Secure Boot on and Microsoft's keys.
/// GRUB under OVMF runs out of memory loading the kernel below about 320 MiB, hence 384.
@Suite("QEMU boots under UEFI", .serialized)
struct UEFIBootTests {
    static let bootSeconds = 240.0

    private func boot(_ name: String, _ arguments: [String], firmware: String = "uefi") throws -> Console {
        try Console(name, bootArguments: arguments + ["--firmware", firmware, "--memory", "384", "--timeout", "600"])
    }

    /// GRUB's line naming where it was loaded from, then the agent's lines up to the node's map.
    private func expectNode(_ console: Console, loadedFrom: String) throws {
        try console.expect(#"clump: UEFI boot loader from "# + loadedFrom, within: Self.bootSeconds)
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
        try console.expect(#"clump: lease eth0 10\.0\.2\.15/24"#, within: 120)
        try console.expect(#"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254\r?\n"#, within: 30)
    }

    @Test("the ISO as a CD: OVMF boots the UEFI El Torito entry, GRUB's default is auto mode")
    func cdAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("uefi-cd-auto", [out + "/clump.iso"])
        try expectNode(console, loadedFrom: #"\(cd0\)/EFI/BOOT"#)
    }

    /// OVMF would boot the El Torito entry of a disk too; the GPT makes it use the partition,
    /// as a PC's firmware does with a USB stick, and GRUB says it came from that partition.
    @Test("the ISO as a disk (USB stick): GRUB starts from the GPT's EFI partition and finds the ISO")
    func diskAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("uefi-disk-auto", [out + "/clump.iso", "--as", "disk"])
        try expectNode(console, loadedFrom: #"\(hd0,gpt1\)/EFI/BOOT, root hd0"#)
    }

    @Test("PXE for a UEFI client: shim, then Debian's signed network GRUB, then its menu's default")
    func pxeAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("uefi-pxe-auto", [out + "/tftpboot"])
        try expectNode(console, loadedFrom: #"\(tftp,10\.0\.2\.2\)"#)
    }

    /// The master's TFTP root as `clumpbuild generate` writes it: GRUB's menu runs the known card's
    /// own menu (its node's kernel argument), and the command line names the card (BOOTIF).
    @Test("PXE from the master's tree: a known card's GRUB menu adds its node's kernel arguments and BOOTIF")
    func masterPXEKnownCard() throws {
        let work = try Harness.scratch("uefi-master")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try "boot:\n  quiet: false\ncluster:\n  network: 10.0.2.0/24\n".write(
            toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
        try "- mac: 52:54:00:12:34:56\n  kernel-args: [clump.test=uefi-node]\n".write(
            toFile: work + "/nodes.yaml", atomically: true, encoding: .utf8)
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        for command in ["build", "generate"] {
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild, command, "--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work,
                environment: env)
            #expect(status == 0, "clumpbuild \(command): \(output)")
        }
        let console = try boot("uefi-master-pxe", [work + "/out/master/tftp"])
        try console.expect(
            #"Command line: BOOT_IMAGE=/images/[0-9a-f]+/vmlinuz clump\.mode=auto .*clump\.test=uefi-node "#
                + #"BOOTIF=01-52-54-00-12-34-56"#, within: Self.bootSeconds)
        try console.expect(#"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254"#, within: Self.bootSeconds)
    }

    @Test("expert mode chosen in GRUB's menu gives a working shell; poweroff ends QEMU")
    func cdExpert() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("uefi-cd-expert", [out + "/clump.iso"])
        // Press the entry's hotkey as a user at the console would.
        try console.expect(#"2  expert"#, within: Self.bootSeconds)
        console.press("2")
        try console.expectWorkingShellThenPowerOff(within: Self.bootSeconds)
    }

    @Test("safe mode through clumpbuild boot --mode, which answers GRUB's menu with the hotkey")
    func cdSafe() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("uefi-cd-safe", [out + "/clump.iso", "--mode", "safe"])
        try console.expect(#"clump: agent \S+ mode=safe"#, within: Self.bootSeconds)
        try console.expect("clump: safe mode: no autoconfiguration", within: 60)
    }

    /// shim (Microsoft's key) -> Debian's GRUB (Debian's key in shim) -> Debian's kernel, which
    /// locks itself down and then loads only signed modules: both cards' drivers must load.
    @Test("Secure Boot: the signed chain boots, the kernel is locked down, e1000 and virtio_net load")
    func secureBoot() async throws {
        let out = try await SecureBootImage.shared.outDir()
        let console = try boot(
            "uefi-secure-boot",
            [out + "/clump.iso", "--nic", "e1000,addr=3", "--nic", "virtio-net-pci,addr=4,net=10.0.3.0/24"],
            firmware: "uefi-secure")
        try console.expect("Kernel is locked down from EFI Secure Boot", within: Self.bootSeconds)
        try console.expect("secureboot: Secure boot enabled", within: 30)
        // Kernel messages share the console (no `quiet`), so lines are matched without their ends.
        try console.expect("clump: nic eth0 52:54:00:12:34:56 driver e1000", within: 120)
        try console.expect("clump: nic eth1 52:54:00:12:34:57 driver virtio_net", within: 60)
        try console.expect(
            #"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254 alias 10\.0\.3\.15"#, within: 120)
        // A locked-down kernel says "Loading of unsigned module is rejected" for each refused module.
        #expect(!console.transcript.contains("is rejected"), "a module was refused")
    }
}

/// The Secure Boot image: shim and signed GRUB, modules with their signatures, and the
/// kernel's own messages on the console (no `quiet`), built once.
actor SecureBootImage {
    static let shared = SecureBootImage()
    static let spec = "boot:\n  secure-boot: true\n  quiet: false\ndrivers:\n  strip: false\n"
    private var built: Result<String, Error>?

    func outDir() throws -> String {
        if let built { return try built.get() }
        let result = Result { () throws -> String in
            let work = try Harness.scratch("secure-boot")
            try Self.spec.write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild, "build", "--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work,
                environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            guard status == 0 else { throw HarnessError("clumpbuild build (Secure Boot) failed (\(status)):\n\(output)") }
            return work + "/out"
        }
        built = result
        return try result.get()
    }
}

extension Console {
    /// Expert mode's promise: the agent starts in expert mode, the shell runs commands, and
    /// `poweroff` ends QEMU with status 0.
    func expectWorkingShellThenPowerOff(within seconds: Double) throws {
        try expect(#"clump: agent \S+ mode=expert"#, within: seconds)
        try expect("#", within: 60)
        type("echo shell-$((6*7))")
        try expect("shell-42", within: 30)
        type("poweroff")
        try expect("clump: powering off", within: 60)
        #expect(try waitForExit(within: 60) == 0, "QEMU exit status after poweroff")
    }
}
