import ClumpVersion
import DroneProtocol

/// Everything PID 1 will do, decided from the command line and the consoles before anything is
/// done: mounts, the mode's steps, the shells, the shutdown. `InitProcess` carries it out;
/// `clumpnode plan` prints it.
public struct BootPlan {
    /// The parsed command line.
    public var commandLine: KernelCommandLine
    /// Mode, clump.* options and warnings.
    public var options: BootOptions
    /// The consoles, /dev/console last.
    public var consoles: [Console]
    /// The mounts.
    public var mounts: [MountOperation]
    /// One shell per console.
    public var shells: [ShellCommand]

    /// Plans a boot; no console listed means /dev/console only.
    public init(commandLine: KernelCommandLine, consoles: [Console], mounts: [MountOperation] = MountPlan.standard) {
        self.commandLine = commandLine
        self.options = BootOptions(commandLine: commandLine)
        self.consoles = consoles.isEmpty ? ConsoleList.fallback : consoles
        self.mounts = mounts
        let mode = options.mode
        self.shells = self.consoles.map { mode == .auto ? ShellCommand.clusterView(on: $0) : ShellCommand.shell(on: $0) }
    }

    /// The first line on every console (tests and the QEMU checks look for it).
    public var greeting: String { "clump: agent \(ClumpVersion.string) mode=\(options.mode.rawValue)" }

    /// The lines shown before the shells start: what runs where and how to leave.
    public var shellBanner: [String] {
        let devices = consoles.map(\.shellDevice).joined(separator: ", ")
        let first =
            options.mode == .auto
            ? "clump: the cluster view runs on \(devices) (ESC shuts this node down, q leaves it for a shell)"
            : "clump: a busybox shell runs on " + devices
        return [
            first,
            "clump:   poweroff  switch this node off",
            "clump:   reboot    restart it (ctrl-alt-del does too)",
            "clump:   halt      stop it; the power stays on",
        ]
    }

    /// The plan as text, for `clumpnode plan`.
    public func render() -> String {
        var lines = [greeting] + options.warnings
        lines.append("mounts:")
        lines += mounts.map { "  " + $0.description }
        let primary = ConsoleList.primary(of: consoles)?.name ?? "?"
        lines.append("consoles: " + consoles.map(\.name).joined(separator: " ") + " (/dev/console is \(primary))")
        lines.append("boot steps: " + BootSequence.standard(for: options.mode).steps.map(\.name).joined(separator: " "))
        lines.append("shells:")
        for shell in shells {
            let term = shell.environment.first { $0.hasPrefix("TERM=") } ?? ""
            lines.append("  \(shell.terminal): \(shell.path) \(shell.arguments.joined(separator: " ")) \(term)")
        }
        for kind in ShutdownKind.allCases {
            lines.append(
                "\(kind.rawValue): "
                    + ShutdownPlan.steps(for: kind, mounted: mounts).map(\.description).joined(separator: "; "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
