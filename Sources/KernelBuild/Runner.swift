import Foundation

/// Runs the build's commands: output (stdout and stderr together) goes to the build log and,
/// line by line, to a callback; a non-zero exit is a `KernelBuildError` for that step.
final class Runner {
    let log: FileHandle
    let interruption: Interruption
    let environment: [String: String]

    init(log: FileHandle, interruption: Interruption, environment: [String: String]) {
        self.log = log
        self.interruption = interruption
        self.environment = environment
    }

    /// A line of our own in the log.
    func note(_ text: String) {
        log.write(Data(("clump: " + text + "\n").utf8))
    }

    func flush() { try? log.synchronize() }

    /// Runs `argv` (the first word found on PATH) and returns its exit status and output.
    @discardableResult
    func run(
        _ argv: [String], step: String, allowFailure: Bool = false, onLine: ((String) -> Void)? = nil
    ) throws -> (status: Int32, output: String) {
        if interruption.happened { throw KernelBuildError(step, "interrupted") }
        log.write(Data(("$ " + argv.joined(separator: " ") + "\n").utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw KernelBuildError(step, "cannot run \(argv[0]): \(error)")
        }
        interruption.child = process.processIdentifier
        defer { interruption.child = 0 }
        var output = Data()
        var pending = Data()
        let reader = pipe.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            log.write(chunk)
            output.append(chunk)
            guard let onLine else { continue }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                onLine(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        process.waitUntilExit()
        let status = process.terminationStatus
        if interruption.happened { throw KernelBuildError(step, "interrupted") }
        if status != 0, !allowFailure {
            throw KernelBuildError(
                step, "`\(argv.prefix(6).joined(separator: " "))\(argv.count > 6 ? " ..." : "")` failed with status \(status)")
        }
        return (status, String(decoding: output, as: UTF8.self))
    }

    /// Output of a short command, for version strings.
    static func capture(_ argv: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// SIGINT and SIGTERM during a build: remember them, pass them to the running command, and
/// let the builder unwind (removing its staging directory) instead of dying with half an entry.
final class Interruption: @unchecked Sendable {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0
    nonisolated(unsafe) private static var childPID: pid_t = 0
    private var previous: [Int32: sighandler_t?] = [:]

    var happened: Bool { Self.flag != 0 }
    var child: pid_t {
        get { Self.childPID }
        set { Self.childPID = newValue }
    }

    static func install() -> Interruption {
        let interruption = Interruption()
        flag = 0
        // A parent may hand the signals down blocked (a test runner's Process does): unblock them here.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        for signal in [SIGINT, SIGTERM] {
            interruption.previous[signal] = Glibc.signal(signal) { _ in
                Interruption.flag = 1
                // SIGTERM, whatever came: GNU make passes SIGTERM on to the jobs it runs, but on
                // SIGINT it only waits for them, taking it that the terminal sent it to them too.
                if Interruption.childPID > 0 { kill(Interruption.childPID, SIGTERM) }
            }
        }
        return interruption
    }

    func remove() {
        for (signal, handler) in previous { Glibc.signal(signal, handler ?? SIG_DFL) }
        Self.childPID = 0
    }
}
