import AutoMap

/// Reads the inventory's everyday form without composing YAML: one `- ` item per node, as a flow
/// mapping (`- {mac: "...", address: ...}`, what `serve --enrol` appends) or a block mapping with
/// two-space continuation lines, plain or simply quoted scalars and one-line flow lists.
///
/// Yams resolves every scalar's tag with regular expressions; at 10,000 nodes that was most of the
/// time of adding one node. This reader accepts only what it is sure of: anything else (other YAML,
/// and every entry that would be an error) returns nil, and the full parser reads the file and
/// reports the problems. Locations are the ones the full parser gives (tests compare the two).
///
/// It reads the text's bytes in place and keeps values as ranges of them until an entry is made:
/// an array per line and a string per scalar (a MAC's 17 characters are one heap string) were,
/// at 10,000 nodes, an eighth of the time of adding one.
enum InventoryFastPath {
    /// The entries, or nil when the full parser must read the text.
    static func entries(_ yaml: String) -> [InventoryLoader.Entry]? {
        var yaml = yaml
        return yaml.withUTF8 { entries(UnsafeRawBufferPointer($0)) }
    }

    private static func entries(_ text: UnsafeRawBufferPointer) -> [InventoryLoader.Entry]? {
        guard !text.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) else {
            return nil
        }
        var entries: [InventoryLoader.Entry] = []
        var current: Item?
        var lineNumber = 0
        var lineStart = 0
        while lineStart <= text.count {
            var lineEnd = lineStart
            while lineEnd < text.count, text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            lineNumber += 1
            var reader = Reader(text: text, start: lineStart, end: lineEnd, line: lineNumber)
            lineStart = lineEnd + 1
            reader.skipSpaces()
            if reader.atEnd || reader.peek == UInt8(ascii: "#") { continue }
            if reader.column == 0 {
                guard reader.take(UInt8(ascii: "-"), UInt8(ascii: " ")) else { return nil }
                if let item = current {
                    guard let entry = item.entry(index: entries.count, text: text) else { return nil }
                    entries.append(entry)
                }
                reader.skipSpaces()
                var item = Item(location: reader.location)
                if reader.peek == UInt8(ascii: "{") {
                    guard reader.flowMapping(into: &item), reader.atLineEnd else { return nil }
                    item.closed = true
                } else {
                    item.indent = reader.column
                    guard reader.pair(into: &item), reader.atLineEnd else { return nil }
                }
                current = item
            } else {
                // A continuation line of a block mapping: indented as its first key, then `key: value`.
                guard var item = current, !item.closed, reader.column == item.indent, reader.pair(into: &item),
                    reader.atLineEnd
                else { return nil }
                current = item
            }
        }
        if let item = current {
            guard let entry = item.entry(index: entries.count, text: text) else { return nil }
            entries.append(entry)
        }
        return entries
    }

    /// The keys an entry may have, as the reader tells them apart.
    enum Key: CaseIterable {
        case mac, address, name, boot, kernelArgs, tpm

        var text: StaticString {
            switch self {
            case .mac: "mac"
            case .address: "address"
            case .name: "name"
            case .boot: "boot"
            case .kernelArgs: "kernel-args"
            case .tpm: "tpm"
            }
        }
    }

    /// A value as written: a scalar or a one-line list of scalars, each a range of the text with where it starts.
    enum Value {
        case scalar(Range<Int>, SourceLocation)
        case list([(Range<Int>, SourceLocation)], SourceLocation)
    }

    /// One `- ` item's keys, in order.
    struct Item {
        var location: SourceLocation
        var fields: [(key: Key, value: Value)] = []
        var closed = false
        var indent = 0

        /// The entry, or nil for anything the full parser must judge (unknown or repeated keys, bad values).
        func entry(index: Int, text: UnsafeRawBufferPointer) -> InventoryLoader.Entry? {
            func string(_ range: Range<Int>) -> String { String(decoding: text[range], as: UTF8.self) }
            func mac(_ range: Range<Int>) -> MACAddress? {
                guard let value = MACAddress.parse(UnsafeRawBufferPointer(rebasing: text[range])) else { return nil }
                let mac = MACAddress(value: value)
                return mac.isMulticast || mac.value == 0 ? nil : mac
            }
            var entry = InventoryLoader.Entry(index: index, location: location)
            for (position, (key, value)) in fields.enumerated() {
                // A repeated key.
                guard !fields[..<position].contains(where: { $0.key == key }) else { return nil }
                switch (key, value) {
                case (.mac, .scalar(let range, let at)):
                    guard let mac = mac(range) else { return nil }
                    entry.macs = [(mac, at)]
                case (.mac, .list(let items, _)):
                    guard !items.isEmpty else { return nil }
                    for (range, at) in items {
                        guard let mac = mac(range) else { return nil }
                        entry.macs.append((mac, at))
                    }
                case (.address, .scalar(let range, let at)):
                    guard let address = try? IPv4Address(parsing: string(range)) else { return nil }
                    entry.address = (address, at)
                case (.name, .scalar(let range, let at)):
                    let name = string(range)
                    guard HostName.isValid(name), !name.contains(".") else { return nil }
                    entry.name = (name, at)
                case (.boot, .scalar(let range, _)):
                    guard let kind = Inventory.BootKind(rawValue: string(range)) else { return nil }
                    entry.boot = kind
                case (.tpm, .scalar(let range, let at)):
                    guard let fingerprint = Inventory.tpmFingerprint(string(range)) else { return nil }
                    entry.tpm = (fingerprint, at)
                case (.kernelArgs, .list(let items, _)):
                    for (range, _) in items {
                        let argument = string(range)
                        guard ValueType<[String]>.kernelArgumentProblem(argument) == nil else { return nil }
                        entry.kernelArgs.append(argument)
                    }
                default:
                    return nil
                }
            }
            return entry.macs.isEmpty ? nil : entry
        }
    }

    /// A cursor over one line of the text.
    struct Reader {
        let text: UnsafeRawBufferPointer
        let start: Int
        let end: Int
        let line: Int
        var position: Int

        init(text: UnsafeRawBufferPointer, start: Int, end: Int, line: Int) {
            self.text = text
            self.start = start
            self.end = end
            self.line = line
            position = start
        }

        var atEnd: Bool { position >= end }
        var peek: UInt8? { atEnd ? nil : text[position] }
        /// The position in the line, from 0.
        var column: Int { position - start }
        var location: SourceLocation { SourceLocation(line: line, column: column + 1) }

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

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            position += 1
            return true
        }

        mutating func take(_ first: UInt8, _ second: UInt8) -> Bool {
            guard end - position >= 2, text[position] == first, text[position + 1] == second else { return false }
            position += 2
            return true
        }

        /// `key: value`; in a flow mapping the value ends at `,` or `}`.
        mutating func pair(into item: inout Item, flow: Bool = false) -> Bool {
            let keyStart = position
            while let byte = peek, byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) {
                position += 1
            }
            let written = UnsafeRawBufferPointer(rebasing: text[keyStart..<position])
            guard position > keyStart, take(UInt8(ascii: ":"), UInt8(ascii: " ")),
                let key = Key.allCases.first(where: { $0.text.withUTF8Buffer { $0.elementsEqual(written) } })
            else { return false }
            skipSpaces()
            guard let value = value(flow: flow) else { return false }
            item.fields.append((key, value))
            return true
        }

        mutating func flowMapping(into item: inout Item) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            skipSpaces()
            while true {
                guard pair(into: &item, flow: true) else { return false }
                skipSpaces()
                if take(UInt8(ascii: "}")) { return true }
                guard take(UInt8(ascii: ",")) else { return false }
                skipSpaces()
            }
        }

        mutating func value(flow: Bool) -> Value? {
            let at = location
            if take(UInt8(ascii: "[")) {
                var items: [(Range<Int>, SourceLocation)] = []
                skipSpaces()
                if take(UInt8(ascii: "]")) { return .list([], at) }
                while true {
                    let itemAt = location
                    guard let range = scalar(flow: true) else { return nil }
                    items.append((range, itemAt))
                    skipSpaces()
                    if take(UInt8(ascii: "]")) { return .list(items, at) }
                    guard take(UInt8(ascii: ",")) else { return nil }
                    skipSpaces()
                }
            }
            guard let range = scalar(flow: flow) else { return nil }
            return .scalar(range, at)
        }

        /// A plain or simply quoted scalar that YAML reads as a string or a number, never null or a boolean.
        mutating func scalar(flow: Bool) -> Range<Int>? {
            guard let first = peek else { return nil }
            if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
                position += 1
                let contentStart = position
                while let byte = peek, byte != first {
                    if byte == UInt8(ascii: "\\") { return nil }
                    position += 1
                }
                guard !atEnd else { return nil }
                let range = contentStart..<position
                position += 1
                if first == UInt8(ascii: "'"), peek == UInt8(ascii: "'") { return nil }
                return range
            }
            // Indicators that start something other than a plain scalar.
            guard !"-?:,[]{}#&*!|>%@`".utf8.contains(first) else { return nil }
            let contentStart = position
            while let byte = peek {
                if byte == UInt8(ascii: " ") {
                    // A comment, or (in a block) a value with spaces: leave both to the full parser.
                    break
                }
                if flow, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { break }
                if byte == UInt8(ascii: ":"), position + 1 >= end || text[position + 1] == UInt8(ascii: " ") {
                    return nil
                }
                if byte == UInt8(ascii: "#") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { return nil }
                position += 1
            }
            let range = contentStart..<position
            if !flow, !atLineEnd { return nil }
            // YAML 1.1 reads these as null or booleans, not as text (none is longer than five letters).
            if range.count <= 5 {
                let lower = String(decoding: text[range], as: UTF8.self).lowercased()
                guard !["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"].contains(lower) else { return nil }
            }
            return range
        }
    }
}
