import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a command stops a host program it started (QEMU, dnsmasq), so every one is stopped alike.
public enum HostProgram {
    /// SIGTERM, then SIGKILL if `process` is still there after `grace` seconds; waits for it.
    public static func stop(_ process: Process, grace: Double = 3) {
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs `program` with `arguments`, its output and errors captured together; stopped as above
    /// after `timeout` seconds. The status and what it said; throws only when it cannot start.
    public static func output(_ program: URL, _ arguments: [String], timeout: Double) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read as it comes, so a talkative program never blocks on a full pipe.
        var output = Data()
        let reader = pipe.fileHandleForReading
        let deadline = Date().addingTimeInterval(timeout)
        var flags = fcntl(reader.fileDescriptor, F_GETFL)
        flags |= O_NONBLOCK
        _ = fcntl(reader.fileDescriptor, F_SETFL, flags)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = read(reader.fileDescriptor, &buffer, buffer.count)
            if count > 0 {
                output.append(contentsOf: buffer.prefix(count))
            } else if count == 0 {
                break
            } else {
                usleep(20_000)
            }
        }
        if process.isRunning && Date() >= deadline { stop(process) }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
