/// Ethernet + IPv4 + UDP framing for DHCP over an `AF_PACKET` socket.
///
/// We send before we have an address (source 0.0.0.0, destination 255.255.255.255, RFC 2131
/// 4.1), so the kernel's UDP stack cannot be used: we build whole frames and read whole frames.
public enum DHCPFrame {
    public static let clientPort: UInt16 = 68
    public static let serverPort: UInt16 = 67
    static let ethernetHeaderSize = 14
    static let ipv4EtherType: UInt16 = 0x0800
    static let udpProtocol: UInt8 = 17

    /// A received frame that carries a UDP datagram to our port.
    public struct Datagram: Hashable, Sendable {
        public var sourceMAC: MACAddress
        public var destinationMAC: MACAddress
        public var source: IPv4
        public var destination: IPv4
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var payload: [UInt8]
    }

    /// Builds an Ethernet frame carrying `payload` in IPv4/UDP, with both checksums filled in.
    public static func build(
        payload: [UInt8], sourceMAC: MACAddress, destinationMAC: MACAddress = .broadcast,
        source: IPv4 = .any, destination: IPv4 = .broadcast,
        sourcePort: UInt16 = clientPort, destinationPort: UInt16 = serverPort, identification: UInt16 = 0
    ) -> [UInt8] {
        var frame = destinationMAC.bytes + sourceMAC.bytes + be16(ipv4EtherType)
        let udpLength = 8 + payload.count
        var ip: [UInt8] = [0x45, 0x00] + be16(UInt16(truncatingIfNeeded: 20 + udpLength)) + be16(identification)
        // flags/fragment offset 0; TTL 64; protocol UDP; checksum filled below.
        ip += [0x00, 0x00, 64, udpProtocol, 0x00, 0x00] + source.bytes + destination.bytes
        let ipChecksum = checksum(ip[...])
        ip[10] = UInt8(ipChecksum >> 8)
        ip[11] = UInt8(ipChecksum & 0xFF)
        var udp = be16(sourcePort) + be16(destinationPort) + be16(UInt16(truncatingIfNeeded: udpLength)) + [0, 0]
        udp += payload
        var udpChecksum = checksum(udp[...], adding: pseudoHeaderSum(source, destination, udpLength))
        if udpChecksum == 0 { udpChecksum = 0xFFFF }  // RFC 768: 0 means "no checksum"
        udp[6] = UInt8(udpChecksum >> 8)
        udp[7] = UInt8(udpChecksum & 0xFF)
        frame += ip
        frame += udp
        return frame
    }

    /// Parses an Ethernet frame. Returns nil for frames that are not IPv4/UDP to `port`
    /// (ignored silently); throws for one that is, but is broken (bad IP header checksum, lengths
    /// that do not add up, a wrong UDP checksum).
    ///
    /// `checksumNotReady` is the `TP_STATUS_CSUMNOTREADY` bit of the frame's `PACKET_AUXDATA`: on
    /// veth, virtio and tap the sender's UDP checksum is left to hardware that never ran, so the
    /// field holds a partial sum. Such a frame is accepted without checking the UDP checksum
    /// (as the kernel itself does for CHECKSUM_PARTIAL); a zero UDP checksum means "none" (RFC 768).
    public static func parse(_ frame: [UInt8], checksumNotReady: Bool = false, port: UInt16 = clientPort) throws
        -> Datagram?
    {
        let e = ethernetHeaderSize
        guard frame.count >= e + 20 + 8 else { return nil }
        guard UInt16(frame[12]) << 8 | UInt16(frame[13]) == ipv4EtherType else { return nil }
        let version = frame[e] >> 4
        let headerLength = Int(frame[e] & 0x0F) * 4
        guard version == 4, frame[e + 9] == udpProtocol else { return nil }
        guard headerLength >= 20, e + headerLength + 8 <= frame.count else {
            throw DHCPError.malformed("IPv4 header length \(headerLength) does not fit a \(frame.count)-byte frame")
        }
        let totalLength = Int(read16(frame, e + 2))
        guard totalLength >= headerLength + 8, e + totalLength <= frame.count else {
            throw DHCPError.malformed("IPv4 total length \(totalLength) does not fit a \(frame.count)-byte frame")
        }
        guard checksum(frame[e..<e + headerLength]) == 0 else {
            throw DHCPError.malformed("IPv4 header checksum is wrong")
        }
        // A DHCP reply is never fragmented on a LAN; reassembly is not worth the risk.
        guard read16(frame, e + 6) & 0x3FFF == 0 else { return nil }
        let u = e + headerLength
        let destinationPort = read16(frame, u + 2)
        guard destinationPort == port else { return nil }
        let udpLength = Int(read16(frame, u + 4))
        guard udpLength >= 8, u + udpLength <= e + totalLength else {
            throw DHCPError.malformed("UDP length \(udpLength) does not fit IPv4 total length \(totalLength)")
        }
        let source = IPv4(UInt32(read16(frame, e + 12)) << 16 | UInt32(read16(frame, e + 14)))
        let destination = IPv4(UInt32(read16(frame, e + 16)) << 16 | UInt32(read16(frame, e + 18)))
        let udpChecksum = read16(frame, u + 6)
        if !checksumNotReady && udpChecksum != 0 {
            guard checksum(frame[u..<u + udpLength], adding: pseudoHeaderSum(source, destination, udpLength)) == 0
            else {
                throw DHCPError.malformed(
                    "UDP checksum 0x\(String(udpChecksum, radix: 16)) is wrong (and the kernel did not flag it "
                        + "as left to offload)")
            }
        }
        return Datagram(
            sourceMAC: MACAddress(unchecked: Array(frame[6..<12])),
            destinationMAC: MACAddress(unchecked: Array(frame[0..<6])),
            source: source, destination: destination,
            sourcePort: read16(frame, u), destinationPort: destinationPort,
            payload: Array(frame[u + 8..<u + udpLength]))
    }

    /// The Internet checksum (RFC 1071): ones' complement of the ones' complement sum. Over a
    /// region that includes a correct checksum it yields 0.
    static func checksum(_ bytes: ArraySlice<UInt8>, adding initial: UInt32 = 0) -> UInt16 {
        var sum = initial
        bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            while index + 1 < buffer.count {
                sum &+= UInt32(buffer[index]) << 8 | UInt32(buffer[index + 1])
                index += 2
            }
            if index < buffer.count { sum &+= UInt32(buffer[index]) << 8 }
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 { checksum(bytes[...]) }

    /// The UDP pseudo-header's contribution to the sum (RFC 768), without building it.
    static func pseudoHeaderSum(_ source: IPv4, _ destination: IPv4, _ udpLength: Int) -> UInt32 {
        (source.value >> 16) + (source.value & 0xFFFF) + (destination.value >> 16) + (destination.value & 0xFFFF)
            + UInt32(udpProtocol) + UInt32(udpLength & 0xFFFF)
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func read16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }

    /// Classic BPF for `SO_ATTACH_FILTER`: keep IPv4/UDP frames to port 68, drop everything else
    /// in the kernel so a busy LAN costs the drone nothing. Each instruction is
    /// (code, jump-if-true, jump-if-false, k), offsets into the Ethernet frame.
    static let udpPort68Filter: [(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32)] = [
        (0x28, 0, 0, 12),  // ldh [12]              ethertype
        (0x15, 0, 8, 0x0800),  // jeq #IPv4 else drop
        (0x30, 0, 0, 23),  // ldb [23]              IP protocol
        (0x15, 0, 6, 17),  // jeq #UDP else drop
        (0x28, 0, 0, 20),  // ldh [20]              flags + fragment offset
        (0x45, 4, 0, 0x1FFF),  // jset #0x1fff -> drop (a fragment)
        (0xB1, 0, 0, 14),  // ldxb 4*([14]&0xf)     IP header length
        (0x48, 0, 0, 16),  // ldh [x+16]            UDP destination port
        (0x15, 0, 1, UInt32(clientPort)),  // jeq #68 else drop
        (0x06, 0, 0, 0xFFFF_FFFF),  // ret #-1 (accept whole frame)
        (0x06, 0, 0, 0),  // ret #0 (drop)
    ]
}
