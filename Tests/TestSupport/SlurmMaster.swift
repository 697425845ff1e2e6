import Foundation

/// A Slurm controller for tests: munged and slurmctld in a network namespace the test made, every
/// file (key, socket, state, logs) in `directory`, so nothing clashes with the machine's own MUNGE or
/// Slurm or with another test. `stop()` ends both daemons.
public final class SlurmMaster: @unchecked Sendable {
    public let namespace: String
    public let directory: String
    private var munged: pid_t?
    private var slurmctld: pid_t?

    /// The MUNGE socket slurm.conf must name (`AuthInfo=socket=`).
    public var socket: String { directory + "/munge/munge.socket" }
    /// The cluster's MUNGE key, made by `init`.
    public var keyFile: String { directory + "/munge.key" }
    /// The slurm.conf slurmctld runs with.
    public var configuration: String { directory + "/etc/slurm.conf" }

    /// Prepares `directory` (created) and a fresh key; nothing runs yet.
    public init(namespace: String, directory: String) throws {
        self.namespace = namespace
        self.directory = directory
        for sub in ["", "/munge", "/etc", "/state", "/log"] {
            try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true)
            // slurmctld drops to SlurmUser (slurm) and must reach its files; munged wants its own
            // directories writable by no one else.
            chmod(directory + sub, 0o755)
        }
        try Self.makeKey(at: keyFile)
        try Spawn.run(["chown", "-R", "slurm:slurm", directory + "/state", directory + "/log"])
    }

    /// A MUNGE key: 1024 random bytes, mode 0400 (munged refuses anything others can read).
    public static func makeKey(at path: String) throws {
        var bytes = [UInt8](repeating: 0, count: 1024)
        for index in stride(from: 0, to: bytes.count, by: 256) {
            guard getentropy(&bytes[index], 256) == 0 else { throw TestSupportError("getentropy failed") }
        }
        guard
            FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o400])
        else { throw TestSupportError("cannot write \(path)") }
    }

    /// Starts munged and slurmctld on `slurmConf` (with this directory's state, log and pid files
    /// appended: slurm.conf takes the last value of a key) and waits until `sinfo` answers.
    public func start(slurmConf: String, cgroupConf: String) throws {
        let overrides = """
            StateSaveLocation=\(directory)/state
            SlurmctldLogFile=\(directory)/log/slurmctld.log
            SlurmctldPidFile=\(directory)/state/slurmctld.pid

            """
        try (slurmConf + overrides).write(toFile: configuration, atomically: true, encoding: .utf8)
        try cgroupConf.write(toFile: directory + "/etc/cgroup.conf", atomically: true, encoding: .utf8)
        try startMunged()
        slurmctld = try Spawn.start(
            inNamespace(["slurmctld", "-D", "-i", "-f", configuration]), output: directory + "/slurmctld.out")
        try waitFor("slurmctld", seconds: 60) { ((try? self.run(["sinfo", "--noheader"]))?.status ?? 1) == 0 }
    }

    /// Starts munged on this directory's key and socket, and waits for its socket.
    public func startMunged() throws {
        unlink(socket)
        munged = try Spawn.start(
            inNamespace([
                "munged", "--foreground", "--socket=\(socket)", "--key-file=\(keyFile)",
                "--log-file=\(directory)/munge/munged.log", "--pid-file=\(directory)/munge/munged.pid",
                "--seed-file=\(directory)/munge/seed",
            ]), output: directory + "/munged.out")
        try waitFor("munged's socket", seconds: 20) { FileManager.default.fileExists(atPath: self.socket) }
    }

    /// What an operator does to rotate the key: a new one renamed over the old, munged started again on it.
    public func rotateKey() throws {
        try Self.makeKey(at: keyFile + ".new")
        guard rename(keyFile + ".new", keyFile) == 0 else { throw TestSupportError("cannot rename the new MUNGE key over \(keyFile)") }
        if let munged { Spawn.stop(munged) }
        munged = nil
        try startMunged()
    }

    /// Runs a Slurm client (`sinfo`, `srun`, `scontrol`) against this controller.
    public func run(_ argv: [String], timeout: Double = 30) throws -> (status: Int32, output: String) {
        try Spawn.capture(inNamespace(["env", "SLURM_CONF=\(configuration)"] + argv), timeout: timeout)
    }

    /// slurmctld's log and output, for failure messages.
    public var log: String {
        ["/log/slurmctld.log", "/slurmctld.out", "/munged.out"].map {
            (try? String(contentsOfFile: directory + $0, encoding: .utf8)) ?? ""
        }.joined(separator: "\n").suffix(6000).description
    }

    /// Polls `condition` every 0.2 s for up to `seconds`.
    public func waitFor(_ what: String, seconds: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            if let slurmctld, Spawn.wait(slurmctld, timeout: 0) != nil {
                self.slurmctld = nil
                throw TestSupportError("slurmctld exited while waiting for \(what):\n\(log)")
            }
            usleep(200_000)
        }
        throw TestSupportError("\(what) not ready within \(Int(seconds)) s:\n\(log)")
    }

    private func inNamespace(_ argv: [String]) -> [String] { ["ip", "netns", "exec", namespace] + argv }

    /// Stops slurmctld, then munged.
    public func stop() {
        if let slurmctld { Spawn.stop(slurmctld) }
        if let munged { Spawn.stop(munged) }
        slurmctld = nil
        munged = nil
    }
}
