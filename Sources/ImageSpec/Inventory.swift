import AutoMap

/// The machines the master knows: the HOWTO's chapter 10.2 `host` blocks, written once as data.
///
/// Every node has its address and name resolved (the Clump/OS rule: node number = host part of
/// the address), so renderers never derive anything themselves.
public struct Inventory: Sendable, Equatable {
    /// The inventory file as the user named it, for diagnostics.
    public var file: String
    /// The nodes in file order.
    public var nodes: [Node]

    /// An inventory read from `file`.
    public init(file: String, nodes: [Node]) {
        self.file = file
        self.nodes = nodes
    }

    /// How a node boots.
    public enum BootKind: String, Sendable, Equatable, CaseIterable {
        /// The RAM-resident drone image, like every unknown machine.
        case drone
        /// A full diskless node on an NFS root (HOWTO 10.2).
        case nfsroot
    }

    /// One known machine.
    public struct Node: Sendable, Equatable {
        /// Its cards' MACs; any of them may boot it.
        public var macs: [MACAddress]
        /// Its address on the cluster network.
        public var address: IPv4Address
        /// Its node number: the host part of `address`.
        public var number: UInt32
        /// Its host name.
        public var name: String
        /// How it boots.
        public var boot: BootKind
        /// Extra kernel arguments for this node only, after the spec's.
        public var kernelArgs: [String]
        /// An NFS-root node's own root on the master; nil uses the spec's `nfsroot.root`.
        public var root: String?
        /// Its TPM's fingerprint (`sha256:` and the hex SHA-256 of its endorsement key's public area): the
        /// node joins without anyone approving it once that very TPM proves itself, and only then.
        public var tpm: String?
        /// Where the entry starts in the file (nil for nodes made in code).
        public var location: SourceLocation?

        /// A node with every part given.
        public init(
            macs: [MACAddress], address: IPv4Address, number: UInt32, name: String, boot: BootKind = .drone,
            kernelArgs: [String] = [], root: String? = nil, tpm: String? = nil, location: SourceLocation? = nil
        ) {
            self.macs = macs
            self.address = address
            self.number = number
            self.name = name
            self.boot = boot
            self.kernelArgs = kernelArgs
            self.root = root
            self.tpm = tpm
            self.location = location
        }
    }

    /// The node a card belongs to.
    public func node(with mac: MACAddress) -> Node? {
        nodes.first { $0.macs.contains(mac) }
    }

    /// The lowest host address that no node, the master or the DHCP range takes: where the next
    /// enrolled machine goes. Nil when the network is full.
    public func nextFreeAddress(in cluster: Spec.Cluster) -> IPv4Address? {
        guard let hosts = cluster.network?.hosts else { return nil }
        let taken = Set(nodes.map(\.address))
        return InventoryLoader.freeAddresses(hosts: hosts, taken: taken, cluster: cluster).first { _ in true }
    }

    /// `preferred` when a node may have it (on the network, not taken, not the master's, not in the
    /// DHCP range), else the first free address: a machine enrolled by joining keeps the address it
    /// has (its lease from the site's own DHCP server, under `serve --join-only`), and so its name.
    public func freeAddress(preferring preferred: IPv4Address?, in cluster: Spec.Cluster) -> IPv4Address? {
        if let preferred, let hosts = cluster.network?.hosts, hosts.contains(preferred),
            InventoryLoader.freeAddresses(hosts: preferred...preferred, taken: Set(nodes.map(\.address)), cluster: cluster)
                .contains(where: { _ in true })
        {
            return preferred
        }
        return nextFreeAddress(in: cluster)
    }

    /// The inventory line that enrols `mac` at `address`, as `serve` prints and `--enrol` appends it.
    public static func enrolmentLine(mac: MACAddress, address: IPv4Address, tpm: String? = nil) -> String {
        "- {mac: \"\(mac)\", address: \(address)" + (tpm.map { ", tpm: \"\($0)\"" } ?? "") + "}"
    }

    /// The node bound to a TPM with this fingerprint.
    public func node(withTPM fingerprint: String) -> Node? {
        nodes.first { $0.tpm == fingerprint }
    }

    /// A TPM fingerprint as written (`sha256:` and 64 hex digits, any case), in the form serve compares; nil if it is none.
    public static func tpmFingerprint(_ text: String) -> String? {
        let lower = text.lowercased()
        guard lower.hasPrefix("sha256:") else { return nil }
        let digits = lower.dropFirst(7)
        guard digits.count == 64, digits.allSatisfy({ $0.isHexDigit }) else { return nil }
        return lower
    }
}

/// A card's hardware address (EUI-48).
///
/// Kept as one 48-bit number rather than an array of bytes: a generation at 10,000 nodes parses,
/// hashes and formats every MAC several times, and the array's heap allocations and element-wise
/// hashing were a seventh of the time of adding one node.
public struct MACAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The six bytes as a number, first on the wire in the highest byte: `52:54:00:12:34:56` is `0x5254_0012_3456`.
    public let value: UInt64

    /// A MAC from its number (the low 48 bits).
    public init(value: UInt64) {
        self.value = value & 0xFFFF_FFFF_FFFF
    }

    /// A MAC from its six bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses `52:54:00:12:34:56` or `52-54-00-12-34-56`, either case; nil when malformed.
    public init?(parsing text: String) {
        var text = text
        guard let value = text.withUTF8({ Self.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self.value = value
    }

    /// Six two-digit hex bytes, all separated by `-` when any `-` is there, else by `:`.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count == 17 else { return nil }
        let separator = bytes.contains(UInt8(ascii: "-")) ? UInt8(ascii: "-") : UInt8(ascii: ":")
        var value: UInt64 = 0
        for index in 0..<6 {
            let at = index * 3
            if index > 0, bytes[at - 1] != separator { return nil }
            guard let high = hexDigit(bytes[at]), let low = hexDigit(bytes[at + 1]) else { return nil }
            value = value << 8 | UInt64(high << 4 | low)
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The six bytes, first on the wire first.
    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * $0)) } }

    /// Lower-case, colon-separated: what dnsmasq, dhcpd and Kea print.
    public var description: String { formatted(separator: UInt8(ascii: ":")) }

    /// Lower-case, hyphen-separated: pxelinux's `01-<mac>` file names and iPXE's `${mac:hexhyp}`.
    public var hyphenated: String { formatted(separator: UInt8(ascii: "-")) }

    private func formatted(separator: UInt8) -> String {
        String(unsafeUninitializedCapacity: 17) { buffer in
            write(into: UnsafeMutableRawBufferPointer(buffer), separator: separator)
            return 17
        }
    }

    /// The 17 characters into `buffer`, which has room for them.
    public func write(into buffer: UnsafeMutableRawBufferPointer, separator: UInt8) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for index in 0..<6 {
                let byte = Int(truncatingIfNeeded: value >> (40 - 8 * index)) & 0xFF
                let at = index * 3
                if index > 0 { buffer[at - 1] = separator }
                buffer[at] = digits[byte >> 4]
                buffer[at + 1] = digits[byte & 0xF]
            }
        }
    }

    /// The I/G bit: set on group addresses, which no card has as its own.
    public var isMulticast: Bool { value >> 40 & 1 == 1 }

    /// Byte order.
    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.value < rhs.value }
}
