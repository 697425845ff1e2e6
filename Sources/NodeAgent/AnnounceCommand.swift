import AgentSupport
import ClusterState
import DroneProtocol

/// `clumpnode announce`: the load announcement daemon, and how PID 1 keeps it running.
public enum AnnounceCommand {
    /// The usage line.
    public static let usage =
        "usage: clumpnode announce [--root DIR] [--port N] [--key FILE] [--previous-key FILE] [--interface IFACE] [--seconds N]"
        + " [--drop-percent P]\n  --drop-percent P  testing: the kernel drops P % of received datagrams at random"
        + " (simulates a lossy network where netem is unavailable)"

    /// Parses the words after `announce`.
    public static func parse(_ words: [String]) -> Result<Announcer.Options, AgentError> {
        var options = Announcer.Options()
        var index = 0
        func value() -> String? {
            index += 1
            return index < words.count ? words[index] : nil
        }
        while index < words.count {
            let word = words[index]
            guard let argument = value() else { return .failure(AgentError(operation: "\(word) needs a value")) }
            switch word {
            case "--root": options.root = argument
            case "--key": options.keyFile = argument
            case "--previous-key": options.previousKeyFile = argument
            case "--interface": options.interface = argument
            case "--port":
                guard let port = UInt16(argument), port > 0 else {
                    return .failure(AgentError(operation: "--port wants 1...65535, not '\(argument)'"))
                }
                options.port = port
            case "--drop-percent":
                guard let percent = Double(argument), percent >= 0, percent <= 100 else {
                    return .failure(AgentError(operation: "--drop-percent wants 0...100, not '\(argument)'"))
                }
                options.dropPercent = percent
            case "--seconds":
                guard let seconds = Int(argument), seconds > 0 else {
                    return .failure(AgentError(operation: "--seconds wants a positive number, not '\(argument)'"))
                }
                options.seconds = seconds
            default: return .failure(AgentError(operation: "unknown option '\(word)'"))
            }
            index += 1
        }
        return .success(options)
    }

    /// Runs the daemon; the exit status.
    static func run(_ options: Announcer.Options, log: (String) -> Void) -> Int32 {
        // A joining image has no key until the master approves this node: wait for it quietly.
        if let key = options.keyFile, key.hasPrefix(rooted(options.root, JoinedFiles.directory)) {
            var said = false
            while !SystemFile.exists(key) {
                if !said { log("clump: announce waits for the cluster key from the join") }
                said = true
                sleep(milliseconds: 500)
            }
        }
        do {
            try Announcer.run(options, log: log)
            return 0
        } catch {
            log("clumpnode announce: \(error)")
            return 1
        }
    }

    /// The children PID 1 supervises besides the shells: in auto mode, the announcer (it waits
    /// for /run/clump/status to name this node, then announces).
    /// An image that joins announces with the keys the join put in RAM.
    public static func children(for mode: BootMode, root: String = "/", program: String = "/init") -> [ShellCommand] {
        guard mode == .auto else { return [] }
        let keys = JoinCommand.joins(root: root)
            ? ["--key", JoinedFiles.clusterKey, "--previous-key", JoinedFiles.previousClusterKey] : []
        return [ShellCommand.agentDaemon(["announce"] + keys, program: program)]
    }
}
