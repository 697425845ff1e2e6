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
    /// The cards, one `-device` and one user-network `-netdev` each: a model, then optional
    /// comma-separated `net=CIDR` (that card's user network, default QEMU's 10.0.2.0/24) and
    /// device properties such as `addr=4` (PCI slot) or `mac=...`: `e1000,addr=4,net=10.0.3.0/24`.
    /// Pinning `addr` keeps the hardware the same while the command-line order changes.
    public var nics: [String]
    public var memoryMB: Int
    public var accelerator: String
    public var qemu: String

    public init(
        medium: Medium, nics: [String] = ["e1000"], memoryMB: Int = 256, accelerator: String = "tcg",
        qemu: String = "qemu-system-x86_64"
    ) {
        self.medium = medium
        self.nics = nics
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
        var boot = ""
        switch medium {
        case .cdrom(let iso):
            args += ["-drive", "file=\(iso),media=cdrom,format=raw,readonly=on", "-boot", "d"]
        case .disk(let iso):
            // snapshot=on: the guest may write to its "USB stick"; the ISO file stays intact.
            args += ["-drive", "file=\(iso),format=raw,if=ide,snapshot=on", "-boot", "c"]
        case .pxe(let tree):
            boot = ",tftp=\(tree),bootfile=pxelinux.0"
            args += ["-boot", "n"]
        }
        for (number, nic) in nics.enumerated() {
            var fields = nic.split(separator: ",").map(String.init)
            let model = fields.isEmpty ? "e1000" : fields.removeFirst()
            var netdev = "user,id=net\(number),restrict=on"
            if let net = fields.first(where: { $0.hasPrefix("net=") }) { netdev += "," + net }
            // The PXE ROM boots from the first card, so only its network serves the tree.
            if number == 0 { netdev += boot }
            let properties = fields.filter { !$0.hasPrefix("net=") }.map { "," + $0 }.joined()
            args += ["-netdev", netdev, "-device", "\(model),netdev=net\(number)\(properties)"]
        }
        return args
    }
}
