import AgentSupport
import Glibc

/// The `clumpview` command line, shared by the `clumpview` executable and the drone agent
/// (which calls `run` with the drone role and its own shutdown).
public enum ViewCommand {
    /// What an invocation asks for.
    public struct Options: Equatable, Sendable {
        public enum Output: Equatable, Sendable {
            /// The full-screen view.
            case interactive
            /// The table once, as text.
            case once
            /// The snapshot once, as JSON.
            case json
        }

        public enum Input: Equatable, Sendable {
            /// The daemon's snapshot file.
            case file(String)
            /// `count` invented nodes, labelled as a demo.
            case demo(Int)
            /// Join the cluster on `network` (a.b.c.0/24) as an observer, as the master does:
            /// authenticated with the key in `keyFile`, on UDP `port`.
            case join(network: String, keyFile: String, previousKeyFile: String?, port: UInt16)
        }

        public var output: Output = .interactive
        public var input: Input = .file(FileSource.defaultPath)
        public var role: ViewRole = .master
        /// A shell command run after the user confirms shutdown (drone role).
        public var onShutdown: String?
        public var refreshMilliseconds = 1000
        /// With `--once` or `--json` and `--join`: the most seconds to listen for the cluster
        /// (`--wait`); nil means `defaultWaitSeconds`.
        public var waitSeconds: Double?

        public init() {}
    }

    /// How long a one-shot join listens at most when `--wait` is not given: enough for a few
    /// hello and feed intervals, however the first datagrams were lost.
    public static let defaultWaitSeconds = 10.0

    /// The result of reading the command line.
    public enum Invocation: Equatable, Sendable {
        case run(Options)
        case help
        case version
        case usageError(String)
    }

    public static let usage = """
        usage: clumpview [--once | --json] [--file PATH | --demo N | --join NETWORK [--key FILE] [--previous-key FILE] [--port N]]
                         [--wait S] [--role drone|master] [--on-shutdown CMD] [--refresh MS]

        The live cluster: this node's configuration and the load of every node.

          --once          print the table once as text (colours only on a terminal)
          --json          print the cluster once as JSON
          --file PATH     read the cluster table from PATH (default /run/clump/cluster)
          --demo N        show N invented nodes, labelled DEMO DATA (to try the view)
          --join NETWORK  on the master: join the cluster on NETWORK (e.g. 10.0.2.0/24) as an
                          observer and show what the drones announce
          --key FILE      the cluster key for --join (default ./cluster.key, beside clump.yaml)
          --previous-key FILE
                          while the key is rotated: the key being replaced, accepted too
          --port N        the announcements' UDP port for --join (default 7077)
          --wait S        with --once or --json and --join: listen until no new node has been
                          heard for 2 s, at most S seconds (default 10), then print every node;
                          exit status 1 when nobody answered
          --role ROLE     drone: ESC asks to shut this node down; master (default): ESC quits
          --on-shutdown CMD
                          with --role drone: run CMD with /bin/sh when shutdown is confirmed
          --refresh MS    milliseconds between refreshes (default 1000)
          --version, --help

        Keys: arrows, PgUp/PgDn, Home/End scroll; s sort (id, load); g grid/list; h help;
        q quit; ESC shutdown on a drone (asks first), quit on the master.

        """

    /// Reads the command line (without the program name).
    public static func parse(_ words: [String]) -> Invocation {
        var options = Options()
        var index = 0
        func value(_ flag: String) -> String? {
            index += 1
            return index < words.count ? words[index] : nil
        }
        while index < words.count {
            let word = words[index]
            switch word {
            case "--help", "-h": return .help
            case "--version": return .version
            case "--once": options.output = .once
            case "--json": options.output = .json
            case "--file":
                guard let path = value(word) else { return .usageError("--file needs a path") }
                options.input = .file(path)
            case "--demo":
                guard let text = value(word), let count = Int(text), count >= 1, count <= 65535 else {
                    return .usageError("--demo needs a node count from 1 to 65535")
                }
                options.input = .demo(count)
            case "--join":
                guard let network = value(word), network.split(separator: "/").count == 2 else {
                    return .usageError("--join needs a network, e.g. 10.0.2.0/24")
                }
                options.input = .join(network: network, keyFile: "cluster.key", previousKeyFile: nil, port: 7077)
            case "--key", "--previous-key", "--port":
                guard case .join(let network, let keyFile, let previous, let port) = options.input, let text = value(word)
                else {
                    return .usageError("\(word) goes after --join NETWORK")
                }
                switch word {
                case "--key": options.input = .join(network: network, keyFile: text, previousKeyFile: previous, port: port)
                case "--previous-key":
                    options.input = .join(network: network, keyFile: keyFile, previousKeyFile: text, port: port)
                default:
                    guard let number = UInt16(text), number > 0 else { return .usageError("--port needs 1 to 65535") }
                    options.input = .join(network: network, keyFile: keyFile, previousKeyFile: previous, port: number)
                }
            case "--role":
                guard let text = value(word), let role = ViewRole(rawValue: text) else {
                    return .usageError("--role is drone or master")
                }
                options.role = role
            case "--on-shutdown":
                guard let command = value(word) else { return .usageError("--on-shutdown needs a command") }
                options.onShutdown = command
            case "--wait":
                guard let text = value(word), let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                    return .usageError("--wait needs seconds, more than 0 and at most 3600")
                }
                options.waitSeconds = seconds
            case "--refresh":
                guard let text = value(word), let milliseconds = Int(text), milliseconds >= 50 else {
                    return .usageError("--refresh needs milliseconds, at least 50")
                }
                options.refreshMilliseconds = milliseconds
            default:
                return .usageError("unknown option '\(word)'")
            }
            index += 1
        }
        if options.waitSeconds != nil {
            guard case .join = options.input, options.output != .interactive else {
                return .usageError("--wait goes with --once or --json and --join (the live view keeps listening)")
            }
        }
        if options.onShutdown != nil && options.role != .drone {
            return .usageError("--on-shutdown goes with --role drone (on the master ESC just quits)")
        }
        return .run(options)
    }

    /// The source an invocation reads.
    public static func source(for input: Options.Input) throws -> ClusterSource {
        switch input {
        case .file(let path): return FileSource(path: path)
        case .demo(let count): return DemoSource(count: count)
        case .join(let network, let keyFile, let previousKeyFile, let port):
            return try ObserverSource(network: network, keyFile: keyFile, previousKeyFile: previousKeyFile, port: port)
        }
    }

    /// Runs `clumpview` with `arguments` (program name first); returns the exit status.
    /// `shutdown` is called when the user confirms shutdown on a drone and no `--on-shutdown`
    /// was given (the agent passes its poweroff); the terminal is restored by then.
    public static func main(arguments: [String], version: String, shutdown: (() -> Int32)? = nil) -> Int32 {
        switch parse(Array(arguments.dropFirst())) {
        case .help:
            print(usage, terminator: "")
            return 0
        case .version:
            print("clumpview \(version)")
            return 0
        case .usageError(let message):
            printError("clumpview: \(message)\n\n" + usage)
            return 2
        case .run(let options):
            let shutdownAction = options.onShutdown.map { command in { runShell(command) } } ?? shutdown
            let chosen: ClusterSource
            do {
                chosen = try source(for: options.input)
            } catch {
                let (text, code) = ErrorEdge.report(error, program: "clumpview")
                printError(text)
                return code
            }
            return run(options, source: chosen, shutdown: shutdownAction)
        }
    }

    /// Runs the view (or the one-shot outputs) from `source`.
    public static func run(_ options: Options, source: ClusterSource, shutdown: (() -> Int32)?) -> Int32 {
        switch options.output {
        case .once, .json:
            let snapshot: ClusterSnapshot
            var status: Int32 = 0
            if let observer = source as? ObserverSource {
                let waitSeconds = options.waitSeconds ?? defaultWaitSeconds
                let heard = observer.listen(waitSeconds: waitSeconds)
                snapshot = heard.snapshot
                let nodes = snapshot.nodes.count
                if let note = joinNote(heard.outcome, nodes: nodes, observer: observer, wait: waitSeconds) { printError(note) }
                if heard.outcome == .silent { status = 1 }
            } else {
                do {
                    snapshot = try source.snapshot()
                } catch {
                    let (text, code) = ErrorEdge.report(error, program: "clumpview")
                    printError(text)
                    return code
                }
            }
            if options.output == .json {
                print(Report.json(snapshot), terminator: "")
            } else {
                let terminal = Terminal.isTerminal(1)
                var size = winsize()
                let width =
                    terminal && ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
                print(Report.text(snapshot, width: width, colour: terminal), terminator: "")
            }
            return status
        case .interactive:
            do {
                let outcome = try ViewLoop.run(
                    source: source, role: options.role, refreshMilliseconds: options.refreshMilliseconds)
                guard outcome == .shutdown else { return 0 }
                guard let shutdown else {
                    printError("clumpview: shutdown confirmed, but nothing here can shut this node down")
                    return 1
                }
                return shutdown()
            } catch {
                let (text, code) = ErrorEdge.report(error, program: "clumpview")
                printError(text)
                return code
            }
        }
    }

    /// What a one-shot join says on stderr when it did not settle: nobody answered, or nodes
    /// were still arriving when the wait ran out.
    static func joinNote(_ outcome: JoinSettle.Outcome, nodes: Int, observer: ObserverSource, wait: Double) -> String? {
        let seconds = wait == wait.rounded() ? "\(Int(wait))" : "\(wait)"
        switch outcome {
        case .settled:
            return nil
        case .silent:
            return "clumpview: no node answered on \(observer.network) (UDP port \(observer.port)) within "
                + "\(seconds) s: are the drones up and on this network, and is --key the cluster's key?"
        case .capped:
            return "clumpview: new nodes were still being heard after \(seconds) s; these are the \(nodes) heard "
                + "so far (a longer --wait hears more)"
        }
    }

    /// `/bin/sh -c command`, waited for; its exit status.
    static func runShell(_ command: String) -> Int32 {
        var pid: pid_t = 0
        let words: [String] = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
        guard status == 0 else {
            printError("clumpview: cannot start /bin/sh for --on-shutdown: \(String(cString: strerror(status)))")
            return 1
        }
        var result: Int32 = 0
        while waitpid(pid, &result, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
        return result & 0x7F == 0 ? (result >> 8) & 0xFF : 128 + (result & 0x7F)
    }

    static func printError(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}
