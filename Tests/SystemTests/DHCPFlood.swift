import Foundation
import NetProbe
import TestSupport

/// A PC on the lab LAN that invents DHCP clients: each a new locally administered MAC that sends a
/// DISCOVER and, when offered an address, REQUESTs it, as a boot ROM would. It runs in its own
/// namespace on a veth into the master's bridge, at an address outside the range.
final class DHCPFlood: @unchecked Sendable {
    let namespace: String
    private let lock = NSLock()
    private var offers = 0
    private var acks = 0
    private var sent = 0
    private var failed = 0

    /// A namespace `namespace` with eth0 at `address` on the bridge `br0` of `lan`.
    init(on lan: String, namespace: String, address: String) throws {
        self.namespace = namespace
        try Spawn.run(["ip", "netns", "add", namespace])
        do {
            try Spawn.run(["ip", "-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", "flood", "netns", lan])
            try Spawn.run(["ip", "-n", lan, "link", "set", "flood", "master", "br0", "up"])
            try Spawn.run(["ip", "-n", namespace, "addr", "add", address, "dev", "eth0"])
            try Spawn.run(["ip", "-n", namespace, "link", "set", "eth0", "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// DISCOVERs, REQUESTs and what came back so far.
    var counts: (sent: Int, failed: Int, offers: Int, acks: Int) { lock.withLock { (sent, failed, offers, acks) } }

    /// Invents `clients` machines, evenly over `seconds`, and answers their offers; returns when
    /// the last has had `seconds / clients` more to get its answer. Runs in the namespace (on the
    /// calling thread, which it moves there: call it on a thread of its own).
    func run(clients: Int, seconds: Double) throws {
        try Namespace.enter(namespace)
        let fd = try broadcastSocket(port: 68, device: "eth0")
        defer { close(fd) }
        let started = Date()
        var next = 0
        var buffer = [UInt8](repeating: 0, count: 1500)
        let end = seconds + seconds / Double(clients) + 2
        while Date().timeIntervalSince(started) < end {
            while next < clients && Double(next) * seconds / Double(clients) <= Date().timeIntervalSince(started) {
                send(discover(client: next), on: fd)
                next += 1
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 10) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0, let reply = try? DHCPMessage(decoding: Array(buffer[0..<count])),
                reply.operation == .reply, reply.clientHardwareAddress.prefix(2) == [0x02, 0xCF]
            else { continue }
            switch reply.messageType {
            case .offer?:
                lock.withLock { offers += 1 }
                var request = DHCPMessage(operation: .request, xid: reply.xid, clientHardwareAddress: Array(reply.clientHardwareAddress.prefix(6)))
                request.flags = DHCPMessage.broadcastFlag
                request.messageType = .request
                request.options[DHCPOptionCode.requestedIPAddress] = reply.yourAddress.bytes
                request.options[DHCPOptionCode.serverIdentifier] = reply.options[DHCPOptionCode.serverIdentifier]
                send(request, on: fd)
            case .ack?:
                lock.withLock { acks += 1 }
            default:
                break
            }
        }
    }

    /// Client `index`'s DISCOVER: MAC 02:cf:00:00:hi:lo, xid from the index.
    private func discover(client index: Int) -> DHCPMessage {
        let mac: [UInt8] = [0x02, 0xCF, 0, 0, UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
        var message = DHCPMessage(operation: .request, xid: 0xF100_0000 | UInt32(index), clientHardwareAddress: mac)
        message.flags = DHCPMessage.broadcastFlag
        message.messageType = .discover
        message.options[DHCPOptionCode.parameterRequestList] = [1, 3, 6, 12, 15, 17, 66, 67]
        return message
    }

    private func send(_ message: DHCPMessage, on fd: Int32) {
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = UInt16(67).bigEndian
        server.sin_addr.s_addr = UInt32(0xFFFF_FFFF).bigEndian
        let bytes = message.encoded()
        let result = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &server) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        lock.withLock { if result == bytes.count { sent += 1 } else { failed += 1 } }
    }

    func remove() { _ = try? Spawn.run(["ip", "netns", "del", namespace]) }
}
