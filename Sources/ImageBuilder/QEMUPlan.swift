/// How `clumpbuild boot` starts QEMU: a pure function from what to boot to an argv.
public struct QEMUPlan: Sendable, Equatable {
    /// What the virtual machine boots from.
    public enum Medium: Sendable, Equatable {
        /// The ISO as a CD (El Torito, isolinux).
        case cdrom(String)
        /// The same ISO as the first hard disk (hybrid MBR), as if written to a USB stick.
        case disk(String)
        /// PXE from a tftpboot tree, served by QEMU's own user-network DHCP and TFTP.
        case pxe(String)
    }

    public var medium: Medium
    public var nic: String
    public var memoryMB: Int
    public var accelerator: String
    public var qemu: String

    public init(
        medium: Medium, nic: String = "e1000", memoryMB: Int = 256, accelerator: String = "tcg",
        qemu: String = "qemu-system-x86_64"
    ) {
        self.medium = medium
        self.nic = nic
        self.memoryMB = memoryMB
        self.accelerator = accelerator
        self.qemu = qemu
    }

    /// The full argv, program first.
    ///
    /// The user network runs with `restrict=on`: the guest reaches QEMU's built-in DHCP
    /// and TFTP servers and nothing beyond them, so a try-out never sends traffic out.
    public func arguments() -> [String] {
        var args = [
            qemu, "-nographic", "-no-reboot", "-accel", accelerator, "-m", "\(memoryMB)",
        ]
        var netdev = "user,id=net0,restrict=on"
        switch medium {
        case .cdrom(let iso):
            args += ["-drive", "file=\(iso),media=cdrom,format=raw,readonly=on", "-boot", "d"]
        case .disk(let iso):
            // snapshot=on: the guest may write to its "USB stick"; the ISO file stays intact.
            args += ["-drive", "file=\(iso),format=raw,if=ide,snapshot=on", "-boot", "c"]
        case .pxe(let tree):
            netdev += ",tftp=\(tree),bootfile=pxelinux.0"
            args += ["-boot", "n"]
        }
        args += ["-netdev", netdev, "-device", "\(nic),netdev=net0"]
        return args
    }
}
