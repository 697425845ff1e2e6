import AutoMap
import Foundation
import NetProbe

/// Asks a LAN whether a DHCP server already answers there, before `serve` becomes one: two servers
/// handing out addresses on one segment is the classic way a lab PXE setup takes an office down.
///
/// One DISCOVER (RFC 2131 section 4.4.1) with the broadcast flag, so any server answers by broadcast
/// and a client socket without an address hears it; OFFERs for our transaction are collected until the
/// time is up. Nothing is requested, so no server leases anything.
public enum DHCPServerProbe {
    /// The server identifiers (option 54) of every server that offered an address on `interface`.
    public static func servers(on interface: String, mac: [UInt8], seconds: Double = 2) throws -> [IPv4Address] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket", interface) }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = interface.withCString { name in
            setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1))
        }
        guard bound == 0 else { throw failure("SO_BINDTODEVICE", interface) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = in_port_t(68).bigEndian
        guard withUnsafePointer(to: &local, { bind(fd, UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in>.size)) }) == 0 else {
            throw failure("bind to port 68 (is a DHCP client or server running on it?)", interface)
        }
        let xid = UInt32.random(in: 1...UInt32.max)
        let packet = discover(xid: xid, mac: mac)
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = in_port_t(67).bigEndian
        server.sin_addr.s_addr = INADDR_BROADCAST
        let sent = packet.withUnsafeBytes { bytes in
            withUnsafePointer(to: &server) {
                sendto(fd, bytes.baseAddress, bytes.count, 0, UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == packet.count else { throw failure("send the DISCOVER", interface) }

        var found: [IPv4Address] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 1500)
        while Date() < deadline {
            var fds = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&fds, 1, wait) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0, let offer = offerServer(Array(buffer[0..<count]), xid: xid) else { continue }
            if !found.contains(offer) { found.append(offer) }
        }
        return found
    }

    /// A DISCOVER with the broadcast flag: we have no address to be answered at (RFC 2131 section 4.1).
    static func discover(xid: UInt32, mac: [UInt8]) -> [UInt8] {
        var message = DHCPMessage(operation: .request, xid: xid, clientHardwareAddress: mac)
        message.flags = DHCPMessage.broadcastFlag
        message.messageType = .discover
        return message.encoded()
    }

    /// The server identifier of an OFFER for `xid`; nil for anything else. A server that sends no
    /// option 54 still answered: its address is the packet's siaddr at worst.
    static func offerServer(_ packet: [UInt8], xid: UInt32) -> IPv4Address? {
        guard let message = try? DHCPMessage(decoding: packet), message.operation == .reply, message.xid == xid,
            message.messageType == .offer
        else { return nil }
        return IPv4Address((message.serverIdentifier ?? message.serverAddress).value)
    }

    private static func failure(_ what: String, _ interface: String) -> MasterSideError {
        MasterSideError(
            "cannot probe for other DHCP servers: \(what): \(String(cString: strerror(errno)))", subject: interface,
            hint: "run as root; pass --proxy to skip the check and serve only boot information")
    }
}
