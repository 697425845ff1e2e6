/// An IPv4 network: its first address and a prefix length.
///
/// Built from an interface address and a prefix or netmask (what a DHCP lease carries,
/// RFC 2132 option 1), the host bits are cleared: `10.0.2.15` with `/24` is `10.0.2.0/24`.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    /// The network's own (first) address.
    public let address: IPv4Address
    /// Number of leading one-bits of the mask, 0...32.
    public let prefix: Int

    /// The network that `address` belongs to with this prefix length.
    public init(address: IPv4Address, prefix: Int) throws {
        guard (0...32).contains(prefix) else { throw AutoMapError(.badPrefix("\(prefix)")) }
        self.prefix = prefix
        self.address = IPv4Address(address.value & Self.mask(prefix: prefix))
    }

    /// The network that `address` belongs to under `mask`; the mask must be contiguous.
    public init(address: IPv4Address, mask: IPv4Address) throws {
        try self.init(address: address, prefix: Self.prefix(ofMask: mask))
    }

    /// Parses `a.b.c.d/p` strictly: the address must be the network's first address.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw AutoMapError(.badAddress(text, reason: "expected a network like 10.0.2.0/24"))
        }
        let base = try IPv4Address(parsing: String(parts[0]))
        let prefixText = String(parts[1])
        guard !prefixText.isEmpty, prefixText.count <= 2, prefixText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let prefix = Int(prefixText), (0...32).contains(prefix)
        else { throw AutoMapError(.badPrefix(prefixText)) }
        try self.init(address: base, prefix: prefix)
        if address != base { throw AutoMapError(.hostBitsSet(text, network: description)) }
    }

    /// The prefix length of a contiguous netmask such as 255.255.254.0 (23).
    public static func prefix(ofMask mask: IPv4Address) throws -> Int {
        let inverted = ~mask.value
        // Contiguous means the zero-bits are a run at the bottom: inverted is 2^k - 1.
        guard inverted & (inverted &+ 1) == 0 else { throw AutoMapError(.badMask(mask.description)) }
        return mask.value.nonzeroBitCount
    }

    static func mask(prefix: Int) -> UInt32 {
        prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix)
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    public var mask: IPv4Address { IPv4Address(Self.mask(prefix: prefix)) }

    /// The last address of the network.
    public var broadcast: IPv4Address { IPv4Address(address.value | ~Self.mask(prefix: prefix)) }

    /// Number of addresses, including network and broadcast.
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }

    /// The host addresses between network and broadcast address; nil for /31 and /32,
    /// which have no such range (RFC 3021 point-to-point links).
    public var hosts: ClosedRange<IPv4Address>? {
        guard prefix <= 30 else { return nil }
        return IPv4Address(address.value + 1)...IPv4Address(broadcast.value - 1)
    }

    public func contains(_ other: IPv4Address) -> Bool {
        other.value & Self.mask(prefix: prefix) == address.value
    }

    /// The host part of `other` within this network (`10.0.3.5` in `10.0.2.0/23` is 261), or nil outside it.
    public func hostNumber(of other: IPv4Address) -> UInt32? {
        contains(other) ? other.value - address.value : nil
    }

    public var description: String { "\(address)/\(prefix)" }
}
