import AgentSupport
import AutoMap
import Glibc
import JoinProtocol

/// A TCP connection to the master for the join: connect with a deadline, whole frames out,
/// whole frames in with a deadline (nil when the peer closed). Keep-alives from the kernel too,
/// so a master that vanished without a FIN is noticed.
final class StreamConnection {
    private let fd: Int32
    private var reader = FrameReader()

    init(host: String, port: UInt16, timeoutMilliseconds: Int32) throws {
        let address = try IPv4Address(parsing: host)
        fd = try syscall("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = port.bigEndian
        peer.sin_addr.s_addr = address.value.bigEndian
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let started = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 && errno != EINPROGRESS {
            let code = errno
            Glibc.close(fd)
            throw OperationError(operation: "connect", path: "\(host):\(port)", code: code)
        }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = SystemCall.retrying { poll(&poller, 1, timeoutMilliseconds) }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
        guard case .success(let count) = ready, count == 1, failure == 0 else {
            Glibc.close(fd)
            throw OperationError(operation: "connect", path: "\(host):\(port)", code: failure == 0 ? ETIMEDOUT : failure)
        }
        _ = fcntl(fd, F_SETFL, flags)
    }

    func send(_ bytes: [UInt8]) throws { try SystemFile.writeAll(fd, bytes, path: "the join session") }

    /// The next whole frame, nil when the peer closed; throws on a deadline or a bad frame.
    func receive(timeoutMilliseconds: Int) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonicNanoseconds() + Int64(timeoutMilliseconds) * 1_000_000
        while true {
            if let frame = try reader.next() { return frame }
            let left = (deadline - monotonicNanoseconds()) / 1_000_000
            guard left > 0 else { throw OperationError(operation: "read", path: "the join session", code: ETIMEDOUT) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard case .success(let ready) = SystemCall.retrying({ poll(&poller, 1, Int32(left)) }), ready == 1 else { continue }
            let count = try syscall("read", path: "the join session") { read(fd, &buffer, buffer.count) }
            if count == 0 { return nil }
            reader.append(buffer.prefix(count))
        }
    }

    func close() { Glibc.close(fd) }
}
