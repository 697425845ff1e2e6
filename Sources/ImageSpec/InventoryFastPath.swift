import AutoMap

/// Reads the inventory's everyday form without composing YAML: one `- ` item per node, as a flow
/// mapping (`- {mac: "...", address: ...}`, what `serve --enrol` appends) or a block mapping with
/// two-space continuation lines, plain or simply quoted scalars and one-line flow lists.
///
/// Yams resolves every scalar's tag with regular expressions; at 10,000 nodes that was most of the
/// time of adding one node. This reader accepts only what it is sure of: anything else (other YAML,
/// and every entry that would be an error) returns nil, and the full parser reads the file and
/// reports the problems. Locations are the ones the full parser gives (tests compare the two).
enum InventoryFastPath {
    /// The entries, or nil when the full parser must read the text.
    static func entries(_ yaml: String) -> [InventoryLoader.Entry]? {
        var entries: [InventoryLoader.Entry] = []
        var current: Item?
        var lineNumber = 0
        for line in yaml.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = Array(line)
            guard bytes.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else {
                return nil
            }
            var reader = Reader(bytes: bytes, line: lineNumber)
            reader.skipSpaces()
            if reader.atEnd || reader.peek == UInt8(ascii: "#") { continue }
            if reader.position == 0 {
                guard reader.take("- ") else { return nil }
                if let item = current {
                    guard let entry = item.entry(index: entries.count) else { return nil }
                    entries.append(entry)
                }
                reader.skipSpaces()
                var item = Item(location: reader.location)
                if reader.peek == UInt8(ascii: "{") {
                    guard reader.flowMapping(into: &item), reader.atLineEnd else { return nil }
                    item.closed = true
                } else {
                    item.indent = reader.position
                    guard reader.pair(into: &item), reader.atLineEnd else { return nil }
                }
                current = item
            } else {
                // A continuation line of a block mapping: indented as its first key, then `key: value`.
                guard var item = current, !item.closed, reader.position == item.indent, reader.pair(into: &item),
                    reader.atLineEnd
                else { return nil }
                current = item
            }
        }
        if let item = current {
            guard let entry = item.entry(index: entries.count) else { return nil }
            entries.append(entry)
        }
        return entries
    }

    /// A value as written: a scalar or a one-line list of scalars, with where each starts.
    enum Value {
        case scalar(String, SourceLocation)
        case list([(String, SourceLocation)], SourceLocation)
    }

    /// One `- ` item's keys, in order.
    struct Item {
        var location: SourceLocation
        var fields: [(key: String, value: Value)] = []
        var closed = false
        var indent = 0

        /// The entry, or nil for anything the full parser must judge (unknown or repeated keys, bad values).
        func entry(index: Int) -> InventoryLoader.Entry? {
            var entry = InventoryLoader.Entry(path: "[\(index)]", location: location)
            var seen: Set<String> = []
            for (key, value) in fields {
                guard seen.insert(key).inserted else { return nil }
                switch (key, value) {
                case ("mac", .scalar(let text, let at)):
                    guard let mac = Self.mac(text) else { return nil }
                    entry.macs = [(mac, at)]
                case ("mac", .list(let items, _)):
                    guard !items.isEmpty else { return nil }
                    for (text, at) in items {
                        guard let mac = Self.mac(text) else { return nil }
                        entry.macs.append((mac, at))
                    }
                case ("address", .scalar(let text, let at)):
                    guard let address = try? IPv4Address(parsing: text) else { return nil }
                    entry.address = (address, at)
                case ("name", .scalar(let text, let at)):
                    guard HostName.isValid(text), !text.contains(".") else { return nil }
                    entry.name = (text, at)
                case ("boot", .scalar(let text, _)):
                    guard let kind = Inventory.BootKind(rawValue: text) else { return nil }
                    entry.boot = kind
                case ("kernel-args", .list(let items, _)):
                    for (text, _) in items {
                        guard ValueType<[String]>.kernelArgumentProblem(text) == nil else { return nil }
                        entry.kernelArgs.append(text)
                    }
                default:
                    return nil
                }
            }
            return entry.macs.isEmpty ? nil : entry
        }

        static func mac(_ text: String) -> MACAddress? {
            guard let mac = MACAddress(parsing: text), !mac.isMulticast, !mac.bytes.allSatisfy({ $0 == 0 }) else {
                return nil
            }
            return mac
        }
    }

    /// A cursor over one line.
    struct Reader {
        let bytes: [UInt8]
        let line: Int
        var position = 0

        var atEnd: Bool { position >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[position] }
        var location: SourceLocation { SourceLocation(line: line, column: position + 1) }

        /// Only spaces, or a comment after at least one space, are left.
        var atLineEnd: Bool {
            var copy = self
            let before = copy.position
            copy.skipSpaces()
            return copy.atEnd || (copy.peek == UInt8(ascii: "#") && copy.position > before)
        }

        mutating func skipSpaces() {
            while peek == UInt8(ascii: " ") { position += 1 }
        }

        mutating func take(_ text: String) -> Bool {
            let wanted = Array(text.utf8)
            guard bytes.count - position >= wanted.count, Array(bytes[position..<(position + wanted.count)]) == wanted
            else { return false }
            position += wanted.count
            return true
        }

        /// `key: value`; in a flow mapping the value ends at `,` or `}`.
        mutating func pair(into item: inout Item, flow: Bool = false) -> Bool {
            let start = position
            while let byte = peek, byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) {
                position += 1
            }
            guard position > start, take(": ") else { return false }
            let key = String(decoding: bytes[start..<(position - 2)], as: UTF8.self)
            skipSpaces()
            guard let value = value(flow: flow) else { return false }
            item.fields.append((key, value))
            return true
        }

        mutating func flowMapping(into item: inout Item) -> Bool {
            guard take("{") else { return false }
            skipSpaces()
            while true {
                guard pair(into: &item, flow: true) else { return false }
                skipSpaces()
                if take("}") { return true }
                guard take(",") else { return false }
                skipSpaces()
            }
        }

        mutating func value(flow: Bool) -> Value? {
            let at = location
            if take("[") {
                var items: [(String, SourceLocation)] = []
                skipSpaces()
                if take("]") { return .list([], at) }
                while true {
                    let itemAt = location
                    guard let text = scalar(flow: true) else { return nil }
                    items.append((text, itemAt))
                    skipSpaces()
                    if take("]") { return .list(items, at) }
                    guard take(",") else { return nil }
                    skipSpaces()
                }
            }
            guard let text = scalar(flow: flow) else { return nil }
            return .scalar(text, at)
        }

        /// A plain or simply quoted scalar that YAML reads as a string or a number, never null or a boolean.
        mutating func scalar(flow: Bool) -> String? {
            guard let first = peek else { return nil }
            if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
                position += 1
                let start = position
                while let byte = peek, byte != first {
                    if byte == UInt8(ascii: "\\") { return nil }
                    position += 1
                }
                guard !atEnd else { return nil }
                let text = String(decoding: bytes[start..<position], as: UTF8.self)
                position += 1
                if first == UInt8(ascii: "'"), peek == UInt8(ascii: "'") { return nil }
                return text
            }
            // Indicators that start something other than a plain scalar.
            guard !"-?:,[]{}#&*!|>%@`".utf8.contains(first) else { return nil }
            let start = position
            while let byte = peek {
                if byte == UInt8(ascii: " ") {
                    // A comment, or (in a block) a value with spaces: leave both to the full parser.
                    break
                }
                if flow, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { break }
                if byte == UInt8(ascii: ":"), position + 1 >= bytes.count || bytes[position + 1] == UInt8(ascii: " ") {
                    return nil
                }
                if byte == UInt8(ascii: "#") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { return nil }
                position += 1
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if !flow, !atLineEnd { return nil }
            let lower = text.lowercased()
            // YAML 1.1 reads these as null or booleans, not as text.
            guard !["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"].contains(lower) else { return nil }
            return text
        }
    }
}
