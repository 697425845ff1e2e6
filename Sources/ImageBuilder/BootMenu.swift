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

    public var modes: [String]
    public var defaultMode: String
    public var timeoutSeconds: Int
    public var kernelArgs: [String]
    public var serial: Serial?
    public var quiet: Bool

    public init(
        modes: [String], defaultMode: String, timeoutSeconds: Int, kernelArgs: [String], serial: Serial?, quiet: Bool
    ) {
        self.modes = modes
        self.defaultMode = defaultMode
        self.timeoutSeconds = timeoutSeconds
        self.kernelArgs = kernelArgs
        self.serial = serial
        self.quiet = quiet
    }

    /// What each mode does, shown in the menu (HOWTO 7.6: Expert and Safe mode).
    static func summary(of mode: String) -> String {
        switch mode {
        case "auto": return "find the network card, get DHCP, join the cluster"
        case "expert": return "a shell on the console, configure by hand"
        case "safe": return "no autoconfiguration at all"
        default: return mode
        }
    }

    /// The kernel command line for one mode.
    ///
    /// The serial console is listed first and tty0 last: the kernel makes the last
    /// `console=` /dev/console, so a lab PC's screen stays the primary console while the
    /// agent still writes its status lines (and offers a shell) on every active console.
    public func commandLine(mode: String) -> String {
        var args = ["clump.mode=\(mode)"]
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
            lines.append("  \(mark) \(pad(mode, 8)) \(Self.summary(of: mode))")
        }
        lines.append("")
        if timeoutSeconds > 0 {
            lines.append("Type a mode and press Enter; \(defaultMode) starts in \(timeoutSeconds) s.")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The menu a spec asks for; `cluster.network` becomes `clump.network=`, so a drone with several
    /// cards knows which one is its cluster card.
    public init(spec: Spec) {
        var args = spec.boot.kernelArgs
        if let network = spec.cluster.network { args.append("clump.network=\(network)") }
        self.init(
            modes: spec.boot.modes.map(\.rawValue), defaultMode: spec.boot.defaultMode.rawValue,
            timeoutSeconds: spec.boot.timeout, kernelArgs: args,
            serial: spec.boot.serial.map { Serial(port: $0.port, speed: $0.speed) }, quiet: spec.boot.quiet)
    }

    /// The same menu with `extra` kernel arguments after the spec's (a node's own, from the inventory).
    public func adding(kernelArgs extra: [String]) -> BootMenu {
        var menu = self
        menu.kernelArgs += extra
        return menu
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
        out.append("DEFAULT \(defaultMode)")
        for mode in modes {
            out.append("")
            out.append("LABEL \(mode)")
            out.append("  KERNEL \(kernel)")
            out.append("  INITRD \(initrd)")
            out.append("  APPEND \(commandLine(mode: mode))")
            if bootInterface { out.append("  IPAPPEND 2") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// An iPXE script with the same entries, for clients that run iPXE.
    public func ipxeScript(kernel: String, initrd: String, version: String) -> String {
        var out = ["#!ipxe", "", "menu clump \(version) - cluster drone"]
        for mode in modes {
            out.append("item \(mode) \(pad(mode, 8)) \(Self.summary(of: mode))")
        }
        // `choose` without --timeout waits for a key for ever; a zero timeout means "boot the default
        // at once" (syslinux's PROMPT 0), so the menu is skipped.
        if timeoutSeconds > 0 {
            out.append("choose --default \(defaultMode) --timeout \(timeoutSeconds * 1000) mode || set mode \(defaultMode)")
        } else {
            out.append("set mode \(defaultMode)")
        }
        out.append("goto ${mode}")
        for mode in modes {
            out.append("")
            out.append(":\(mode)")
            // initrd= names the image for EFI kernels; BIOS kernels ignore it. BOOTIF is pxelinux's
            // IPAPPEND 2 form of the card that booted (netX: the one iPXE last opened).
            let initrdName = initrd.split(separator: "/").last.map(String.init) ?? initrd
            out.append(
                "kernel \(kernel) initrd=\(initrdName) \(commandLine(mode: mode)) BOOTIF=01-${netX/mac:hexhyp}")
            out.append("initrd \(initrd)")
            out.append("boot")
        }
        return out.joined(separator: "\n") + "\n"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
