/// rtnetlink requests, encoded by hand (no libnl, no iproute2 in the image): the few a DHCP
/// client needs to bring a link up, add or remove its address and its default route.
///
/// Layout per `linux/netlink.h` and `linux/rtnetlink.h`: a 16-byte `nlmsghdr` in host byte
/// order, a fixed family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`), then 4-byte aligned
/// `rtattr`s. Addresses inside attributes are in network order.
public struct NetlinkMessage: Hashable, Sendable {
    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32
    /// The family header and attributes.
    public var payload: [UInt8]

    // linux/netlink.h
    static let headerSize = 16
    static let NLMSG_ERROR: UInt16 = 2
    static let NLMSG_DONE: UInt16 = 3
    static let NLM_F_REQUEST: UInt16 = 0x001
    static let NLM_F_ACK: UInt16 = 0x004
    static let NLM_F_REPLACE: UInt16 = 0x100
    static let NLM_F_CREATE: UInt16 = 0x400
    // linux/rtnetlink.h
    static let RTM_NEWLINK: UInt16 = 16
    static let RTM_NEWADDR: UInt16 = 20
    static let RTM_DELADDR: UInt16 = 21
    static let RTM_NEWROUTE: UInt16 = 24
    static let RTM_DELROUTE: UInt16 = 25
    static let IFA_ADDRESS: UInt16 = 1
    static let IFA_LOCAL: UInt16 = 2
    static let IFA_BROADCAST: UInt16 = 4
    static let IFA_CACHEINFO: UInt16 = 6
    static let RTA_DST: UInt16 = 1
    static let RTA_OIF: UInt16 = 4
    static let RTA_GATEWAY: UInt16 = 5
    static let RTA_PRIORITY: UInt16 = 6
    static let RTA_PREFSRC: UInt16 = 7
    static let AF_UNSPEC: UInt8 = 0
    static let AF_INET: UInt8 = 2
    static let RT_TABLE_MAIN: UInt8 = 254
    /// `RTPROT_DHCP`: `ip route` shows "proto dhcp", so an admin sees who added it.
    public static let RTPROT_DHCP: UInt8 = 16
    public static let RTPROT_STATIC: UInt8 = 4
    static let RT_SCOPE_UNIVERSE: UInt8 = 0
    static let RTN_UNICAST: UInt8 = 1
    static let IFF_UP: UInt32 = 0x1

    public init(type: UInt16, flags: UInt16, sequence: UInt32, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.payload = payload
    }

    /// The bytes to `send` on a `NETLINK_ROUTE` socket.
    public func encoded() -> [UInt8] {
        var out = native(UInt32(Self.headerSize + payload.count)) + native(type) + native(flags)
        out += native(sequence) + native(UInt32(0))
        return out + payload
    }

    /// A human name for errors: `RTM_NEWADDR`.
    var name: String {
        switch type {
        case Self.RTM_NEWLINK: "RTM_NEWLINK"
        case Self.RTM_NEWADDR: "RTM_NEWADDR"
        case Self.RTM_DELADDR: "RTM_DELADDR"
        case Self.RTM_NEWROUTE: "RTM_NEWROUTE"
        case Self.RTM_DELROUTE: "RTM_DELROUTE"
        default: "netlink message \(type)"
        }
    }

    // MARK: Requests

    /// `ip link set dev X up`: `ifinfomsg` with IFF_UP in flags and change.
    public static func linkUp(index: Int32, sequence: UInt32) -> NetlinkMessage {
        let body = [AF_UNSPEC, 0] + native(UInt16(0)) + native(index) + native(IFF_UP) + native(IFF_UP)
        return NetlinkMessage(type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, sequence: sequence, payload: body)
    }

    /// `ip addr replace A/P broadcast B dev X valid_lft L preferred_lft L`. Replace, so a renewal
    /// just refreshes the lifetimes; the kernel then drops the address itself if we ever miss expiry.
    public static func addAddress(
        _ address: IPv4, prefixLength: Int, broadcast: IPv4?, index: Int32, lifetime: UInt32, sequence: UInt32
    ) -> NetlinkMessage {
        var body = ifaddrmsg(prefixLength: prefixLength, index: index)
        body += attribute(IFA_LOCAL, address.bytes)
        body += attribute(IFA_ADDRESS, address.bytes)
        if let broadcast { body += attribute(IFA_BROADCAST, broadcast.bytes) }
        // struct ifa_cacheinfo { preferred, valid, cstamp, tstamp }; 0xFFFFFFFF is "forever".
        body += attribute(IFA_CACHEINFO, native(lifetime) + native(lifetime) + native(UInt32(0)) + native(UInt32(0)))
        return NetlinkMessage(
            type: RTM_NEWADDR, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, sequence: sequence,
            payload: body)
    }

    /// `ip addr del A/P dev X`.
    public static func deleteAddress(_ address: IPv4, prefixLength: Int, index: Int32, sequence: UInt32)
        -> NetlinkMessage
    {
        let body =
            ifaddrmsg(prefixLength: prefixLength, index: index) + attribute(IFA_LOCAL, address.bytes)
            + attribute(IFA_ADDRESS, address.bytes)
        return NetlinkMessage(type: RTM_DELADDR, flags: NLM_F_REQUEST | NLM_F_ACK, sequence: sequence, payload: body)
    }

    /// `ip route replace default via G dev X src S metric M proto dhcp`.
    public static func addDefaultRoute(
        via gateway: IPv4, source: IPv4?, index: Int32, metric: UInt32, proto: UInt8 = RTPROT_DHCP, sequence: UInt32
    ) -> NetlinkMessage {
        var body = rtmsg(proto: proto)
        body += attribute(RTA_GATEWAY, gateway.bytes)
        body += attribute(RTA_OIF, native(index))
        body += attribute(RTA_PRIORITY, native(metric))
        if let source { body += attribute(RTA_PREFSRC, source.bytes) }
        return NetlinkMessage(
            type: RTM_NEWROUTE, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, sequence: sequence,
            payload: body)
    }

    /// `ip route del default via G dev X metric M`.
    public static func deleteDefaultRoute(via gateway: IPv4, index: Int32, metric: UInt32, sequence: UInt32)
        -> NetlinkMessage
    {
        var body = rtmsg(proto: 0)
        body += attribute(RTA_GATEWAY, gateway.bytes)
        body += attribute(RTA_OIF, native(index))
        body += attribute(RTA_PRIORITY, native(metric))
        return NetlinkMessage(type: RTM_DELROUTE, flags: NLM_F_REQUEST | NLM_F_ACK, sequence: sequence, payload: body)
    }

    static func ifaddrmsg(prefixLength: Int, index: Int32) -> [UInt8] {
        [AF_INET, UInt8(clamping: prefixLength), 0, RT_SCOPE_UNIVERSE] + native(index)
    }

    /// `struct rtmsg` for a default route in the main table: dst_len 0.
    static func rtmsg(proto: UInt8) -> [UInt8] {
        [AF_INET, 0, 0, 0, RT_TABLE_MAIN, proto, RT_SCOPE_UNIVERSE, RTN_UNICAST] + native(UInt32(0))
    }

    static func attribute(_ type: UInt16, _ data: [UInt8]) -> [UInt8] {
        var out = native(UInt16(4 + data.count)) + native(type) + data
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    // MARK: Replies

    /// The outcome of a request, from the kernel's NLMSG_ERROR reply (error 0 is the ACK).
    public enum Reply: Hashable, Sendable {
        /// `errno` 0 is success; otherwise a positive errno.
        case ack(sequence: UInt32, errno: Int32)
        case other(type: UInt16, sequence: UInt32)
    }

    /// Splits a datagram into its messages. Throws on lengths that do not add up.
    public static func parseReplies(_ bytes: [UInt8]) throws -> [Reply] {
        var replies: [Reply] = []
        var offset = 0
        while offset + headerSize <= bytes.count {
            let length = Int(readNative(bytes, offset, as: UInt32.self))
            guard length >= headerSize, offset + length <= bytes.count else {
                throw DHCPError.malformed(
                    "netlink message of length \(length) at offset \(offset) in \(bytes.count) bytes")
            }
            let type = readNative(bytes, offset + 4, as: UInt16.self)
            let sequence = readNative(bytes, offset + 8, as: UInt32.self)
            if type == NLMSG_ERROR {
                guard length >= headerSize + 4 else { throw DHCPError.malformed("short NLMSG_ERROR") }
                let error = Int32(bitPattern: readNative(bytes, offset + headerSize, as: UInt32.self))
                replies.append(.ack(sequence: sequence, errno: error == Int32.min ? Int32.max : -error))
            } else {
                replies.append(.other(type: type, sequence: sequence))
            }
            offset += (length + 3) & ~3
        }
        return replies
    }

    /// An ACK or error reply as the kernel would send it (for tests and mock sockets).
    public static func ackReply(sequence: UInt32, errno: Int32 = 0) -> [UInt8] {
        let body = native(UInt32(bitPattern: -errno)) + [UInt8](repeating: 0, count: headerSize)
        return native(UInt32(headerSize + body.count)) + native(NLMSG_ERROR) + native(UInt16(0)) + native(sequence)
            + native(UInt32(0)) + body
    }
}

/// The bytes of an integer in host order (netlink headers are host order).
func native<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

func readNative<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as type: T.Type) -> T {
    var value: T = 0
    withUnsafeMutableBytes(of: &value) { target in
        for i in 0..<MemoryLayout<T>.size { target[i] = bytes[offset + i] }
    }
    return value
}
