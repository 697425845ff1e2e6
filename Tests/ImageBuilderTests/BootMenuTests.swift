import BootMenus
import Testing

@testable import ImageBuilder

@Suite struct BootMenuTests {
    static let menu = BootMenu(
        modes: [.auto, .expert, .safe], defaultMode: .auto, timeoutSeconds: 5, kernelArgs: ["loglevel=4"],
        serial: .init(port: 0, speed: 115200), quiet: true)

    @Test func commandLinePutsTheScreenLastSoItIsDevConsole() {
        #expect(Self.menu.commandLine(mode: .expert) == "clump.mode=expert console=ttyS0,115200 console=tty0 quiet loglevel=4")
    }

    @Test func syslinuxConfig() {
        let expected = """
            SERIAL 0 115200
            DISPLAY boot.txt
            PROMPT 1
            TIMEOUT 50
            DEFAULT auto

            LABEL auto
              KERNEL /boot/vmlinuz
              INITRD /boot/initrd.img
              APPEND clump.mode=auto console=ttyS0,115200 console=tty0 quiet loglevel=4

            LABEL expert
              KERNEL /boot/vmlinuz
              INITRD /boot/initrd.img
              APPEND clump.mode=expert console=ttyS0,115200 console=tty0 quiet loglevel=4

            LABEL safe
              KERNEL /boot/vmlinuz
              INITRD /boot/initrd.img
              APPEND clump.mode=safe console=ttyS0,115200 console=tty0 quiet loglevel=4

            """
        #expect(Self.menu.syslinuxConfig(kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img", display: "boot.txt") == expected)
    }

    /// syslinux reads TIMEOUT 0 as "wait forever"; a zero timeout must boot at once instead.
    @Test func zeroTimeoutBootsAtOnceWithoutSerial() {
        var menu = Self.menu
        menu.timeoutSeconds = 0
        menu.serial = nil
        menu.quiet = false
        menu.kernelArgs = []
        let config = menu.syslinuxConfig(kernel: "vmlinuz", initrd: "initrd.img", display: "boot.txt")
        #expect(config.hasPrefix("DISPLAY boot.txt\nPROMPT 0\nDEFAULT auto\n"))
        #expect(!config.contains("TIMEOUT"))
        #expect(config.contains("APPEND clump.mode=auto\n"))
    }

    @Test func ipxeScriptOffersEveryModeWithTheDefaultAndTimeout() {
        let script = Self.menu.ipxeScript(kernel: "vmlinuz", initrd: "initrd.img", version: "9.9")
        #expect(script.hasPrefix("#!ipxe\n"))
        #expect(script.contains("choose --default auto --timeout 5000 mode || set mode auto"))
        for mode in ["auto", "expert", "safe"] {
            #expect(script.contains("item \(mode) "))
            #expect(script.contains(":\(mode)\nkernel vmlinuz initrd=initrd.img clump.mode=\(mode) "))
        }
    }

    /// NFS-root entries load the add-on after the image's RAM disk, from beside it, in every loader's
    /// syntax; the other entries load the image's alone.
    @Test func nfsrootEntriesLoadTheAddOnBesideTheImage() {
        var menu = Self.menu
        menu.modes = [.nfsroot, .auto]
        menu.nfsrootAddOn = BootMenu.nfsrootAddOnName
        let syslinux = menu.syslinuxConfig(kernel: "images/g1/vmlinuz", initrd: "images/g1/initrd.img", display: "b")
        #expect(syslinux.contains("LABEL nfsroot\n  KERNEL images/g1/vmlinuz\n  INITRD images/g1/initrd.img,images/g1/nfsroot.img\n"))
        #expect(syslinux.contains("LABEL auto\n  KERNEL images/g1/vmlinuz\n  INITRD images/g1/initrd.img\n"))
        let ipxe = menu.ipxeScript(kernel: "vmlinuz", initrd: "initrd.img", version: "9.9")
        #expect(ipxe.contains(":nfsroot\nkernel vmlinuz initrd=initrd.img initrd=nfsroot.img clump.mode=nfsroot "))
        #expect(ipxe.contains("\ninitrd initrd.img\ninitrd nfsroot.img\nboot\n"))
        #expect(ipxe.contains(":auto\nkernel vmlinuz initrd=initrd.img clump.mode=auto "))
        let grub = menu.grubConfig(kernel: "/images/g1/vmlinuz", initrd: "/images/g1/initrd.img", version: "9.9")
        #expect(grub.contains("    initrd /images/g1/initrd.img /images/g1/nfsroot.img\n}\n\nmenuentry '2  auto"))
        menu.nfsrootAddOn = nil
        #expect(!menu.grubConfig(kernel: "/k", initrd: "/i", version: "9.9").contains("nfsroot.img"))
    }

    @Test func displayTextMarksTheDefault() {
        let text = Self.menu.displayText(version: "9.9")
        #expect(text.contains("clump 9.9 - cluster drone"))
        #expect(text.contains("  * auto     find the network card"))
        #expect(text.contains("    expert   a shell"))
        #expect(text.contains("auto starts in 5 s"))
    }
}

@Suite struct QEMUPlanTests {
    @Test(arguments: [
        (
            QEMUPlan.Medium.cdrom("/x/clump.iso"),
            "-drive file=/x/clump.iso,media=cdrom,format=raw,readonly=on -boot d -netdev user,id=net0,restrict=on"
        ),
        (
            QEMUPlan.Medium.disk("/x/clump.iso"),
            "-drive file=/x/clump.iso,format=raw,if=ide,snapshot=on -boot c -netdev user,id=net0,restrict=on"
        ),
        (
            QEMUPlan.Medium.pxe("/x/tftpboot"),
            "-boot n -netdev user,id=net0,restrict=on,tftp=/x/tftpboot,bootfile=pxelinux.0"
        ),
    ])
    func mediaAndRestrictedNetwork(medium: QEMUPlan.Medium, expected: String) {
        let argv = QEMUPlan(medium: medium, nics: ["virtio-net-pci"], memoryMB: 128).arguments()
        #expect(argv.prefix(8) == ["qemu-system-x86_64", "-nographic", "-no-reboot", "-accel", "tcg", "-m", "128", argv[7]])
        #expect(argv.joined(separator: " ").contains(expected))
        #expect(argv.suffix(2) == ["-device", "virtio-net-pci,netdev=net0"])
    }

    @Test func severalCardsEachOnTheirOwnUserNetwork() {
        let argv = QEMUPlan(
            medium: .pxe("/t"), nics: ["virtio-net-pci,addr=4,net=10.0.3.0/24", "e1000,addr=3"]
        ).arguments()
        #expect(
            argv.suffix(8) == [
                "-netdev", "user,id=net0,restrict=on,net=10.0.3.0/24,tftp=/t,bootfile=pxelinux.0",
                "-device", "virtio-net-pci,netdev=net0,addr=4",
                "-netdev", "user,id=net1,restrict=on", "-device", "e1000,netdev=net1,addr=3",
            ])
    }

    /// A USB card needs a host controller: one xHCI, before the cards, however many USB cards.
    @Test func usbCardsGetOneHostController() {
        let argv = QEMUPlan(medium: .cdrom("/c.iso"), nics: ["e1000", "usb-net,port=2", "usb-net"]).arguments()
        #expect(argv.filter { $0.hasPrefix("qemu-xhci") } == ["qemu-xhci,id=usb"])
        let controller = argv.firstIndex(of: "qemu-xhci,id=usb")!
        #expect(argv[controller - 1] == "-device")
        #expect(controller < argv.firstIndex(of: "e1000,netdev=net0")!)
        #expect(argv.contains("usb-net,netdev=net1,port=2"))
        #expect(!QEMUPlan(medium: .cdrom("/c.iso"), nics: ["e1000"]).arguments().contains { $0.contains("xhci") })
    }

    @Test func aTapCardUsesTheTapNotAUserNetwork() {
        let argv = QEMUPlan(medium: .pxe("/t"), nics: ["e1000,tap=clump1,mac=52:54:00:00:00:11"]).arguments()
        #expect(
            argv.suffix(4) == [
                "-netdev", "tap,id=net0,ifname=clump1,script=no,downscript=no",
                "-device", "e1000,netdev=net0,mac=52:54:00:00:00:11",
            ])
    }

    @Test(arguments: [
        ("e1000,tap=a,net=10.0.3.0/24", "drop one of them"), ("e1000,tap=", "one tap=NAME"),
        ("tap=a", "start with a card model"), ("", "start with a card model"),
    ])
    func badCardsAreExplained(nic: String, expected: String) {
        #expect(QEMUPlan.problem(nic: nic)?.contains(expected) == true)
    }

    @Test func goodCardsHaveNoProblem() {
        for nic in ["e1000", "virtio-net-pci,addr=4,net=10.0.3.0/24", "e1000,tap=clump1,mac=52:54:00:00:00:11"] {
            #expect(QEMUPlan.problem(nic: nic) == nil)
        }
    }
}

@Suite struct PromptWatcherTests {
    @Test func answersTheBootPromptOnceEvenWhenSplitAcrossReads() {
        var watcher = PromptWatcher(answer: "expert")
        #expect(watcher.feed(Array("ISOLINUX 6.04 ... bo".utf8)) == nil)
        #expect(watcher.feed(Array("ot: ".utf8)) == Array("expert\r".utf8))
        #expect(watcher.feed(Array("boot: ".utf8)) == nil)
    }

    @Test func withoutAModeItNeverTypes() {
        var watcher = PromptWatcher(answer: nil)
        #expect(watcher.feed(Array("boot: ".utf8)) == nil)
    }
}

@Suite struct BootMenuTimeoutTests {
    @Test func aZeroTimeoutBootsTheDefaultWithoutWaitingForAKey() {
        let menu = BootMenu(modes: [.auto, .safe], defaultMode: .safe, timeoutSeconds: 0, kernelArgs: [], serial: nil, quiet: false)
        let script = menu.ipxeScript(kernel: "vmlinuz", initrd: "initrd.img", version: "9.9")
        #expect(!script.contains("choose"))
        #expect(script.contains("set mode safe\ngoto ${mode}"))
    }
}
