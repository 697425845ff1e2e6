import AgentSupport
import ClumpVersion
import ClusterState
import ClusterView
import DroneProtocol
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
        /// Load NIC drivers and list the cards.
        case probe(ProbeCommand)
        /// DHCP on the given cards until configured.
        case dhcp(DHCPCommand)
        /// Derive, write or check the cluster map.
        case map(MapCommand)
        /// Announce this node's load and gather the cluster's (`AnnounceCommand`).
        case announce(Announcer.Options)
        /// Run the engine, munged and slurmd (`SlurmCommand`).
        case slurm
        /// Join the master and keep the session (`JoinCommand`).
        case join
        /// A usage mistake, with the message.
        case usageError(String)
    }

    /// The usage text.
    public static let usage = """
        usage: clumpnode [command]

        The clump drone agent. The kernel starts it as /init (PID 1); then it mounts /proc, /sys,
        /dev, /run and /tmp, reads \(BootArgument.mode.rawValue)=auto|expert|safe from the kernel command line and
        keeps a shell on every console. Run by hand, it offers:

          version           print the version
          plan [--root DIR] print what it would do as PID 1 (command line and consoles read
                            from DIR/proc and DIR/sys; default /)
          probe [--root DIR] [--dry-run]
                            load the drivers the devices need (--dry-run: only say which)
                            and list the ethernet cards
          dhcp [--timeout S] IFACE...
                            get a lease on each card, configure it, print the lease line and
                            exit (1 if a card has none within S seconds)
          map [--write] [--root DIR] [--network CIDR] [--boot-mac MAC] [ADDRESS/PREFIX[@IFACE][,MAC]...]
                            derive the cluster map (default: from /run/clump/status), print it,
                            with --write write /etc/mosix.map, /etc/hpc.map, hostname, hosts;
                            the primary card is the one on --network (\(BootArgument.network.rawValue)=), then the
                            one with --boot-mac (BOOTIF=), then the first
          map --check FILE  check a map file (HOWTO 5.4.2 syntax), errors with line:column
          announce [--root DIR] [--port N] [--key FILE] [--previous-key FILE] [--interface IFACE]
                            gossip this node's load with the cluster (UDP port 7077) and keep
                            DIR/run/clump/cluster current for clumpview
          slurm             run munged and slurmd -Z (the image's engine.slurm), say when the
                            controller has registered this node
          join              join the master named in /etc/clump/join (a Noise session pinned to
                            its key), show the approval code, keep the keys it delivers in RAM
          help              print this text

        On a drone, /init is this program: run `/init probe` and so on from the shell.

        `clumpnode init` runs the PID 1 path and refuses unless it is PID 1: that path kills
        every process at shutdown and calls reboot(2). To try it, boot an image (boot-check.sh).

        """

    /// Decides what to do. PID 1 is always init, whatever the kernel passed as arguments
    /// (words after `--` on the command line); a program named `init` is init too.
    public static func parse(arguments: [String], pid: Int32) -> Invocation {
        if pid == 1 { return .initProcess }
        let name = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        let words = Array(arguments.dropFirst())
        // `/init probe` from the Expert-mode shell is a subcommand; a bare `/init` is init.
        if name == "init" && words.isEmpty { return .initProcess }
        guard let command = words.first else { return .help }
        switch command {
        case "version", "--version": return words.count == 1 ? .version : .usageError("version takes no arguments")
        case "help", "--help", "-h": return .help
        case "init": return .initProcess
        case "plan":
            if words.count == 1 { return .plan(root: "/") }
            if words.count == 3 && words[1] == "--root" { return .plan(root: words[2]) }
            return .usageError("usage: clumpnode plan [--root DIR]")
        case "probe": return ProbeCommand.parse(words.dropFirst())
        case "dhcp": return DHCPCommand.parse(words.dropFirst())
        case "map": return MapCommand.parse(words.dropFirst())
        case "announce":
            switch AnnounceCommand.parse(Array(words.dropFirst())) {
            case .success(let options): return .announce(options)
            case .failure(let error): return .usageError("\(error.description)\n" + AnnounceCommand.usage)
            }
        case "slurm": return words.count == 1 ? .slurm : .usageError("slurm takes no arguments")
        case "join": return words.count == 1 ? .join : .usageError("join takes no arguments")
        default: return .usageError("unknown command '\(command)'")
        }
    }

    /// Runs the command line; returns the exit status (never returns as PID 1).
    public static func main(arguments: [String]) -> Int32 {
        // On a drone, /bin/clumpview is a link to this binary (see InitramfsPlan.agentLinks).
        if getpid() != 1, arguments.first.map(programName) == "clumpview" {
            // Confirmed shutdown: what busybox poweroff does, so PID 1 shuts down cleanly.
            return ViewCommand.main(arguments: arguments, version: ClumpVersion.string) { kill(1, SIGUSR2) == 0 ? 0 : 1 }
        }
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
                printError(ErrorEdge.report(error, program: "clumpnode").text)
            }
            let consoles = (try? ConsoleList.read(root: root)) ?? []
            print(BootPlan(commandLine: commandLine, consoles: consoles).render(), terminator: "")
            return 0
        case .probe(let command):
            return command.run { print($0) }
        case .dhcp(let command):
            return command.run { print($0) }
        case .map(let command):
            return command.run { print($0) }
        case .announce(let options):
            return AnnounceCommand.run(options) { printError($0) }
        case .slurm:
            return SlurmCommand.run()
        case .join:
            return JoinCommand.run()
        case .usageError(let message):
            printError("clumpnode: \(message)\n\n" + usage)
            return 2
        }
    }

    private static func printError(_ text: String) {
        try? SystemFile.writeAll(STDERR_FILENO, text + (text.hasSuffix("\n") ? "" : "\n"))
    }

    /// The last path component of argv[0].
    static func programName(_ argument: String) -> String {
        argument.split(separator: "/").last.map(String.init) ?? argument
    }
}
