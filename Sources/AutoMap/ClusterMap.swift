/// A MOSIX / openMosix cluster map: the contents of `/etc/mosix.map` and `/etc/hpc.map`.
///
/// HOWTO 5.4.2: each line is `node-id address-or-hostname range-size`. A range line gives
/// `range-size` consecutive nodes: openMosix "counts up" the last byte of the address together
/// with the node id, so `1 192.168.1.1 4` is nodes 1-4 at 192.168.1.1-4. A range size of
/// `ALIAS` adds another address (another network card) to an existing node. The map must be
/// the same on every node. A `ClusterMap` value is always valid: every initialiser checks it.
public struct ClusterMap: Equatable, Sendable {
    /// openMosix node ids are 1...65535.
    public static let nodeIDs = 1...65535
    /// The most lines a map may have.
    public static let maxLines = 256

    /// The second field: an address, or a host name (only with range size 1 or ALIAS).
    public enum Host: Hashable, Sendable, Comparable, CustomStringConvertible {
        case address(IPv4Address)
        case hostname(String)

        public var description: String {
            switch self {
            case .address(let address): return address.description
            case .hostname(let name): return name
            }
        }

        /// Addresses sort before host names, addresses by value, names by text.
        public static func < (lhs: Host, rhs: Host) -> Bool {
            switch (lhs, rhs) {
            case (.address(let a), .address(let b)): return a < b
            case (.address, .hostname): return true
            case (.hostname, .address): return false
            case (.hostname(let a), .hostname(let b)): return a < b
            }
        }
    }

    /// The third field: how many consecutive nodes, or ALIAS.
    public enum Size: Hashable, Sendable, CustomStringConvertible {
        case range(Int)
        case alias

        public var description: String {
            switch self {
            case .range(let count): return "\(count)"
            case .alias: return "ALIAS"
            }
        }
    }

    /// One map line.
    public struct Line: Hashable, Sendable, CustomStringConvertible {
        public var id: Int
        public var host: Host
        public var size: Size

        public init(id: Int, host: Host, size: Size) {
            self.id = id
            self.host = host
            self.size = size
        }

        /// A range line `id address count`.
        public init(id: Int, address: IPv4Address, count: Int) {
            self.init(id: id, host: .address(address), size: .range(count))
        }

        /// An `id address ALIAS` line.
        public static func alias(id: Int, address: IPv4Address) -> Line {
            Line(id: id, host: .address(address), size: .alias)
        }

        public var isAlias: Bool { size == .alias }

        /// The node ids this line defines; nil for ALIAS lines, which only refer to a node.
        public var ids: ClosedRange<Int>? {
            guard case .range(let count) = size, count >= 1 else { return nil }
            return id...(id + count - 1)
        }

        /// The addresses this line covers; nil for host names.
        public var addresses: ClosedRange<IPv4Address>? {
            guard case .address(let first) = host else { return nil }
            switch size {
            case .alias:
                return first...first
            case .range(let count):
                guard count >= 1, let last = first.advanced(by: count - 1) else { return nil }
                return first...last
            }
        }

        /// The line as written in a map file, fields separated by one space.
        public var description: String { "\(id) \(host) \(size)" }
    }

    /// One node address, as `expand()` lists them.
    public struct Entry: Hashable, Sendable {
        public var id: Int
        public var host: Host
        /// True for an extra address of a node (an ALIAS line).
        public var isAlias: Bool

        public init(id: Int, host: Host, isAlias: Bool = false) {
            self.id = id
            self.host = host
            self.isAlias = isAlias
        }
    }

    /// The lines, in the order given.
    public let lines: [Line]

    /// A map from lines built in code; errors name the line by its index (from 1).
    public init(lines: [Line]) throws {
        var checker = Checker()
        for (index, line) in lines.enumerated() {
            try checker.add(line, at: Position(file: nil, line: index + 1))
        }
        try checker.finish()
        self.lines = lines
    }

    init(checked lines: [Line]) {
        self.lines = lines
    }

    /// The range lines (not ALIAS), in order.
    public var rangeLines: [Line] { lines.filter { !$0.isAlias } }

    /// The ALIAS lines, in order.
    public var aliasLines: [Line] { lines.filter(\.isAlias) }

    /// Every (node id, address) pair the map defines, range lines counted up, ALIAS lines included.
    public func expand() -> [Entry] {
        var entries: [Entry] = []
        for line in lines {
            switch (line.host, line.size) {
            case (_, .alias):
                entries.append(Entry(id: line.id, host: line.host, isAlias: true))
            case (.hostname, .range):
                entries.append(Entry(id: line.id, host: line.host))
            case (.address(let first), .range(let count)):
                entries.reserveCapacity(entries.count + count)
                for offset in 0..<count {
                    if let address = first.advanced(by: offset) {
                        entries.append(Entry(id: line.id + offset, host: .address(address)))
                    }
                }
            }
        }
        return entries
    }

    /// The node id that `address` belongs to (through a range line or an ALIAS line), or nil.
    public func nodeID(for address: IPv4Address) -> Int? {
        for line in lines {
            guard let covered = line.addresses, covered.contains(address) else { continue }
            return line.id + Int(address.value - covered.lowerBound.value)
        }
        return nil
    }

    /// Where a line came from, for error messages.
    struct Position {
        var file: String?
        var line: Int
        var idColumn: Int?
        var hostColumn: Int?
        var sizeColumn: Int?

        func error(_ kind: AutoMapError.Kind, column: Int?) -> AutoMapError {
            AutoMapError(kind, file: file, line: line, column: column)
        }
    }

    /// Checks lines one at a time, in order, against the HOWTO 5.4.2 rules and the lines before.
    struct Checker {
        private var seen: [(line: Line, position: Position)] = []

        static func checkID(_ line: Line, at position: Position) throws {
            guard ClusterMap.nodeIDs.contains(line.id) else {
                throw position.error(.nodeIDOutOfRange("\(line.id)"), column: position.idColumn)
            }
        }

        static func checkHost(_ line: Line, at position: Position) throws {
            if case .hostname(let name) = line.host, !HostName.isValid(name) {
                throw position.error(.badHostname(name), column: position.hostColumn)
            }
        }

        static func checkSize(_ line: Line, at position: Position) throws {
            guard case .range(let count) = line.size else { return }
            let column = position.sizeColumn
            guard count >= 1 else { throw position.error(.rangeSizeTooSmall("\(count)"), column: column) }
            switch line.host {
            case .hostname(let name):
                if count > 1 { throw position.error(.hostnameWithRange(name, size: count), column: column) }
            case .address(let first):
                // "openMosix counts-up the last byte": a range may not carry into the byte above.
                if Int(first.lastOctet) + count - 1 > 255 {
                    let last = IPv4Address(first.value | 0xFF)
                    throw position.error(
                        .rangePastLastByte(address: first.description, size: count, last: last.description),
                        column: column)
                }
            }
            if line.id + count - 1 > ClusterMap.nodeIDs.upperBound {
                throw position.error(.rangePastIDLimit(id: line.id, size: count), column: column)
            }
        }

        mutating func add(_ line: Line, at position: Position) throws {
            if seen.count == ClusterMap.maxLines {
                throw position.error(.tooManyLines(limit: ClusterMap.maxLines), column: position.idColumn)
            }
            try Self.checkID(line, at: position)
            try Self.checkHost(line, at: position)
            try Self.checkSize(line, at: position)
            if let ids = line.ids {
                for earlier in seen {
                    if let other = earlier.line.ids, other.overlaps(ids) {
                        throw position.error(
                            .overlappingIDs(Self.text(ids), otherLine: earlier.position.line, other: Self.text(other)),
                            column: position.idColumn)
                    }
                }
            }
            for earlier in seen {
                if let overlap = Self.addressOverlap(line, earlier.line) {
                    throw position.error(
                        .overlappingAddresses(overlap.mine, otherLine: earlier.position.line, other: overlap.theirs),
                        column: position.hostColumn)
                }
            }
            seen.append((line, position))
        }

        /// Checks what needs the whole map: every ALIAS refers to a node a range line defines.
        func finish() throws {
            for (line, position) in seen where line.isAlias {
                let defined = seen.contains { $0.line.ids?.contains(line.id) ?? false }
                if !defined { throw position.error(.aliasWithoutNode(line.id), column: position.idColumn) }
            }
        }

        private static func text(_ ids: ClosedRange<Int>) -> String {
            ids.count == 1 ? "\(ids.lowerBound)" : "\(ids.lowerBound)-\(ids.upperBound)"
        }

        private static func text(_ addresses: ClosedRange<IPv4Address>) -> String {
            addresses.lowerBound == addresses.upperBound
                ? addresses.lowerBound.description : "\(addresses.lowerBound)-\(addresses.upperBound)"
        }

        private static func addressOverlap(_ line: Line, _ earlier: Line) -> (mine: String, theirs: String)? {
            switch (line.host, earlier.host) {
            case (.hostname(let a), .hostname(let b)):
                return a.lowercased() == b.lowercased() ? (a, b) : nil
            case (.address, .address):
                guard let mine = line.addresses, let theirs = earlier.addresses, mine.overlaps(theirs) else {
                    return nil
                }
                return (text(mine), text(theirs))
            default:
                // A host name is resolved by openMosix at load time; we cannot tell here.
                return nil
            }
        }
    }
}
