/// An IPv4 address as its 32-bit value in host byte order (`10.0.2.15` is `0x0A00_020F`).
///
/// AutoMap has its own `IPv4Address`; NetProbe stays independent of it, and converting is
/// `IPv4Address(lease.address.value)`.
public struct IPv4: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Reads four bytes in network order; nil unless exactly four.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses a strict dotted quad (no leading zeros: `inet_aton` would read `010` as octal).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                part.count == 1 || part.first != "0", let number = UInt32(part), number <= 255
            else { return nil }
            result = result << 8 | number
        }
        value = result
    }

    public static let any = IPv4(0)
    public static let broadcast = IPv4(0xFFFF_FFFF)

    /// The four bytes, most significant first (network order).
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }

    public static func < (a: IPv4, b: IPv4) -> Bool { a.value < b.value }

    /// The mask of a prefix length 0...32.
    public static func mask(prefixLength: Int) -> IPv4 {
        let length = max(0, min(32, prefixLength))
        return IPv4(length == 0 ? 0 : UInt32.max << UInt32(32 - length))
    }

    /// The prefix length if this is a contiguous netmask (`255.255.255.0` -> 24), else nil.
    public var prefixLength: Int? {
        let ones = value.leadingZeroBitCount == 0 ? (~value).leadingZeroBitCount : 0
        return IPv4.mask(prefixLength: ones) == self ? ones : nil
    }

    /// The RFC 791 classful mask, for a server that sends no subnet mask (RFC 1122 3.3.1.1 fallback).
    public var classfulMask: IPv4 {
        switch value >> 24 {
        case 0..<128: return IPv4(0xFF00_0000)
        case 128..<192: return IPv4(0xFFFF_0000)
        default: return IPv4(0xFFFF_FF00)
        }
    }
}

/// An Ethernet hardware address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// Always six bytes.
    public let bytes: [UInt8]

    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses `52:54:00:12:34:56` (or with dashes).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(omittingEmptySubsequences: false) { $0 == ":" || $0 == "-" }
        guard parts.count == 6 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            result.append(byte)
        }
        bytes = result
    }

    public static let broadcast = MACAddress(unchecked: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
