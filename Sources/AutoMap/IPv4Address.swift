/// An IPv4 address, kept as its 32-bit value in host byte order.
///
/// Parsing is strict dotted-quad: exactly four decimal numbers 0-255, no leading zeros
/// (`inet_aton` would read `010` as octal 8, a classic source of wrong maps), no spaces.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as a number: `10.0.2.15` is `0x0A00_020F`.
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses a dotted quad such as `192.168.1.1`.
    public init(parsing text: String) throws {
        func fail(_ reason: String) -> AutoMapError {
            AutoMapError(.badAddress(text, reason: reason))
        }
        if text.isEmpty { throw fail("it is empty") }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count != 4 {
            throw fail("expected 4 numbers separated by dots, found \(parts.count) part\(parts.count == 1 ? "" : "s")")
        }
        var result: UInt32 = 0
        for (index, part) in parts.enumerated() {
            let ordinal = index + 1
            if part.isEmpty { throw fail("number \(ordinal) is empty") }
            var number = 0
            for scalar in part.unicodeScalars {
                guard scalar.isASCII, let digit = Int(exactly: scalar.value), (48...57).contains(digit) else {
                    throw fail("number \(ordinal) '\(part)' is not decimal")
                }
                number = min(number * 10 + digit - 48, 1000)
            }
            if part.count > 1 && part.hasPrefix("0") {
                throw fail("number \(ordinal) '\(part)' has a leading zero (inet_aton reads it as octal)")
            }
            if number > 255 { throw fail("number \(ordinal) is \(part), more than 255") }
            result = result << 8 | UInt32(number)
        }
        value = result
    }

    /// The four bytes, most significant first.
    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// The last byte, the one openMosix counts up in a map range (HOWTO 5.4.2).
    public var lastOctet: UInt8 { UInt8(value & 0xFF) }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// The address `count` further on, or nil past 255.255.255.255.
    func advanced(by count: Int) -> IPv4Address? {
        let next = Int64(value) + Int64(count)
        guard next >= 0, next <= Int64(UInt32.max) else { return nil }
        return IPv4Address(UInt32(next))
    }
}
