import AgentSupport
import AutoMap
import ClusterState
import DroneProtocol
import Glibc

/// `clumpnode slurm`: runs the drone's engine, munged and slurmd, once this node is configured,
/// and says on the consoles when the controller has it (`clump: slurm registered with CONTROLLER
/// as NAME`) or why not. PID 1 supervises this process like the announcer (restarts with back-off);
/// it ends when munged or slurmd does, after stopping the other, so both restart together.
public enum SlurmCommand {
    /// The children PID 1 supervises in auto mode when the image has an engine.
    public static func children(for mode: BootMode, root: String = "/", program: String = "/init") -> [ShellCommand] {
        guard mode == .auto, SystemFile.exists(rooted(root, EngineSettings.path)) else { return [] }
        return [ShellCommand.agentDaemon(["slurm"], program: program)]
    }

    /// Runs the engine; returns when it stopped (the exit status).
    static func run(root: String = "/") -> Int32 {
        let consoles = (try? ConsoleList.read(root: root)) ?? []
        let output = ConsoleOutput(consoles: consoles, root: root)
        let say: (String) -> Void = { output.line($0) }
        guard let text = SystemFile.text(rooted(root, EngineSettings.path)), let settings = EngineSettings.parse(text)
        else {
            say("clump: slurm: no engine settings in \(EngineSettings.path)")
            return 1
        }
        let (name, address) = waitForNode(root: root)
        var progress = SlurmPlan.Progress(controller: settings.controller, name: name)
        // Once the controller had the node it keeps it, down or not, until the node is deleted: a
        // shutdown drains it even when this slurmd is restarting or lost the controller.
        let earlier = EngineState.read(root: root)?.registered == true
        let state = { (value: String, reason: String?) in
            let text = EngineState(
                state: value, name: name, controller: settings.controller, reason: reason,
                registered: earlier || progress.registered
            ).text
            try? SystemFile.writeAtomically(Array(text.utf8), to: rooted(root, EngineState.path))
        }
        do {
            try prepare(settings, root: root)
        } catch {
            say("clump: slurm: \(error)")
            state("down", "\(error)")
            return 1
        }
        // A joining image gets the MUNGE key with its approval: nothing that needs it starts before.
        let joinedKey = JoinCommand.joins(root: root) ? rooted(root, JoinedFiles.mungeKey) : nil
        if let joinedKey, !SystemFile.exists(joinedKey) {
            state("waiting", "waiting for approval")
            while !SystemFile.exists(joinedKey) { sleep(milliseconds: 500) }
        }
        state("starting", nil)
        // Taken before munged reads the key: a key that arrives while it starts is not missed.
        var keySeen = joinedKey.map(Self.identity)
        var munged: pid_t
        let slurmd: pid_t
        let log: Int32
        do {
            munged = try spawn(
                SlurmPlan.munged(socket: EngineSettings.defaultMungeSocket, keyFile: joinedKey.map { _ in JoinedFiles.mungeKey }),
                user: settings.mungeUID, output: nil)
            try waitForSocket(rooted(root, EngineSettings.defaultMungeSocket), pid: munged)
            var pipeEnds: [Int32] = [0, 0]
            try syscall("pipe") { pipe(&pipeEnds) }
            _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
            log = pipeEnds[0]
            slurmd = try spawn(SlurmPlan.slurmd(settings, name: name, address: address), user: 0, output: pipeEnds[1])
            close(pipeEnds[1])
        } catch {
            say("clump: slurm: \(error)")
            state("down", "\(error)")
            return 1
        }
        var lastError: String?
        // Everything slurmd says, for the operator (the console gets only what matters).
        let logFile = rooted(root, "/var/log/slurm/slurmd.log")
        let saved = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        defer { if saved >= 0 { close(saved) } }
        var reader = LineReader(fd: log)
        // The master hands out a new MUNGE key when the operator rotates it: munged only reads its
        // key when it starts, so it starts again with the new one; slurmd and its jobs carry on.
        while let line = reader.next(idleMilliseconds: 1000, idle: {
            guard let joinedKey, let seen = keySeen, Self.identity(joinedKey) != seen else { return }
            keySeen = Self.identity(joinedKey)
            say("clump: slurm: the master sent a new MUNGE key: munged starts again with it")
            kill(munged, SIGTERM)
            _ = waitpid(munged, nil, 0)
            do {
                munged = try spawn(
                    SlurmPlan.munged(socket: EngineSettings.defaultMungeSocket, keyFile: JoinedFiles.mungeKey),
                    user: settings.mungeUID, output: nil)
                try waitForSocket(rooted(root, EngineSettings.defaultMungeSocket), pid: munged)
            } catch {
                // slurmd cannot work without it: ending it makes PID 1 start both again.
                say("clump: slurm: \(error)")
                kill(slurmd, SIGTERM)
            }
        }) {
            if saved >= 0 { _ = try? SystemFile.writeAll(saved, line + "\n") }
            if SlurmPlan.find("error:", in: line) || SlurmPlan.find("fatal:", in: line) { lastError = line }
            guard let event = SlurmPlan.event(in: line) else { continue }
            let step = progress.apply(event)
            if let said = step.line { say(said) }
            if let value = step.state { state(value, step.reason) }
        }
        // slurmd closed its stderr: it ended. Stop munged too, so PID 1 restarts them together.
        kill(munged, SIGTERM)
        var status: Int32 = 0
        _ = waitpid(slurmd, &status, 0)
        _ = waitpid(munged, nil, 0)
        say("clump: slurm: slurmd ended (\(ExitStatus(raw: status)))" + (lastError.map { ": " + $0 } ?? ""))
        state("down", "slurmd ended")
        return 1
    }

    /// A file's identity as a rename changes it: inode and change time; empty when it is missing.
    static func identity(_ path: String) -> [Int] {
        var info = stat()
        return stat(path, &info) == 0 ? [Int(info.st_ino), info.st_ctim.tv_sec, info.st_ctim.tv_nsec] : []
    }

    /// This node's name and address, once auto mode has configured it.
    static func waitForNode(root: String) -> (name: String, address: String) {
        while true {
            if let status = NodeStatus.read(root: root), let node = status.node, let address = status.address {
                let plain = String(address.prefix { $0 != "/" })
                return (status.hostname ?? "node\(node)", plain)
            }
            // Looked at often: the join and slurmd start the moment the node has its lease, and
            // reading a small file on /run twenty times a second costs nothing.
            sleep(milliseconds: 50)
        }
    }

    /// The runtime directories (on /run, a tmpfs, so not in the image), the configured socket as a
    /// link to munged's, and cgroup v2 at /sys/fs/cgroup, which slurmd sets up whatever the
    /// ProctrackType (its cgroup plugin refuses to start without it).
    static func prepare(_ settings: EngineSettings, root: String) throws {
        let munge = settings.mungeUID
        let runDirectory = rooted(root, "/run/munge")
        try SystemFile.makeDirectories(runDirectory, mode: 0o755)
        try syscall("chown", path: runDirectory) { chown(runDirectory, munge, munge) }
        if settings.mungeSocket != EngineSettings.defaultMungeSocket {
            let link = rooted(root, settings.mungeSocket)
            try SystemFile.makeDirectories(String(link[..<(link.lastIndex(of: "/") ?? link.endIndex)]), mode: 0o755)
            unlink(link)
            try syscall("symlink", path: link) { symlink(EngineSettings.defaultMungeSocket, link) }
        }
        let cgroup = rooted(root, "/sys/fs/cgroup")
        if !SystemFile.exists(cgroup + "/cgroup.controllers") {
            try syscall("mount cgroup2", path: cgroup) { mount("cgroup2", cgroup, "cgroup2", 0, nil) }
        }
        // Without systemd (cgroup.conf IgnoreSystemd=yes) slurmd makes its scope under system.slice,
        // which must exist, and wants the cpuset, cpu and memory controllers delegated down to it.
        try SystemFile.makeDirectories(cgroup + "/system.slice", mode: 0o755)
        for directory in [cgroup, cgroup + "/system.slice"] {
            let control = directory + "/cgroup.subtree_control"
            let fd = open(control, O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                for controller in ["+cpuset", "+cpu", "+memory"] { _ = try? SystemFile.writeAll(fd, controller) }
                close(fd)
            }
        }
        try SystemFile.makeDirectories(rooted(root, "/var/spool/slurmd"), mode: 0o755)
    }

    /// munged is ready once its socket exists; give up after 10 s or when it ends.
    static func waitForSocket(_ path: String, pid: pid_t) throws {
        for _ in 0..<100 {
            if SystemFile.exists(path) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw AgentError(
                    operation: "munged ended (\(ExitStatus(raw: status)))", path: nil,
                    hint: "see /var/log/munge/munged.log")
            }
            sleep(milliseconds: 100)
        }
        throw AgentError(
            operation: "munged did not create its socket", path: path, hint: "see /var/log/munge/munged.log")
    }

    /// fork and exec `argv` as `user` (its group the same id), stdout and stderr to `output` or /dev/null.
    static func spawn(_ argv: [String], user: UInt32, output: Int32?) throws -> pid_t {
        let pid = fork()
        if pid < 0 { throw AgentError(operation: "fork", path: argv[0], code: errno) }
        if pid > 0 { return pid }
        let sink = output ?? open("/dev/null", O_WRONLY)
        let null = open("/dev/null", O_RDONLY)
        dup2(null, 0)
        dup2(sink, 1)
        dup2(sink, 2)
        if user != 0 {
            guard setgroups(0, nil) == 0, setgid(user) == 0, setuid(user) == 0 else { _exit(126) }
        }
        execve(argv[0], cStrings(argv), cStrings(["PATH=" + ShellCommand.searchPath]))
        _exit(127)
    }
}

/// Lines from a pipe, until its writer closes it.
struct LineReader {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// When `idle` last ran.
    var idleRan = monotonicNanoseconds()

    /// The next line; nil at the end. With `idleMilliseconds`, `idle` runs every that often, lines or
    /// none (slurmd -vv talks all the time).
    mutating func next(idleMilliseconds: Int32 = -1, idle: () -> Void = {}) -> String? {
        while true {
            if idleMilliseconds >= 0, monotonicNanoseconds() - idleRan >= Int64(idleMilliseconds) * 1_000_000 {
                idleRan = monotonicNanoseconds()
                idle()
            }
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            if idleMilliseconds >= 0 {
                var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&waiting, 1, idleMilliseconds)
                if ready == 0 { continue }
                if ready < 0 && errno == EINTR { continue }
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                guard !buffer.isEmpty else { return nil }
                defer { buffer = [] }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer += chunk[..<count]
        }
    }
}

/// The engine's part of a shutdown: which node to drain, and running `scontrol` with a deadline.
enum EngineDrain {
    /// slurmd keeps the controller's configuration here (SlurmdSpoolDir of the generated slurm.conf);
    /// `scontrol` on the drone reads it, as the drone has no /etc/slurm.
    static let configuration = "/var/spool/slurmd/conf-cache/slurm.conf"

    /// This node's Slurm name when the controller had it in this boot, else nil (nothing to drain).
    static func node(root: String) -> String? {
        guard let values = EngineState.read(root: root), values.registered else { return nil }
        return values.name
    }

    /// Runs `argv`, killing it after `milliseconds`; nil when it succeeded, else what went wrong.
    static func run(_ argv: [String], milliseconds: Int) -> String? {
        let pid = fork()
        if pid < 0 { return "\(argv[0]): fork failed" }
        if pid == 0 {
            execve(
                argv[0], cStrings(argv), cStrings(["PATH=" + ShellCommand.searchPath, "SLURM_CONF=" + configuration]))
            _exit(127)
        }
        let deadline = monotonicNanoseconds() + Int64(milliseconds) * 1_000_000
        var status: Int32 = 0
        while monotonicNanoseconds() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                let exit = ExitStatus(raw: status)
                return exit.raw == 0 ? nil : "\(argv.prefix(2).joined(separator: " ")): \(exit)"
            }
            sleep(milliseconds: 50)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
        return "\(argv.prefix(2).joined(separator: " ")): no answer within \(milliseconds / 1000) s"
    }
}

/// A NULL-terminated C string array for execve(2), in a child that is about to exec (never freed).
func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
    strings.map { strdup($0) } + [nil]
}
