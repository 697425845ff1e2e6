/// A DHCP message (RFC 2131 section 2): the BOOTP header, the magic cookie and the options.
///
/// Encoding and decoding are pure functions over bytes. The decoder checks every length before
/// it reads, so any input gives either a message or a `DHCPError` (it is fuzzed in the tests).
public struct DHCPMessage: Hashable, Sendable {
    /// `op`: BOOTREQUEST from a client, BOOTREPLY from a server.
    public enum Operation: UInt8, Sendable {
        case request = 1
        case reply = 2
    }

    /// Option 53 (RFC 2132 9.6).
    public enum MessageType: UInt8, Sendable, CustomStringConvertible {
        case discover = 1
        case offer, request, decline, ack, nak, release, inform

        public var description: String {
            switch self {
            case .discover: "DHCPDISCOVER"
            case .offer: "DHCPOFFER"
            case .request: "DHCPREQUEST"
            case .decline: "DHCPDECLINE"
            case .ack: "DHCPACK"
            case .nak: "DHCPNAK"
            case .release: "DHCPRELEASE"
            case .inform: "DHCPINFORM"
            }
        }
    }

    /// The fixed header is 236 bytes; then the 4-byte magic cookie (RFC 2131 3).
    public static let headerSize = 236
    public static let magicCookie: [UInt8] = [99, 130, 83, 99]
    /// `flags`: ask the server to broadcast its reply, since we cannot receive unicast IP before
    /// we have an address (RFC 2131 4.1). We read raw frames, so it matters only for relays and
    /// picky switches, but it is what every PC's PXE ROM does too.
    public static let broadcastFlag: UInt16 = 0x8000
    /// BOOTP's minimum message size (RFC 951's 64-byte vendor area); some relays drop less.
    public static let minimumSize = 300

    public var operation: Operation
    /// `htype`: 1 for Ethernet.
    public var hardwareType: UInt8 = 1
    public var hops: UInt8 = 0
    /// `xid`: chosen by the client, echoed by the server.
    public var xid: UInt32
    /// Seconds since the client began the exchange.
    public var secs: UInt16 = 0
    public var flags: UInt16 = 0
    /// `ciaddr`: the client's address, only when it has one (BOUND, RENEWING, REBINDING).
    public var clientAddress: IPv4 = .any
    /// `yiaddr`: the address offered or assigned.
    public var yourAddress: IPv4 = .any
    /// `siaddr`: the next server in the boot (TFTP), what dnsmasq calls next-server.
    public var serverAddress: IPv4 = .any
    /// `giaddr`: the relay agent.
    public var relayAddress: IPv4 = .any
    /// `chaddr`, `hlen` bytes of it (at most 16).
    public var clientHardwareAddress: [UInt8]
    /// `sname`, unless option 52 says it carries options.
    public var serverName: String?
    /// `file`, the boot file, unless option 52 says it carries options.
    public var bootFile: String?
    public var options: DHCPOptions

    public init(
        operation: Operation, xid: UInt32, clientHardwareAddress: [UInt8], options: DHCPOptions = DHCPOptions()
    ) {
        self.operation = operation
        self.xid = xid
        self.clientHardwareAddress = clientHardwareAddress
        self.options = options
    }

    // MARK: Typed options

    public var messageType: MessageType? {
        get { options[DHCPOptionCode.messageType].flatMap { $0.count == 1 ? MessageType(rawValue: $0[0]) : nil } }
        set { options[DHCPOptionCode.messageType] = newValue.map { [$0.rawValue] } }
    }
    public var subnetMask: IPv4? {
        get { options.address(DHCPOptionCode.subnetMask) }
        set { options.set(DHCPOptionCode.subnetMask, address: newValue) }
    }
    public var routers: [IPv4] { options.addresses(DHCPOptionCode.router) }
    public var domainNameServers: [IPv4] { options.addresses(DHCPOptionCode.domainNameServer) }
    public var hostName: String? {
        get { options.text(DHCPOptionCode.hostName) }
        set { options.set(DHCPOptionCode.hostName, text: newValue) }
    }
    public var domainName: String? { options.text(DHCPOptionCode.domainName) }
    public var rootPath: String? { options.text(DHCPOptionCode.rootPath) }
    public var broadcastAddress: IPv4? { options.address(DHCPOptionCode.broadcastAddress) }
    public var requestedIPAddress: IPv4? {
        get { options.address(DHCPOptionCode.requestedIPAddress) }
        set { options.set(DHCPOptionCode.requestedIPAddress, address: newValue) }
    }
    /// Seconds; `UInt32.max` means infinite (RFC 2131 3.3).
    public var leaseTime: UInt32? {
        get { options.uint32(DHCPOptionCode.leaseTime) }
        set { options.set(DHCPOptionCode.leaseTime, uint32: newValue) }
    }
    public var serverIdentifier: IPv4? {
        get { options.address(DHCPOptionCode.serverIdentifier) }
        set { options.set(DHCPOptionCode.serverIdentifier, address: newValue) }
    }
    public var parameterRequestList: [UInt8]? {
        get { options[DHCPOptionCode.parameterRequestList] }
        set { options[DHCPOptionCode.parameterRequestList] = newValue }
    }
    /// The server's explanation in a NAK (option 56).
    public var message: String? { options.text(DHCPOptionCode.message) }
    public var maximumMessageSize: UInt16? {
        get { options.uint16(DHCPOptionCode.maximumMessageSize) }
        set { options[DHCPOptionCode.maximumMessageSize] = newValue.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
    }
    /// T1, seconds.
    public var renewalTime: UInt32? {
        get { options.uint32(DHCPOptionCode.renewalTime) }
        set { options.set(DHCPOptionCode.renewalTime, uint32: newValue) }
    }
    /// T2, seconds.
    public var rebindingTime: UInt32? {
        get { options.uint32(DHCPOptionCode.rebindingTime) }
        set { options.set(DHCPOptionCode.rebindingTime, uint32: newValue) }
    }
    public var clientIdentifier: [UInt8]? {
        get { options[DHCPOptionCode.clientIdentifier] }
        set { options[DHCPOptionCode.clientIdentifier] = newValue }
    }
    /// Option 80 (RFC 4039): zero-length, present or not.
    public var rapidCommit: Bool {
        get { options[DHCPOptionCode.rapidCommit] != nil }
        set { options[DHCPOptionCode.rapidCommit] = newValue ? [] : nil }
    }
    public var tftpServerName: String? { options.text(DHCPOptionCode.tftpServerName) }
    public var bootfileName: String? { options.text(DHCPOptionCode.bootfileName) }

    /// The client identifier a drone sends: hardware type 1 and the MAC (RFC 2132 9.14). Never
    /// anything from the image: every drone boots the same image.
    public static func clientIdentifier(for mac: MACAddress) -> [UInt8] { [1] + mac.bytes }
}

// MARK: - Encoding

extension DHCPMessage {
    /// The message as sent on the wire: header, cookie, options (long ones split per RFC 3396),
    /// END, padded to 300 bytes. sname and file are written as text; we never overload them.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.minimumSize)
        out.append(operation.rawValue)
        out.append(hardwareType)
        out.append(UInt8(min(clientHardwareAddress.count, 16)))
        out.append(hops)
        out += bigEndianBytes(xid)
        out += [UInt8(secs >> 8), UInt8(secs & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF)]
        for address in [clientAddress, yourAddress, serverAddress, relayAddress] { out += address.bytes }
        out += Self.fixed(clientHardwareAddress, size: 16)
        out += Self.fixed(Array((serverName ?? "").utf8.prefix(63)), size: 64)
        out += Self.fixed(Array((bootFile ?? "").utf8.prefix(127)), size: 128)
        out += Self.magicCookie
        for option in options where option.code != DHCPOptionCode.pad && option.code != DHCPOptionCode.end {
            if option.data.isEmpty {
                out += [option.code, 0]
                continue
            }
            var start = 0
            while start < option.data.count {
                let end = min(start + 255, option.data.count)
                out += [option.code, UInt8(end - start)]
                out += option.data[start..<end]
                start = end
            }
        }
        out.append(DHCPOptionCode.end)
        if out.count < Self.minimumSize { out += [UInt8](repeating: 0, count: Self.minimumSize - out.count) }
        return out
    }

    private static func fixed(_ bytes: [UInt8], size: Int) -> [UInt8] {
        let head = Array(bytes.prefix(size))
        return head + [UInt8](repeating: 0, count: size - head.count)
    }
}

// MARK: - Decoding

extension DHCPMessage {
    /// Decodes a message, or throws a `DHCPError` saying what is wrong and at which offset.
    public init(decoding bytes: [UInt8]) throws {
        let minimum = Self.headerSize + Self.magicCookie.count
        guard bytes.count >= minimum else {
            throw DHCPError.malformed("\(bytes.count) bytes, a DHCP message has at least \(minimum)")
        }
        guard let operation = Operation(rawValue: bytes[0]) else {
            throw DHCPError.malformed("op is \(bytes[0]), expected 1 (request) or 2 (reply)")
        }
        let hardwareLength = Int(bytes[2])
        guard hardwareLength <= 16 else {
            throw DHCPError.malformed("hlen is \(hardwareLength), more than chaddr's 16 bytes")
        }
        guard Array(bytes[236..<240]) == Self.magicCookie else {
            throw DHCPError.malformed("no magic cookie 99.130.83.99 at offset 236 (a BOOTP-only packet?)")
        }
        func word(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        self.init(operation: operation, xid: word(4), clientHardwareAddress: Array(bytes[28..<28 + hardwareLength]))
        hardwareType = bytes[1]
        hops = bytes[3]
        secs = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        flags = UInt16(bytes[10]) << 8 | UInt16(bytes[11])
        clientAddress = IPv4(word(12))
        yourAddress = IPv4(word(16))
        serverAddress = IPv4(word(20))
        relayAddress = IPv4(word(24))

        // RFC 2131 4.1 / RFC 3396: the options field first; option 52 may say `file` (1),
        // `sname` (2) or both (3) carry more options, read in that order.
        var options = DHCPOptions()
        try Self.readOptions(bytes[240...], into: &options, field: "options")
        var overload: UInt8 = 0
        if let value = options[DHCPOptionCode.overload] {
            guard value.count == 1, (1...3).contains(value[0]) else {
                throw DHCPError.malformed("option 52 (overload) is \(value), expected one byte 1, 2 or 3")
            }
            overload = value[0]
        }
        let sname = bytes[44..<108]
        let file = bytes[108..<236]
        if overload & 1 != 0 { try Self.readOptions(file, into: &options, field: "file") }
        if overload & 2 != 0 { try Self.readOptions(sname, into: &options, field: "sname") }
        options[DHCPOptionCode.overload] = nil
        self.options = options
        serverName = overload & 2 != 0 ? nil : Self.text(sname)
        bootFile = overload & 1 != 0 ? nil : Self.text(file)
    }

    /// Reads code/length/value triples until END or the end of the field; pads are skipped.
    static func readOptions(_ field: ArraySlice<UInt8>, into options: inout DHCPOptions, field name: String) throws {
        var index = field.startIndex
        while index < field.endIndex {
            let code = field[index]
            if code == DHCPOptionCode.end { return }
            if code == DHCPOptionCode.pad {
                index += 1
                continue
            }
            guard index + 1 < field.endIndex else {
                throw DHCPError.malformed("option \(code) at offset \(index) in \(name) has no length byte")
            }
            let length = Int(field[index + 1])
            let start = index + 2
            guard start + length <= field.endIndex else {
                throw DHCPError.malformed(
                    "option \(code) at offset \(index) in \(name) says \(length) bytes, "
                        + "only \(field.endIndex - start) left")
            }
            // A server may not overload from inside sname/file; ignore such a nested option 52.
            if code != DHCPOptionCode.overload || name == "options" {
                options.append(code, field[start..<start + length])
            }
            index = start + length
        }
        // A missing END is tolerated at the very end of the buffer, as most clients do.
    }

    private static func text(_ field: ArraySlice<UInt8>) -> String? {
        let used = field.prefix { $0 != 0 }
        return used.isEmpty ? nil : String(decoding: used, as: UTF8.self)
    }
}

extension DHCPMessage: CustomStringConvertible {
    /// `DHCPACK xid 0x1234abcd yiaddr 10.0.2.15 server 10.0.2.2`, for logs and test failures.
    public var description: String {
        var text = messageType.map { "\($0)" } ?? "BOOTP op \(operation.rawValue)"
        text += " xid 0x" + String(xid, radix: 16)
        if yourAddress != .any { text += " yiaddr \(yourAddress)" }
        if clientAddress != .any { text += " ciaddr \(clientAddress)" }
        if let server = serverIdentifier { text += " server \(server)" }
        return text
    }
}
