import Glibc

/// A UDP socket for a test's PC on a LAN: it may broadcast, and is bound to `port` on every address
/// beside whoever else has it (SO_REUSEADDR); with `device`, only that card (SO_BINDTODEVICE: the
/// limited broadcast has no route where there is no default route). The caller closes it.
public func broadcastSocket(port: UInt16, device: String? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("UDP socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, 4)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
    if let device, setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, socklen_t(device.utf8.count + 1)) != 0 {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw TestSupportError("SO_BINDTODEVICE \(device): \(reason)")
    }
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_port = port.bigEndian
    let bound = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw TestSupportError("bind to UDP port \(port): \(reason)")
    }
    return fd
}
