import DroneProtocol
import Foundation
import ImageSpec

/// The drone's boot menu, rendered for isolinux (CD/USB), pxelinux and iPXE (network).
///
/// Every loader gets the same entries (one per boot mode) and the same kernel command
/// line, so a node behaves the same whichever way it was booted.
public struct BootMenu: Sendable, Equatable {
    /// A serial console: syslinux `SERIAL port baud`, kernel `console=ttyS<port>,<baud>`.
    public struct Serial: Sendable, Equatable {
        public var port: Int
        public var speed: Int
        public init(port: Int, speed: Int) {
            self.port = port
            self.speed = speed
        }
    }

    public var modes: [BootMode]
    public var defaultMode: BootMode
    public var timeoutSeconds: Int
    public var kernelArgs: [String]
    public var serial: Serial?
    public var quiet: Bool
    /// The file name of NFS-root nodes' second RAM disk (`nfsroot.img`), kept beside the image's;
    /// the `nfsroot` entries load both. Nil when the image itself has what they need.
    public var nfsrootAddOn: String?

    /// The add-on's name in the PXE tree, the master's image generations and the CD.
    public static let nfsrootAddOnName = "nfsroot.img"

    public init(
        modes: [BootMode], defaultMode: BootMode, timeoutSeconds: Int, kernelArgs: [String], serial: Serial?, quiet: Bool
    ) {
        self.modes = modes
        self.defaultMode = defaultMode
        self.timeoutSeconds = timeoutSeconds
        self.kernelArgs = kernelArgs
        self.serial = serial
        self.quiet = quiet
    }

    /// The kernel command line for one mode.
    ///
    /// The serial console is listed first and tty0 last: the kernel makes the last
    /// `console=` /dev/console, so a lab PC's screen stays the primary console while the
    /// agent still writes its status lines (and offers a shell) on every active console.
    public func commandLine(mode: BootMode) -> String {
        var args = [BootArgument.mode.with(mode.rawValue)]
        if let serial {
            args.append("console=ttyS\(serial.port),\(serial.speed)")
            args.append("console=tty0")
        }
        if quiet { args.append("quiet") }
        args += kernelArgs
        return args.joined(separator: " ")
    }

    /// The text shown above the `boot:` prompt (syslinux `DISPLAY`).
    public func displayText(version: String) -> String {
        var lines = ["", "clump \(version) - cluster drone", ""]
        for mode in modes {
            let mark = mode == defaultMode ? "*" : " "
            lines.append("  \(mark) \(pad(mode.rawValue, 8)) \(mode.summary)")
        }
        lines.append("")
        if timeoutSeconds > 0 {
            lines.append("Type a mode and press Enter; \(defaultMode.rawValue) starts in \(timeoutSeconds) s.")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The menu a spec asks for; `cluster.network` becomes `clump.network=`, so a drone with several
    /// cards knows which one is its cluster card.
    public init(spec: Spec) {
        var args = spec.boot.kernelArgs
        if let network = spec.cluster.network { args.append(BootArgument.network.with(network.description)) }
        self.init(
            modes: spec.boot.modes, defaultMode: spec.boot.defaultMode,
            timeoutSeconds: spec.boot.timeout, kernelArgs: args,
            serial: spec.boot.serial.map { Serial(port: $0.port, speed: $0.speed) }, quiet: spec.boot.quiet)
    }

    /// The same menu with `extra` kernel arguments after the spec's (a node's own, from the inventory).
    public func adding(kernelArgs extra: [String]) -> BootMenu {
        var menu = self
        menu.kernelArgs += extra
        return menu
    }

    /// The RAM disks of one entry: the image's, and for `nfsroot` the add-on beside it.
    func initrds(_ initrd: String, mode: BootMode) -> [String] {
        guard mode == .nfsroot, let addOn = nfsrootAddOn else { return [initrd] }
        let directory = initrd.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        return [initrd, (directory + [Substring(addOn)]).joined(separator: "/")]
    }

    /// `isolinux.cfg` (paths on the CD) or `pxelinux.cfg/default` (paths on the TFTP root).
    ///
    /// `bootInterface` adds pxelinux's `IPAPPEND 2`, which appends `BOOTIF=01-<mac>` of the card
    /// that booted, so a drone with several cards knows which one the master reached it on.
    public func syslinuxConfig(kernel: String, initrd: String, display: String, bootInterface: Bool = false) -> String {
        var out: [String] = []
        if let serial { out.append("SERIAL \(serial.port) \(serial.speed)") }
        out.append("DISPLAY \(display)")
        // TIMEOUT 0 means "wait forever" to syslinux; a zero timeout in the spec means
        // "boot the default at once", which is PROMPT 0.
        out.append("PROMPT \(timeoutSeconds > 0 ? 1 : 0)")
        if timeoutSeconds > 0 { out.append("TIMEOUT \(timeoutSeconds * 10)") }
        out.append("DEFAULT \(defaultMode.rawValue)")
        for mode in modes {
            out.append("")
            out.append("LABEL \(mode.rawValue)")
            out.append("  KERNEL \(kernel)")
            // syslinux loads a comma-separated list one after the other, as the kernel expects them.
            out.append("  INITRD \(initrds(initrd, mode: mode).joined(separator: ","))")
            out.append("  APPEND \(commandLine(mode: mode))")
            if bootInterface { out.append("  IPAPPEND 2") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// An iPXE script with the same entries, for clients that run iPXE.
    public func ipxeScript(kernel: String, initrd: String, version: String) -> String {
        var out = ["#!ipxe", "", "menu clump \(version) - cluster drone"]
        for mode in modes {
            out.append("item \(mode.rawValue) \(pad(mode.rawValue, 8)) \(mode.summary)")
        }
        // `choose` without --timeout waits for a key for ever; a zero timeout means "boot the default
        // at once" (syslinux's PROMPT 0), so the menu is skipped.
        if timeoutSeconds > 0 {
            out.append(
                "choose --default \(defaultMode.rawValue) --timeout \(timeoutSeconds * 1000) mode || set mode \(defaultMode.rawValue)")
        } else {
            out.append("set mode \(defaultMode.rawValue)")
        }
        out.append("goto ${mode}")
        for mode in modes {
            out.append("")
            out.append(":\(mode.rawValue)")
            // initrd= names the image for EFI kernels; BIOS kernels ignore it. BOOTIF is pxelinux's
            // IPAPPEND 2 form of the card that booted (netX: the one iPXE last opened).
            let images = initrds(initrd, mode: mode)
            let names = images.map { "initrd=" + (($0.split(separator: "/").last.map(String.init)) ?? $0) }
            out.append(
                "kernel \(kernel) \(names.joined(separator: " ")) \(commandLine(mode: mode)) BOOTIF=01-${netX/mac:hexhyp}")
            for image in images { out.append("initrd \(image)") }
            out.append("boot")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// GRUB's `grub.cfg` for UEFI machines, with the same entries, default, timeout and console.
    ///
    /// Each entry's hotkey is its number in the menu, shown in its title: GRUB reserves `e` and `c`
    /// (edit, command line), so the modes' initials cannot be the keys. `bootInterface` adds
    /// `BOOTIF=01-aa-bb-...` of the card GRUB booted from (`$net_default_mac`, colons turned into
    /// dashes by `regexp`), pxelinux's IPAPPEND 2.
    ///
    /// `nodeConfigs` (with `bootInterface`) names a directory of per-card configurations,
    /// `<dir>/aa-bb-cc-dd-ee-ff.cfg`: a card that has one runs it instead of this menu.
    public func grubConfig(
        kernel: String, initrd: String, version: String, bootInterface: Bool = false, nodeConfigs: String? = nil
    ) -> String {
        // GRUB stays on the firmware's console: UEFI firmware that has a serial console (OVMF, servers'
        // console redirection) already mirrors it there, and GRUB's own serial driver on the same
        // port doubles every line and reads the firmware's terminal traffic as key presses, which
        // stops the countdown. The kernel still gets the serial console on its command line.
        var out: [String] = []
        // Where GRUB itself came from: (cd0) from a CD, (hd0,gpt2) from a USB stick's EFI
        // partition, (tftp,...) from the network.
        out.append("echo \"clump: UEFI boot loader from $cmdpath, root $root\"")
        out.append("set default=\(defaultMode.rawValue)")
        // A zero timeout boots the default at once, as PROMPT 0 does for syslinux.
        out.append("set timeout=\(timeoutSeconds)")
        out.append("set timeout_style=menu")
        var args = ""
        if bootInterface {
            let pair = "([0-9a-f][0-9a-f])"
            let pattern = Array(repeating: pair, count: 6).joined(separator: ":")
            let sets = (1...6).map { "--set=\($0):m\($0)" }.joined(separator: " ")
            out.append("regexp \(sets) '^\(pattern)$' \"$net_default_mac\"")
            args = " BOOTIF=01-$m1-$m2-$m3-$m4-$m5-$m6"
            if let nodeConfigs {
                // Not guarded by `[ -f ]`: GRUB's test lists the parent directory, which TFTP cannot,
                // so it is always false there. A missing file fails `configfile` and GRUB goes on
                // with this menu; a present one becomes the menu.
                out.append("configfile \(nodeConfigs)/$m1-$m2-$m3-$m4-$m5-$m6.cfg")
            }
        }
        for (number, mode) in modes.enumerated() {
            let key = number + 1
            out.append("")
            out.append(
                "menuentry '\(key)  \(pad(mode.rawValue, 8)) \(mode.summary)' --id=\(mode.rawValue) --hotkey=\(key) {")
            let line = commandLine(mode: mode).split(separator: " ").map { Self.grubWord(String($0)) }
            out.append("    linux \(kernel) \(line.joined(separator: " "))\(args)")
            out.append("    initrd \(initrds(initrd, mode: mode).joined(separator: " "))")
            out.append("}")
        }
        return "# clump \(version) - cluster drone\n" + out.joined(separator: "\n") + "\n"
    }

    /// A word for GRUB's shell-like parser: quoted when it holds anything GRUB would expand
    /// or split (`$`, quotes, `;`, `{`, ...).
    static func grubWord(_ word: String) -> String {
        let plain = word.unicodeScalars.allSatisfy { scalar in
            CharacterSet.alphanumerics.contains(scalar) || "=.,:/_-+@%".unicodeScalars.contains(scalar)
        }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
