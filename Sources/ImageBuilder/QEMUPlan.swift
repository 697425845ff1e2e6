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

    /// The machine's firmware: SeaBIOS, or OVMF (UEFI), with Secure Boot enforced and
    /// Microsoft's keys enrolled for `uefiSecure`.
    public enum Firmware: String, Sendable, Equatable, CaseIterable {
        case bios
        case uefi
        case uefiSecure = "uefi-secure"
    }

    public var medium: Medium
    public var firmware: Firmware
    /// The writable copy of OVMF's variable store this machine uses (UEFI only; the runner
    /// makes it from `varsTemplate`, so boot entries a run writes never leak into the next).
    public var uefiVars: String?
    /// The cards, one `-device` and one `-netdev` each: a model, then optional comma-separated
    /// `net=CIDR` (that card's user network, default QEMU's 10.0.2.0/24) or `tap=NAME` (an
    /// existing tap device instead of a user network: on a bridge with a real DHCP server and
    /// other drones, a cluster of VMs), and device properties such as `addr=4` (PCI slot) or
    /// `mac=...`: `e1000,addr=4,net=10.0.3.0/24`, `e1000,tap=clump1,mac=52:54:00:00:00:11`.
    /// Pinning `addr` keeps the hardware the same while the command-line order changes.
    public var nics: [String]
    public var memoryMB: Int
    public var accelerator: String
    public var qemu: String
    /// A software TPM's control socket (`swtpm socket --tpm2 --ctrl type=unixio,path=...`), given to
    /// the machine as a TPM 2.0 on the TIS interface: the drone finds it as /dev/tpmrm0.
    public var tpmSocket: String?

    public init(
        medium: Medium, nics: [String] = ["e1000"], memoryMB: Int = 256, accelerator: String = "tcg",
        qemu: String = "qemu-system-x86_64", firmware: Firmware = .bios, uefiVars: String? = nil
    ) {
        self.medium = medium
        self.firmware = firmware
        self.uefiVars = uefiVars
        self.nics = nics
        self.memoryMB = memoryMB
        self.accelerator = accelerator
        self.qemu = qemu
    }

    /// Debian's OVMF (package ovmf), 4 MiB flash layout.
    public static let ovmfDirectory = "/usr/share/OVMF"

    /// OVMF's code: the Secure Boot build (SMM-protected variables) for `uefiSecure`.
    public var firmwareCode: String? {
        switch firmware {
        case .bios: return nil
        case .uefi: return Self.ovmfDirectory + "/OVMF_CODE_4M.fd"
        case .uefiSecure: return Self.ovmfDirectory + "/OVMF_CODE_4M.secboot.fd"
        }
    }

    /// The variable store to copy: empty, or with Microsoft's keys enrolled and Secure Boot on.
    public var varsTemplate: String? {
        switch firmware {
        case .bios: return nil
        case .uefi: return Self.ovmfDirectory + "/OVMF_VARS_4M.fd"
        case .uefiSecure: return Self.ovmfDirectory + "/OVMF_VARS_4M.ms.fd"
        }
    }

    /// The file QEMU's DHCP server names for PXE: pxelinux for a BIOS, shim for UEFI.
    public var pxeBootFile: String { firmware == .bios ? "pxelinux.0" : "bootx64.efi" }

    /// The full argv, program first.
    ///
    /// The user network runs with `restrict=on`: the guest reaches QEMU's built-in DHCP
    /// and TFTP servers and nothing beyond them, so a try-out never sends traffic out.
    public func arguments() -> [String] {
        var args = [
            qemu, "-nographic", "-no-reboot", "-accel", accelerator, "-m", "\(memoryMB)",
        ]
        if firmware == .uefiSecure {
            // The Secure Boot build keeps its variables behind SMM: without an SMM-capable
            // machine and a secure flash it stops before it prints anything.
            args += ["-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"]
        }
        if let code = firmwareCode {
            args += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=\(code)"]
            args += ["-drive", "if=pflash,format=raw,unit=1,file=\(uefiVars ?? varsTemplate ?? "")"]
        }
        var boot = ""
        switch medium {
        case .cdrom(let iso):
            args += ["-drive", "file=\(iso),media=cdrom,format=raw,readonly=on", "-boot", "d"]
        case .disk(let iso):
            // snapshot=on: the guest may write to its "USB stick"; the ISO file stays intact.
            args += ["-drive", "file=\(iso),format=raw,if=ide,snapshot=on", "-boot", "c"]
        case .pxe(let tree):
            boot = ",tftp=\(tree),bootfile=\(pxeBootFile)"
            args += ["-boot", "n"]
        }
        // USB cards (usb-net) need a host controller; xHCI serves USB 1 to 3 on one PCI function.
        if nics.contains(where: { $0.hasPrefix("usb-") }) { args += ["-device", "qemu-xhci,id=usb"] }
        for (number, nic) in nics.enumerated() {
            var fields = nic.split(separator: ",").map(String.init)
            let model = fields.isEmpty ? "e1000" : fields.removeFirst()
            var netdev: String
            if let tap = fields.first(where: { $0.hasPrefix("tap=") }) {
                // The tap's owner (a bridge, its DHCP server) is the network; QEMU runs no scripts.
                netdev = "tap,id=net\(number),ifname=\(tap.dropFirst(4)),script=no,downscript=no"
            } else {
                netdev = "user,id=net\(number),restrict=on"
                if let net = fields.first(where: { $0.hasPrefix("net=") }) { netdev += "," + net }
                // The PXE ROM boots from the first card, so only its network serves the tree.
                if number == 0 { netdev += boot }
            }
            let properties = fields.filter { !$0.hasPrefix("net=") && !$0.hasPrefix("tap=") }.map { "," + $0 }.joined()
            args += ["-netdev", netdev, "-device", "\(model),netdev=net\(number)\(properties)"]
        }
        if let tpmSocket {
            args += ["-chardev", "socket,id=tpm0chr,path=\(tpmSocket)", "-tpmdev", "emulator,id=tpm0,chardev=tpm0chr", "-device", "tpm-tis,tpmdev=tpm0"]
        }
        return args
    }

    /// What is wrong with a `nics` entry, for the command line's error; nil when it is usable.
    public static func problem(nic: String) -> String? {
        let fields = nic.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let model = fields.first, !model.isEmpty, !model.contains("=") else {
            return "--nic '\(nic)': start with a card model (e1000, virtio-net-pci, rtl8139, ...)"
        }
        let tap = fields.filter { $0.hasPrefix("tap=") }
        if tap.count > 1 || tap.contains("tap=") { return "--nic '\(nic)': give one tap=NAME with a device name" }
        if !tap.isEmpty && fields.contains(where: { $0.hasPrefix("net=") }) {
            return "--nic '\(nic)': net= sets up QEMU's user network; a tap= card is on the tap's network: drop one of them"
        }
        return nil
    }
}
