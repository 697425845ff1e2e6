/// A console shell to start: which program, with which arguments and environment, on which
/// terminal. The plan for `posix_spawn`; `ShellLauncher` runs it.
public struct ShellCommand: Equatable, Sendable {
    /// The program (busybox ash in the image).
    public var path: String
    /// argv, starting with argv[0].
    public var arguments: [String]
    /// The whole environment, `NAME=value`.
    public var environment: [String]
    /// The terminal device that becomes stdin/stdout/stderr and the controlling tty.
    public var terminal: String

    /// Creates a command.
    public init(path: String, arguments: [String], environment: [String], terminal: String) {
        self.path = path
        self.arguments = arguments
        self.environment = environment
        self.terminal = terminal
    }

    /// A daemon of the agent's own (`clumpnode announce`, `slurm`, `join`) that PID 1 supervises: its
    /// messages go to the kernel log (and so to the console), not to a terminal it could take from a shell.
    public static func agentDaemon(_ arguments: [String], program: String = "/init") -> ShellCommand {
        ShellCommand(path: program, arguments: ["clumpnode"] + arguments, environment: ["PATH=" + searchPath], terminal: "/dev/kmsg")
    }

    /// The shell's PATH: busybox's applet links live in all four.
    public static let searchPath = "/sbin:/usr/sbin:/bin:/usr/bin"

    /// The prompt: `clump:/root# ` (ash expands `\w`).
    public static let prompt = "clump:\\w# "

    /// The shell for `console`: a login ash (argv[0] `-sh`, so an /etc/profile in the image is
    /// read) on the console's device, as root in /root, with a TERM that fits the console.
    public static func shell(on console: Console, program: String = "/bin/sh") -> ShellCommand {
        ShellCommand(
            path: program,
            arguments: ["-sh"],
            environment: [
                "PATH=" + searchPath,
                "HOME=/root",
                "TERM=" + console.terminalType,
                "SHELL=" + program,
                "USER=root",
                "LOGNAME=root",
                "PS1=" + prompt,
            ],
            terminal: "/dev/" + console.shellDevice
        )
    }

    /// Auto mode's console: the live cluster view (Clump/OS's last boot step); leaving it with
    /// q gives the console's shell, and when that ends the supervisor starts the view again.
    public static func clusterView(on console: Console, program: String = "/bin/sh") -> ShellCommand {
        var command = shell(on: console, program: program)
        command.arguments += ["-c", "/bin/clumpview --role drone; exec \(program) -l"]
        return command
    }
}
