import AgentSupport
import Glibc

/// A TPM 2.0, through the kernel's resource manager (`/dev/tpmrm0`: every object and session this
/// process loads is flushed when it closes the device) or a software TPM's socket (swtpm's
/// `--server type=unixio`, for tests): one command out, one whole response in.
public final class TPMDevice {
    /// Where the kernel puts the resource manager of the first TPM.
    public static let resourceManager = "/dev/tpmrm0"

    public let path: String
    private let fd: Int32

    public init(path: String) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else { throw OperationError(operation: "stat", path: path, code: errno) }
        if info.st_mode & S_IFMT == S_IFSOCK {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                throw OperationError(operation: "connect", path: path, code: ENAMETOOLONG)
            }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let socket = try syscall("socket", path: path) { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else {
                let code = errno
                Glibc.close(socket)
                throw OperationError(operation: "connect", path: path, code: code)
            }
            fd = socket
        } else {
            fd = try syscall("open", path: path) { open(path, O_RDWR | O_CLOEXEC) }
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends a command and returns its response, failing on a TPM error code with `what` named.
    func run(_ command: TPMCommand, _ what: String) throws -> TPMResponse {
        var tries = 0
        while true {
            let response = try exchange(command, what)
            // TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING: the TPM could not start it now; the TSS retries these too.
            guard [0x922, 0x908, 0x90A].contains(response.code), tries < 50 else {
                guard response.code == 0 else {
                    throw TPMError(
                        "\(what) failed with TPM response code 0x\(String(response.code, radix: 16))",
                        hint: response.code == 0x902 ? "the TPM is out of object memory: flush it, or use /dev/tpmrm0" : nil)
                }
                return response
            }
            tries += 1
            var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
            nanosleep(&pause, nil)
        }
    }

    private func exchange(_ command: TPMCommand, _ what: String) throws -> TPMResponse {
        try SystemFile.writeAll(fd, command.bytes, path: path)
        // The kernel's device hands over the whole response in one read, and a shorter read would lose
        // the rest; a socket may give it in parts.
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        repeat {
            // A TPM answers within seconds (RSA key generation is the slowest); one that does not is not waited for.
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard case .success(let ready) = SystemCall.retrying({ poll(&poller, 1, 60_000) }), ready == 1 else {
                throw TPMError("the TPM at \(path) did not answer \(what) within 60 s")
            }
            let count = try syscall("read", path: path) { read(fd, &buffer, buffer.count) }
            guard count > 0 else { throw TPMError("the TPM at \(path) closed the connection during \(what)") }
            bytes += buffer.prefix(count)
        } while bytes.count < 10 || bytes.count < Int(bytes[2...5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        return try TPMResponse(bytes)
    }
}
