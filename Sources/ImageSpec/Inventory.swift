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
        /// Where the entry starts in the file (nil for nodes made in code).
        public var location: SourceLocation?

        /// A node with every part given.
        public init(
            macs: [MACAddress], address: IPv4Address, number: UInt32, name: String, boot: BootKind = .drone,
            kernelArgs: [String] = [], location: SourceLocation? = nil
        ) {
            self.macs = macs
            self.address = address
            self.number = number
            self.name = name
            self.boot = boot
            self.kernelArgs = kernelArgs
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

    /// The inventory line that enrols `mac` at `address`, as `serve` prints and `--enrol` appends it.
    public static func enrolmentLine(mac: MACAddress, address: IPv4Address) -> String {
        "- {mac: \"\(mac)\", address: \(address)}"
    }
}

/// A card's hardware address (EUI-48).
public struct MACAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The six bytes, first on the wire first.
    public let bytes: [UInt8]

    /// A MAC from its six bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    /// Parses `52:54:00:12:34:56` or `52-54-00-12-34-56`, either case; nil when malformed.
    public init?(parsing text: String) {
        let separator: Character = text.contains("-") ? "-" : ":"
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, part.allSatisfy(\.isHexDigit), let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// Lower-case, colon-separated: what dnsmasq, dhcpd and Kea print.
    public var description: String { formatted(separator: UInt8(ascii: ":")) }

    /// Lower-case, hyphen-separated: pxelinux's `01-<mac>` file names and iPXE's `${mac:hexhyp}`.
    public var hyphenated: String { formatted(separator: UInt8(ascii: "-")) }

    /// Byte by byte: a generation formats every MAC of the inventory several times.
    private func formatted(separator: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(17)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { text.append(separator) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The I/G bit: set on group addresses, which no card has as its own.
    public var isMulticast: Bool { bytes[0] & 1 == 1 }

    /// Byte order.
    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
