import Foundation

/// swtpm, a TPM 2.0 in a process: its state in a directory of its own (so two of them are two
/// different TPMs with different endorsement keys) and a unix socket for raw TPM commands, or,
/// `forQEMU`, the control channel QEMU's `-tpmdev emulator` drives (`clumpbuild boot --tpm`).
public final class SoftwareTPM: @unchecked Sendable {
    public let directory: String
    /// The socket TPM commands go to (`TPMDevice(path:)`), or QEMU's control socket.
    public let socket: String
    private let pid: pid_t

    public init(directory: String, forQEMU: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm") else {
            throw TestSupportError("swtpm is not installed: apt-get install swtpm swtpm-tools")
        }
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/state", withIntermediateDirectories: true)
        socket = directory + "/tpm.sock"
        unlink(socket)
        let channel = forQEMU
            ? ["--ctrl", "type=unixio,path=\(socket)"]
            : [
                // tpm2-tools' swtpm TCTI wants the control channel beside the socket.
                "--server", "type=unixio,path=\(socket)", "--ctrl", "type=unixio,path=\(socket).ctrl", "--flags",
                "not-need-init,startup-clear",
            ]
        pid = try Spawn.start(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=\(directory)/state"] + channel, output: directory + "/swtpm.log")
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard Date() < deadline, Spawn.wait(pid, timeout: 0.05) == nil else {
                let log = (try? String(contentsOfFile: directory + "/swtpm.log", encoding: .utf8)) ?? ""
                throw TestSupportError("swtpm did not open \(socket): \(log)")
            }
        }
    }

    private var stopped = false

    public func stop() {
        guard !stopped else { return }
        stopped = true
        Spawn.stop(pid)
    }

    deinit { stop() }
}
