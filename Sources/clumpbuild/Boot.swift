import ArgumentParser
import Foundation
import ImageBuilder

struct Boot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try an image out in QEMU, with its serial console on this terminal.",
        discussion: """
            An ISO boots as a CD (or, with --as disk, as a hard disk, like a USB stick); a \
            tftpboot directory boots by PXE over QEMU's user network (restrict=on, its own \
            DHCP and TFTP). Leave with Ctrl-A X, or power the drone off.
            """
    )

    enum Medium: String, ExpressibleByArgument, CaseIterable {
        case cd, disk
    }

    @Argument(help: "clump.iso, or a tftpboot directory.")
    var image: String

    @Option(help: "Boot mode to type at the boot prompt (auto, expert, safe). Default: the menu's default.")
    var mode: String?

    @Option(name: .customLong("as"), help: "How to attach an ISO: cd or disk.")
    var medium: Medium = .cd

    @Option(
        help: """
            QEMU network card: a model (e1000, virtio-net-pci, rtl8139, usb-net, ...), optionally \
            with ,net=CIDR for its own user network, or ,tap=NAME to use an existing tap device (on \
            a bridge with your DHCP server and other drones) instead, and device properties like \
            ,addr=4 (PCI slot), ,port=2 (USB port) or ,mac=52:54:00:00:00:11. Repeat for more cards.
            """)
    var nic: [String] = ["e1000"]

    @Option(
        help: """
            Firmware: bios (SeaBIOS), uefi (OVMF) or uefi-secure (OVMF with Secure Boot on and \
            Microsoft's keys, on a q35 machine with SMM).
            """)
    var firmware: QEMUPlan.Firmware = .bios

    @Option(
        help: "Memory in MiB. Default: 256 for bios, 512 for uefi (GRUB under OVMF runs out of memory below about 320).")
    var memory: Int?

    @Option(help: "QEMU accelerator: tcg (always works) or kvm.")
    var accel: String = "tcg"

    @Option(help: "Stop QEMU after this many seconds (exit status 124).")
    var timeout: Int?

    @Option(
        help: """
            A software TPM for the machine: the control socket of a running \
            `swtpm socket --tpm2 --tpmstate dir=DIR --ctrl type=unixio,path=SOCKET` (package swtpm). \
            The drone proves it when it joins; one state directory is one TPM.
            """)
    var tpm: String?

    func validate() throws {
        if let mode, !["auto", "expert", "safe"].contains(mode) {
            throw ValidationError("--mode must be auto, expert or safe, not '\(mode)'")
        }
        if let memory, memory < 64 { throw ValidationError("--memory \(memory): a drone needs at least 64 MiB") }
        if let problem = nic.lazy.compactMap(QEMUPlan.problem(nic:)).first { throw ValidationError(problem) }
        if let tpm {
            var info = stat()
            guard stat(tpm, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else {
                throw ValidationError(
                    "--tpm \(tpm): not a socket; start one with `swtpm socket --tpm2 --tpmstate dir=DIR --ctrl type=unixio,path=\(tpm)`")
            }
        }
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: image, isDirectory: &isDirectory) else {
            throw ValidationError("\(image): no such file or directory (build one with `clumpbuild build`)")
        }
        let target: QEMUPlan.Medium
        if isDirectory.boolValue {
            let loader = QEMUPlan(medium: .pxe(image), firmware: firmware).pxeBootFile
            guard FileManager.default.fileExists(atPath: image + "/" + loader) else {
                throw ValidationError("\(image): not a tftpboot tree for \(firmware.rawValue) (no \(loader) in it)")
            }
            target = .pxe(image)
        } else {
            target = medium == .disk ? .disk(image) : .cdrom(image)
        }
        var plan = QEMUPlan(
            medium: target, nics: nic, memoryMB: memory ?? (firmware == .bios ? 256 : 512), accelerator: accel,
            firmware: firmware)
        plan.tpmSocket = tpm
        try exitOnFailure {
            let status = try QEMURunner(plan: plan, mode: mode, timeoutSeconds: timeout).run()
            if status != 0 { throw ExitCode(status) }
        }
    }
}

extension QEMUPlan.Firmware: ExpressibleByArgument {}
