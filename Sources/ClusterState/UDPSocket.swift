import AgentSupport
import Glibc

/// A UDP/IPv4 socket bound to a port on every address, broadcast allowed; optionally tied to
/// one interface (SO_BINDTODEVICE) so broadcasts leave through it. Owns the descriptor.
final class UDPSocket {
    let fd: Int32

    init(port: UInt16, interface: String?) throws {
        fd = try syscall("socket") { socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            var one: Int32 = 1
            let size = socklen_t(MemoryLayout<Int32>.size)
            try syscall("setsockopt SO_REUSEADDR") { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, size) }
            try syscall("setsockopt SO_BROADCAST") { setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, size) }
            // Each datagram's destination address comes with it: the MAC covers it.
            try syscall("setsockopt IP_PKTINFO") { setsockopt(fd, Int32(IPPROTO_IP), IP_PKTINFO, &one, size) }
            if let interface {
                var name = Array(interface.utf8CString)
                try syscall("setsockopt SO_BINDTODEVICE", path: interface) {
                    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, &name, socklen_t(name.count))
                }
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = INADDR_ANY
            try syscall("bind", path: "UDP port \(port)") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Testing only: drops `percent` of the datagrams this socket receives, at random, in the
    /// kernel. It simulates a lossy network where `tc netem` is unavailable (kernels without
    /// sch_netem): a classic BPF socket filter (SO_ATTACH_FILTER, linux/filter.h) loads the
    /// ancillary random number (SKF_AD_OFF + SKF_AD_RANDOM, a fresh u32 per packet) and drops
    /// the packet when it is below percent/100 of 2^32. 0 removes the filter.
    func dropReceived(percent: Double) throws {
        if percent <= 0 {
            var unused: Int32 = 0
            _ = setsockopt(fd, SOL_SOCKET, 27 /* SO_DETACH_FILTER */, &unused, socklen_t(MemoryLayout<Int32>.size))
            return
        }
        let threshold = UInt32(clamping: Int64(min(percent, 100) / 100 * 4_294_967_296))
        // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k }, packed as one little-or-big-endian
        // neutral 8-byte record each.
        func instruction(_ code: UInt16, _ jt: UInt8, _ jf: UInt8, _ k: UInt32) -> [UInt8] {
            withUnsafeBytes(of: code) { Array($0) } + [jt, jf] + withUnsafeBytes(of: k) { Array($0) }
        }
        let program: [UInt8] =
            instruction(0x20, 0, 0, 0xFFFF_F000 &+ 56)  // ld [SKF_AD_OFF + SKF_AD_RANDOM]
            + instruction(0x35, 0, 1, threshold)  // jge #threshold, keep, drop
            + instruction(0x06, 0, 0, 0xFFFF_FFFF)  // keep: ret #-1 (the whole datagram)
            + instruction(0x06, 0, 0, 0)  // drop: ret #0
        try program.withUnsafeBytes { filter in
            // struct sock_fprog { unsigned short len; struct sock_filter *filter }: the length,
            // padding to the pointer's alignment, the pointer.
            var fprog: (UInt64, UInt) = (UInt64(program.count / 8), UInt(bitPattern: filter.baseAddress))
            if UInt16(1).bigEndian == 1 { fprog.0 = UInt64(program.count / 8) << 48 }
            try syscall("setsockopt SO_ATTACH_FILTER") {
                setsockopt(fd, SOL_SOCKET, 26 /* SO_ATTACH_FILTER */, &fprog, socklen_t(MemoryLayout<(UInt64, UInt)>.size))
            }
        }
    }

    /// Sends one datagram; a full queue or an unreachable peer loses it, like the network would.
    func send(_ bytes: [UInt8], to address: UInt32, port: UInt16) {
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = port.bigEndian
        destination.sin_addr.s_addr = address.bigEndian
        _ = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0,
                        socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Waits up to `milliseconds` for the socket to be readable.
    func wait(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0 && entry.revents & Int16(POLLIN) != 0
    }

    /// One pending datagram, its source address and the address it was sent to (a local address
    /// or a broadcast address, from IP_PKTINFO), without blocking; nil when there is none.
    /// Reads one byte more than a datagram may have, so an oversized one is seen as such.
    func receive() -> (bytes: [UInt8], source: UInt32, destination: UInt32)? {
        var buffer = [UInt8](repeating: 0, count: Datagram.maxSize + 1)
        var source = [UInt8](repeating: 0, count: MemoryLayout<sockaddr_in>.size)
        var control = [UInt8](repeating: 0, count: 64)
        let (count, controlLength) = ControlMessages.receive(fd, into: &buffer, name: &source, control: &control)
        guard count >= 0 else { return nil }
        return (
            // sockaddr_in: family (2), port (2), then the address in network order.
            Array(buffer[0..<count]), source[4..<8].reduce(0) { $0 << 8 | UInt32($1) },
            Self.destination(control: control, length: controlLength) ?? 0
        )
    }

    /// `ipi_addr` of the IP_PKTINFO control message (`struct in_pktinfo { int ipi_ifindex;
    /// struct in_addr ipi_spec_dst; struct in_addr ipi_addr; }`, addresses in network order).
    static func destination(control: [UInt8], length: Int) -> UInt32? {
        guard let data = ControlMessages.data(level: Int32(IPPROTO_IP), type: IP_PKTINFO, in: control, length: length),
            data.count >= 12
        else { return nil }
        return data.dropFirst(8).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// Nanoseconds on CLOCK_MONOTONIC.
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
