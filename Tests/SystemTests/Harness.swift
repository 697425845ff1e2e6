import Foundation
import Testing

/// Locates the binaries `scripts/test` built; a system test never runs against a stale
/// or missing build silently.
enum Harness {
    static var binDir: String {
        get throws {
            guard let dir = ProcessInfo.processInfo.environment["CLUMP_BIN"] else {
                throw HarnessError("CLUMP_BIN is not set: run the tests with scripts/test (it builds the release tools)")
            }
            return dir
        }
    }

    static var clumpbuild: String {
        get throws {
            let path = try binDir + "/clumpbuild"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw HarnessError("\(path) is missing: run scripts/test")
            }
            return path
        }
    }

    /// A fresh scratch directory under /tmp, removed by the caller.
    static func scratch(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "clump-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a program to completion and returns its status and combined output.
    @discardableResult
    static func run(
        _ argv: [String], cwd: String? = nil, environment: [String: String] = [:], input: String? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0].contains("/") ? argv[0] : "/usr/bin/env")
        process.arguments = argv[0].contains("/") ? Array(argv.dropFirst()) : argv
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        if let input {
            let inPipe = Pipe()
            process.standardInput = inPipe
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a shell pipeline (for independent checkers like `zstd -dc | cpio -t`).
    static func shell(_ script: String) throws -> (status: Int32, output: String) {
        try run(["/bin/bash", "-o", "pipefail", "-c", script])
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The default image, built once per test run and shared by the tests that only read it
/// (boots are slow under TCG: one build, many boots).
actor SharedImage {
    static let shared = SharedImage()
    private var built: Result<String, Error>?

    /// The out directory holding clump.iso and tftpboot/.
    func outDir() throws -> String {
        if let built { return try built.get() }
        let result = Result { () throws -> String in
            let work = try Harness.scratch("image")
            let out = work + "/out"
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild, "build", "--out", out], cwd: work,
                environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            guard status == 0 else { throw HarnessError("clumpbuild build failed (\(status)):\n\(output)") }
            return out
        }
        built = result
        return try result.get()
    }
}

/// A booted VM's serial console, driven like a person at a terminal.
final class Console: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var text = ""
    let name: String

    /// Starts `clumpbuild boot` with the given arguments (its serial console on our pipes),
    /// inside the network namespace `namespace` when one is given (its taps are there).
    convenience init(_ name: String, bootArguments: [String], namespace: String? = nil) throws {
        try self.init(name, clumpbuild: ["boot"] + bootArguments, namespace: namespace)
    }

    /// Any `clumpbuild` subcommand whose output is read like a console (`serve`).
    init(_ name: String, clumpbuild arguments: [String], namespace: String? = nil, environment: [String: String] = [:]) throws {
        self.name = name
        let settings = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", namespace, "env"] + settings + [try Harness.clumpbuild] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = settings + [try Harness.clumpbuild] + arguments
        }
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.text += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    var transcript: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    /// Where the transcript ends now: `expect(_:within:after:)` then looks only at what follows.
    var mark: Int { transcript.utf16.count }

    /// Waits until the console shows `pattern` (a regular expression), after `mark` when given;
    /// fails with the transcript.
    @discardableResult
    func expect(_ pattern: String, within seconds: Double, after mark: Int = 0) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let whole = transcript
            let now = String(whole.utf16.dropFirst(mark)) ?? whole
            if let match = regex.firstMatch(in: now, range: NSRange(now.startIndex..., in: now)),
                let range = Range(match.range, in: now)
            {
                return String(now[range])
            }
            if !process.isRunning {
                Thread.sleep(forTimeInterval: 0.2)
                let last = String(transcript.utf16.dropFirst(mark)) ?? transcript
                if regex.firstMatch(in: last, range: NSRange(last.startIndex..., in: last)) != nil { continue }
                throw HarnessError("\(name): QEMU exited before /\(pattern)/ appeared. Console:\n\(last.suffix(4000))")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw HarnessError("\(name): /\(pattern)/ did not appear within \(Int(seconds)) s. Console:\n\(transcript.suffix(4000))")
    }

    /// Types on the serial console (Enter is CR on a serial line), a key at a time as a person does:
    /// the guest's UART holds 16 bytes, and a boot loader that polls it under TCG loses the rest of a
    /// longer line sent at once.
    func type(_ line: String) {
        for byte in (line + "\r").utf8 {
            input.fileHandleForWriting.write(Data([byte]))
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Presses keys on the serial console, as they are (no Enter): "\u{1b}" is ESC.
    func press(_ keys: String) {
        input.fileHandleForWriting.write(Data(keys.utf8))
    }

    /// Waits for QEMU to exit by itself; returns its status or fails.
    func waitForExit(within seconds: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        guard !process.isRunning else {
            throw HarnessError("\(name): QEMU still running after \(Int(seconds)) s. Console:\n\(transcript.suffix(4000))")
        }
        return process.terminationStatus
    }

    /// SIGTERM, as Ctrl-C or a service manager would stop it; its exit status.
    func stop(within seconds: Double = 30) throws -> Int32 {
        if process.isRunning { process.terminate() }
        return try waitForExit(within: seconds)
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
