import AgentSupport
import Glibc

/// A frame from the interface, with what the kernel said about it.
public struct ReceivedFrame: Hashable, Sendable {
    public var bytes: [UInt8]
    /// `TP_STATUS_CSUMNOTREADY` from `PACKET_AUXDATA`: the UDP checksum is still to be filled
    /// in by offload that never ran (veth, virtio, tap), so it must not be checked.
    public var checksumNotReady: Bool

    public init(bytes: [UInt8], checksumNotReady: Bool = false) {
        self.bytes = bytes
        self.checksumNotReady = checksumNotReady
    }
}

/// Sends and receives whole Ethernet frames on one interface. Behind a protocol so the driver
/// can run against an in-memory double.
public protocol DHCPTransport: AnyObject {
    var interface: String { get }
    var index: Int32 { get }
    var mac: MACAddress { get }
    /// For `poll`; -1 for a transport that is never readable by itself.
    var fileDescriptor: Int32 { get }
    func send(_ frame: [UInt8]) throws
    /// The next queued frame, or nil when none is waiting (never blocks).
    func receive() throws -> ReceivedFrame?
}

/// An `AF_PACKET`/`SOCK_RAW` socket bound to one interface, with a BPF filter for UDP port 68
/// and `PACKET_AUXDATA` on. Open it in the network namespace of the interface.
public final class RawSocket: DHCPTransport {
    public let interface: String
    public let index: Int32
    public let mac: MACAddress
    let descriptor: Int32
    public var fileDescriptor: Int32 { descriptor }

    // linux/if_ether.h, linux/if_packet.h, asm-generic/socket.h: not all exported by Glibc.
    static let ETH_P_IP: UInt16 = 0x0800
    static let PACKET_AUXDATA: Int32 = 8
    static let PACKET_OUTGOING: UInt8 = 4
    static let TP_STATUS_CSUMNOTREADY: UInt32 = 1 << 3
    static let SO_ATTACH_FILTER: Int32 = 26
    static let sockaddrLLSize = 20

    public init(interface: String) throws {
        self.interface = interface
        let index = if_nametoindex(interface)
        guard index != 0 else {
            throw DHCPError(
                .system(call: "if_nametoindex", errno: Glibc.errno), interface: interface,
                hint: "no such interface; see `ip link`")
        }
        self.index = Int32(index)
        // Opened with its protocol, the socket is hooked on every device at once and bind must
        // unhook it again, which waits for an RCU grace period (synchronize_net, ~18 ms
        // measured). Opening it with protocol 0 and naming the protocol only at bind avoids
        // that wait, but then the socket was seen to miss every frame now and then (about one
        // namespace test in three, and the first OFFER on QEMU's e1000): correctness first.
        let fd = try retryingSyscall("socket(AF_PACKET, SOCK_RAW)", interface: interface) {
            socket(
                AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), Int32(RawSocket.ETH_P_IP.bigEndian))
        }
        descriptor = fd
        do {
            try RawSocket.attachFilter(fd, interface: interface)
            var on: Int32 = 1
            try retryingSyscall("setsockopt(PACKET_AUXDATA)", interface: interface) {
                setsockopt(fd, SOL_PACKET, RawSocket.PACKET_AUXDATA, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            let address = RawSocket.sockaddrLL(index: Int32(index), destination: nil)
            _ = try address.withUnsafeBytes { raw in
                try retryingSyscall("bind(AF_PACKET)", interface: interface) {
                    bind(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
                }
            }
            // The kernel fills in the bound device's hardware address (packet_getname).
            var name = [UInt8](repeating: 0, count: 32)
            var length = socklen_t(name.count)
            _ = try name.withUnsafeMutableBytes { raw in
                try retryingSyscall("getsockname(AF_PACKET)", interface: interface) {
                    getsockname(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
                }
            }
            guard name[11] == 6, let mac = MACAddress(bytes: name[12..<18]) else {
                throw DHCPError(
                    .invalid("not an Ethernet interface (hardware address length \(name[11]))"), interface: interface)
            }
            self.mac = mac
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// struct sockaddr_ll { u16 family; be16 protocol; i32 ifindex; u16 hatype; u8 pkttype;
    /// u8 halen; u8 addr[8]; }
    static func sockaddrLL(index: Int32, destination: MACAddress?) -> [UInt8] {
        var address = native(UInt16(AF_PACKET)) + native(ETH_P_IP.bigEndian) + native(index)
        address += [0, 0, 0, destination == nil ? 0 : 6]
        address += (destination?.bytes ?? []) + [UInt8](repeating: 0, count: 8 - (destination?.bytes.count ?? 0))
        return address
    }

    /// SO_ATTACH_FILTER with `struct sock_fprog { unsigned short len; struct sock_filter *filter; }`.
    static func attachFilter(_ fd: Int32, interface: String) throws {
        var program: [UInt8] = []
        for instruction in DHCPFrame.udpPort68Filter {
            program += native(instruction.code) + [instruction.jt, instruction.jf] + native(instruction.k)
        }
        try program.withUnsafeBytes { filter in
            var fprog = [UInt8](repeating: 0, count: 16)
            fprog.replaceSubrange(0..<2, with: native(UInt16(DHCPFrame.udpPort68Filter.count)))
            fprog.replaceSubrange(8..<16, with: native(UInt(bitPattern: filter.baseAddress)))
            _ = try fprog.withUnsafeBytes { raw in
                try retryingSyscall("setsockopt(SO_ATTACH_FILTER)", interface: interface) {
                    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, raw.baseAddress, socklen_t(raw.count))
                }
            }
        }
    }

    public func send(_ frame: [UInt8]) throws {
        let destination = MACAddress(bytes: frame.prefix(6))
        let address = RawSocket.sockaddrLL(index: index, destination: destination)
        _ = try frame.withUnsafeBytes { data in
            try address.withUnsafeBytes { raw in
                try retryingSyscall("sendto(AF_PACKET)", interface: interface) {
                    sendto(
                        descriptor, data.baseAddress, data.count, 0,
                        raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
                }
            }
        }
    }

    public func receive() throws -> ReceivedFrame? {
        while true {
            var buffer = [UInt8](repeating: 0, count: 4096)
            var control = [UInt8](repeating: 0, count: 128)
            var name = [UInt8](repeating: 0, count: 32)
            var controlLength = 0
            // Non-blocking: EAGAIN means "nothing queued", not an error.
            let count = try retryingSyscall("recvmsg(AF_PACKET)", interface: interface) { () -> Int in
                let result = ControlMessages.receive(descriptor, into: &buffer, name: &name, control: &control)
                controlLength = result.controlLength
                return result.count == -1 && (Glibc.errno == EAGAIN || Glibc.errno == EWOULDBLOCK) ? -2 : result.count
            }
            if count == -2 { return nil }
            // sll_pkttype at offset 10: our own transmissions looped back to us are not replies.
            if name[10] == RawSocket.PACKET_OUTGOING { continue }
            let status = RawSocket.auxStatus(control: control, length: controlLength)
            return ReceivedFrame(
                bytes: Array(buffer[0..<min(count, buffer.count)]),
                checksumNotReady: status.map { $0 & RawSocket.TP_STATUS_CSUMNOTREADY != 0 } ?? false)
        }
    }

    /// `tpacket_auxdata.tp_status` (its first field) from the PACKET_AUXDATA control message.
    static func auxStatus(control: [UInt8], length: Int) -> UInt32? {
        guard let data = ControlMessages.data(level: SOL_PACKET, type: PACKET_AUXDATA, in: control, length: length),
            data.count >= 4
        else { return nil }
        return data.prefix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }
}
