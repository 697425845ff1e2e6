import ClumpVersion
import ClusterState
import Glibc

/// The `clumpnode` command line: as PID 1 (or started as /init) it is the init process;
/// otherwise it is a small tool with subcommands, safe to run on any host.
public enum NodeAgentCommand {
    /// What an invocation asks for.
    public enum Invocation: Equatable, Sendable {
        /// Be PID 1.
        case initProcess
        /// Print the version.
        case version
        /// Print the usage.
        case help
        /// Print what PID 1 would do, reading /proc and /sys under `root`.
        case plan(root: String)
        /// Announce this node's load and gather the cluster's (`AnnounceCommand`).
        case announce(Announcer.Options)
        /// A usage mistake, with the message.
        case usageError(String)
    }

    /// The usage text.
    public static let usage = """
        usage: clumpnode [command]

        The clump drone agent. The kernel starts it as /init (PID 1); then it mounts /proc, /sys,
        /dev, /run and /tmp, reads clump.mode=auto|expert|safe from the kernel command line and
        keeps a shell on every console. Run by hand, it offers:

          version           print the version
          plan [--root DIR] print what it would do as PID 1 (command line and consoles read
                            from DIR/proc and DIR/sys; default /)
          announce [--root DIR] [--port N] [--key FILE] [--previous-key FILE] [--interface IFACE]
                            gossip this node's load with the cluster (UDP port 7077) and keep
                            DIR/run/clump/cluster current for clumpview
          help              print this text

        `clumpnode init` runs the PID 1 path and refuses unless it is PID 1: that path kills
        every process at shutdown and calls reboot(2). To try it, boot an image (boot-check.sh).

        """

    /// Decides what to do. PID 1 is always init, whatever the kernel passed as arguments
    /// (words after `--` on the command line); a program named `init` is init too.
    public static func parse(arguments: [String], pid: Int32) -> Invocation {
        if pid == 1 { return .initProcess }
        let name = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        if name == "init" { return .initProcess }
        let words = Array(arguments.dropFirst())
        guard let command = words.first else { return .help }
        switch command {
        case "version", "--version": return words.count == 1 ? .version : .usageError("version takes no arguments")
        case "help", "--help", "-h": return .help
        case "init": return .initProcess
        case "plan":
            if words.count == 1 { return .plan(root: "/") }
            if words.count == 3 && words[1] == "--root" { return .plan(root: words[2]) }
            return .usageError("usage: clumpnode plan [--root DIR]")
        case "announce":
            switch AnnounceCommand.parse(Array(words.dropFirst())) {
            case .success(let options): return .announce(options)
            case .failure(let error): return .usageError("\(error.description)\n" + AnnounceCommand.usage)
            }
        default: return .usageError("unknown command '\(command)'")
        }
    }

    /// Runs the command line; returns the exit status (never returns as PID 1).
    public static func main(arguments: [String]) -> Int32 {
        switch parse(arguments: arguments, pid: getpid()) {
        case .initProcess:
            guard getpid() == 1 else {
                printError(
                    "clumpnode: the init path runs only as PID 1 (the kernel starts it as /init);"
                        + " it mounts over /proc and /dev, kills every process at shutdown and calls reboot(2)."
                        + " See `clumpnode plan` for what it would do.")
                return 1
            }
            InitProcess.run()
        case .version:
            print("clumpnode \(ClumpVersion.string)")
            return 0
        case .help:
            print(usage, terminator: "")
            return 0
        case .plan(let root):
            var commandLine = KernelCommandLine()
            do {
                commandLine = try KernelCommandLine.read(root: root)
            } catch {
                printError("clumpnode: \(error)")
            }
            let consoles = (try? ConsoleList.read(root: root)) ?? []
            print(BootPlan(commandLine: commandLine, consoles: consoles).render(), terminator: "")
            return 0
        case .announce(let options):
            return AnnounceCommand.run(options) { printError($0) }
        case .usageError(let message):
            printError("clumpnode: \(message)\n\n" + usage)
            return 2
        }
    }

    private static func printError(_ text: String) {
        try? FileIO.writeAll(STDERR_FILENO, text + (text.hasSuffix("\n") ? "" : "\n"))
    }
}
