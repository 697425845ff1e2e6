import AgentSupport

/// The one error type of AutoMap: what went wrong, where (file, line:column, interface) and a hint.
///
/// `description` reads like a person wrote it, for example
/// `/etc/hpc.map:3:1: node id 0 is outside 1-65535; hint: openMosix numbers nodes from 1`.
public struct AutoMapError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What failed; each case carries the text or values that were wrong.
    public enum Kind: Equatable, Sendable {
        /// An address that is not a strict dotted quad; `reason` says which part is wrong.
        case badAddress(String, reason: String)
        /// A prefix length that is not a decimal number in 0...32.
        case badPrefix(String)
        /// A netmask whose one-bits are not contiguous from the top.
        case badMask(String)
        /// A network written with host bits set (`10.0.2.15/24` where `10.0.2.0/24` was meant).
        case hostBitsSet(String, network: String)
        /// A map line ends before this field.
        case missingField(String)
        /// A map line has a fourth field.
        case extraField(String)
        /// A node id that is not a decimal number.
        case badNodeID(String)
        /// A node id outside 1...65535.
        case nodeIDOutOfRange(String)
        /// A range size that is neither a decimal number nor `ALIAS`.
        case badRangeSize(String)
        /// A range size below 1.
        case rangeSizeTooSmall(String)
        /// A range whose addresses would count past .255 of the address's last byte.
        case rangePastLastByte(address: String, size: Int, last: String)
        /// A range whose node ids would count past 65535.
        case rangePastIDLimit(id: Int, size: Int)
        /// A map host field that is neither an address nor an RFC 1123 host name.
        case badHostname(String)
        /// A host name with a range size above 1, which HOWTO 5.4.2 forbids.
        case hostnameWithRange(String, size: Int)
        /// Node ids already used by an earlier line.
        case overlappingIDs(String, otherLine: Int, other: String)
        /// Addresses already used by an earlier line.
        case overlappingAddresses(String, otherLine: Int, other: String)
        /// More map lines than openMosix accepts.
        case tooManyLines(limit: Int)
        /// An `ALIAS` line for a node id that no range line defines.
        case aliasWithoutNode(Int)
        /// `derive` was given no leases.
        case noLeases
        /// A lease whose address is its network's own address.
        case networkAddress(address: String, network: String)
        /// A lease whose address is its network's broadcast address.
        case broadcastAddress(address: String, network: String)
        /// A /31 or /32: there is no host range to number nodes in.
        case noHostRange(address: String, prefix: Int)
        /// The node's host number lies past the part of a large network the map can hold.
        case nodeOutsideMap(address: String, hostNumber: UInt32, network: String, lastMapped: String)
        /// A status file line that is not `key=value`.
        case badStatusLine(String)
    }

    public var kind: Kind
    /// The file being read, when the error came from a map file.
    public var file: String?
    /// 1-based line: of the file, or the index of the map line for maps built in code.
    public var line: Int?
    /// 1-based column (in characters) of the field at fault.
    public var column: Int?
    /// The network interface whose lease is at fault.
    public var interface: String?

    public init(_ kind: Kind, file: String? = nil, line: Int? = nil, column: Int? = nil, interface: String? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.interface = interface
    }

    /// What went wrong, without location or hint.
    public var message: String {
        switch kind {
        case .badAddress(let text, let reason):
            return "bad address '\(text)': \(reason)"
        case .badPrefix(let text):
            return "bad prefix length '\(text)': expected a number from 0 to 32"
        case .badMask(let text):
            return "bad netmask \(text): its one-bits are not contiguous"
        case .hostBitsSet(let text, let network):
            return "\(text) has host bits set; the network is \(network)"
        case .missingField(let field):
            return "missing \(field)"
        case .extraField(let text):
            return "unexpected fourth field '\(text)'"
        case .badNodeID(let text):
            return "bad node id '\(text)': expected a decimal number"
        case .nodeIDOutOfRange(let text):
            return "node id \(text) is outside 1-65535"
        case .badRangeSize(let text):
            return "bad range size '\(text)': expected a number or ALIAS"
        case .rangeSizeTooSmall(let text):
            return "range size \(text) is negative"
        case .rangePastLastByte(let address, let size, let last):
            return "range of \(size) from \(address) counts past \(last)"
        case .rangePastIDLimit(let id, let size):
            return "range of \(size) from node id \(id) counts past node id 65535"
        case .badHostname(let text):
            return "'\(text)' is neither an IPv4 address nor a valid host name"
        case .hostnameWithRange(let name, let size):
            return "host name \(name) with range size \(size)"
        case .overlappingIDs(let ids, let otherLine, let other):
            return "node ids \(ids) overlap line \(otherLine) (node ids \(other))"
        case .overlappingAddresses(let addresses, let otherLine, let other):
            return "addresses \(addresses) overlap line \(otherLine) (\(other))"
        case .tooManyLines(let limit):
            return "more than \(limit) map lines"
        case .aliasWithoutNode(let id):
            return "ALIAS for node \(id), which no range line defines"
        case .noLeases:
            return "no leases: no network card was configured"
        case .networkAddress(let address, let network):
            return "\(address) is the network address of \(network), not a host address"
        case .broadcastAddress(let address, let network):
            return "\(address) is the broadcast address of \(network), not a host address"
        case .noHostRange(let address, let prefix):
            return "\(address)/\(prefix) leaves no host range to number nodes in"
        case .nodeOutsideMap(let address, let hostNumber, let network, let lastMapped):
            return "\(address) is host \(hostNumber) of \(network), past the map's last address \(lastMapped)"
        case .badStatusLine(let text):
            return "'\(text)' is not key=value"
        }
    }

    /// What to do about it.
    public var hint: String? {
        switch kind {
        case .badAddress:
            return "write four decimal numbers 0-255 separated by dots, like 192.168.1.1"
        case .badPrefix, .badMask:
            return "a netmask is ones then zeros, like 255.255.255.0 (/24)"
        case .hostBitsSet:
            return "write the network's first address before the slash"
        case .missingField:
            return "a map line is: node-id address range-size (HOWTO 5.4.2), e.g. 1 192.168.1.1 254"
        case .extraField:
            return "a map line has three fields; start comments with #"
        case .badNodeID, .nodeIDOutOfRange:
            return "openMosix numbers nodes from 1 to 65535"
        case .badRangeSize:
            return "the third field counts nodes (1 for one node) or is ALIAS for another address of a node"
        case .rangeSizeTooSmall:
            return "use 1 for a single node, or ALIAS (or 0, as the HOWTO allows) for another address of a node"
        case .rangePastLastByte:
            return "openMosix counts up only the last byte of the address; split the range at .255"
        case .rangePastIDLimit:
            return "make the range shorter so its last node id is at most 65535"
        case .badHostname:
            return "host names are letters, digits and '-' in dot-separated labels (RFC 1123)"
        case .hostnameWithRange:
            return "a range size above 1 needs an IP address (HOWTO 5.4.2); list named nodes one per line"
        case .overlappingIDs:
            return "every node id may appear in one range line only"
        case .overlappingAddresses:
            return "every address may belong to one node only"
        case .tooManyLines:
            return "merge consecutive addresses into ranges"
        case .aliasWithoutNode:
            return "ALIAS adds an address to a node that a range line already defines"
        case .noLeases:
            return "check the cables and the DHCP server, or boot in Expert mode and configure by hand"
        case .networkAddress, .broadcastAddress:
            return "fix the DHCP server's address range; it must hand out host addresses only"
        case .noHostRange:
            return "give the cluster network a /30 or shorter prefix, "
                + "or boot in Expert mode and write a static /etc/hpc.map"
        case .nodeOutsideMap:
            return "a map holds node ids 1-65535 in 256 lines; use a /16 or smaller cluster network, "
                + "or boot in Expert mode and write a static /etc/hpc.map"
        case .badStatusLine:
            return "the agent writes one key=value per line; is this a clump status file?"
        }
    }

    public var description: String {
        var location = ""
        if let file {
            location = file
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
        } else if let line {
            location = "map line \(line)"
            if let column { location += ":\(column)" }
        }
        if let interface {
            location = location.isEmpty ? interface : "\(location): \(interface)"
        }
        var text = location.isEmpty ? message : "\(location): \(message)"
        if let hint { text += "; hint: \(hint)" }
        return text
    }
}

extension AutoMapError: ClumpError {}
