import AgentSupport
import Glibc

/// `clumpbuild approve` and `deny`: one command line to a running serve's control socket
/// (`OUT/join/control.sock`, root only), and its answer.
public enum JoinControl {
    /// The socket of the serve that writes into `outDir`.
    public static func socketPath(outDir: String) -> String { outDir + "/" + Server.joinDirectory + "/" + Server.controlSocket }

    /// Sends `command` (`approve 482-913`, `deny 52:54:00:12:34:56`, `pending`); the answer, or an
    /// error when no serve listens there or it refused.
    public static func send(_ command: String, outDir: String) throws -> String {
        let path = socketPath(outDir: outDir)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MasterSideError("socket: \(String(cString: strerror(errno)))", subject: path) }
        defer { close(fd) }
        var address = try unixAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            throw MasterSideError(
                "no serve answers here: \(String(cString: strerror(code)))", subject: path,
                hint: code == EACCES ? "run it as root" : "is `clumpbuild serve` running with this --out?")
        }
        try MasterSideError.wrapping { try SystemFile.writeAll(fd, command + "\n", path: path) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while answer.count < 1 << 20 {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            answer += buffer.prefix(count)
        }
        let text = String(decoding: answer, as: UTF8.self)
        if text.hasPrefix("error: ") || text.hasPrefix("clump: approve needs root") {
            throw MasterSideError(String(text.dropFirst(text.hasPrefix("error: ") ? 7 : 0)).trimmingCharacters(), subject: path)
        }
        return text
    }

    /// The socket address of `path`, for both ends of the control socket.
    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw MasterSideError(
                "the control socket's path is too long for a socket (108 bytes)", subject: path, hint: "use a shorter --out directory")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        return address
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var text = Substring(self)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return String(text)
    }
}
