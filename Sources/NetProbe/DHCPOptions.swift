/// Option codes a drone uses (RFC 2132 unless noted).
public enum DHCPOptionCode {
    public static let pad: UInt8 = 0
    public static let subnetMask: UInt8 = 1
    public static let router: UInt8 = 3
    public static let domainNameServer: UInt8 = 6
    public static let hostName: UInt8 = 12
    public static let domainName: UInt8 = 15
    public static let rootPath: UInt8 = 17
    public static let broadcastAddress: UInt8 = 28
    public static let requestedIPAddress: UInt8 = 50
    public static let leaseTime: UInt8 = 51
    public static let overload: UInt8 = 52
    public static let messageType: UInt8 = 53
    public static let serverIdentifier: UInt8 = 54
    public static let parameterRequestList: UInt8 = 55
    public static let message: UInt8 = 56
    public static let maximumMessageSize: UInt8 = 57
    public static let renewalTime: UInt8 = 58
    public static let rebindingTime: UInt8 = 59
    public static let clientIdentifier: UInt8 = 61
    public static let tftpServerName: UInt8 = 66
    public static let bootfileName: UInt8 = 67
    /// RFC 4039.
    public static let rapidCommit: UInt8 = 80
    public static let end: UInt8 = 255
}

/// One option: its code and its data, already concatenated across instances (RFC 3396).
public struct DHCPOption: Hashable, Sendable {
    public var code: UInt8
    public var data: [UInt8]

    public init(code: UInt8, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

/// The options of a message, in the order first seen; each code appears once.
///
/// RFC 3396: an option longer than 255 bytes is sent as several instances with the same code,
/// which the receiver concatenates in order (options field, then `file`, then `sname`). The
/// encoder splits, the decoder joins, so this type only ever holds the whole value.
public struct DHCPOptions: Hashable, Sendable, Sequence {
    public private(set) var all: [DHCPOption] = []

    public init() {}

    public init(_ options: [DHCPOption]) {
        for option in options { append(option.code, option.data) }
    }

    public subscript(code: UInt8) -> [UInt8]? {
        get { all.first { $0.code == code }?.data }
        set {
            if let index = all.firstIndex(where: { $0.code == code }) {
                if let newValue { all[index].data = newValue } else { all.remove(at: index) }
            } else if let newValue {
                all.append(DHCPOption(code: code, data: newValue))
            }
        }
    }

    /// Adds data to an option, concatenating with an earlier instance (RFC 3396 section 5).
    mutating func append(_ code: UInt8, _ data: ArraySlice<UInt8>) {
        if let index = all.firstIndex(where: { $0.code == code }) {
            all[index].data += data
        } else {
            all.append(DHCPOption(code: code, data: Array(data)))
        }
    }

    mutating func append(_ code: UInt8, _ data: [UInt8]) { append(code, data[...]) }

    public func makeIterator() -> IndexingIterator<[DHCPOption]> { all.makeIterator() }

    // MARK: Typed views (nil when absent or of the wrong length: a bad option is ignored,
    // not fatal, as RFC 2131 expects from a robust client).

    func address(_ code: UInt8) -> IPv4? { self[code].flatMap { IPv4(bytes: $0) } }

    func addresses(_ code: UInt8) -> [IPv4] {
        guard let data = self[code], !data.isEmpty, data.count % 4 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 4).compactMap { IPv4(bytes: data[$0..<$0 + 4]) }
    }

    func uint32(_ code: UInt8) -> UInt32? {
        guard let data = self[code], data.count == 4 else { return nil }
        return data.reduce(0) { $0 << 8 | UInt32($1) }
    }

    func uint16(_ code: UInt8) -> UInt16? {
        guard let data = self[code], data.count == 2 else { return nil }
        return UInt16(data[0]) << 8 | UInt16(data[1])
    }

    /// Text options (NVT ASCII per RFC 2132); some servers add a trailing NUL, which is dropped.
    func text(_ code: UInt8) -> String? {
        guard var data = self[code] else { return nil }
        while data.last == 0 { data.removeLast() }
        if let nul = data.firstIndex(of: 0) { data = Array(data[..<nul]) }
        return data.isEmpty ? nil : String(decoding: data, as: UTF8.self)
    }

    mutating func set(_ code: UInt8, address: IPv4?) { self[code] = address?.bytes }
    mutating func set(_ code: UInt8, uint32: UInt32?) { self[code] = uint32.map(bigEndianBytes) }
    mutating func set(_ code: UInt8, text: String?) { self[code] = text.map { Array($0.utf8) } }
}

func bigEndianBytes(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}
