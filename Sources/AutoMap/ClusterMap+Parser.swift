extension ClusterMap {
    /// Parses the HOWTO 5.4.2 map syntax of `/etc/mosix.map` and `/etc/hpc.map`.
    ///
    /// Fields are separated by spaces or tabs; `#` starts a comment that runs to the end of the
    /// line; blank lines are skipped. `ALIAS` is accepted in any letter case. Errors carry
    /// `file`, the line and the column (counted in characters from 1) of the field at fault.
    public init(parsing text: String, file: String) throws {
        var checker = Checker()
        var lines: [Line] = []
        var lineNumber = 0
        for raw in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let fields = Self.fields(of: raw)
            guard let first = fields.first else { continue }
            var position = Position(file: file, line: lineNumber, idColumn: first.column)
            if lines.count == ClusterMap.maxLines {
                throw position.error(.tooManyLines(limit: ClusterMap.maxLines), column: first.column)
            }
            if fields.count > 3 {
                throw position.error(.extraField(fields[3].text), column: fields[3].column)
            }
            let id = try Self.parseID(first, at: position)
            guard fields.count >= 2 else {
                throw position.error(.missingField("address or host name"), column: first.end + 1)
            }
            position.hostColumn = fields[1].column
            let host = try Self.parseHost(fields[1], at: position)
            try Checker.checkHost(Line(id: id, host: host, size: .alias), at: position)
            guard fields.count >= 3 else {
                throw position.error(.missingField("range size"), column: fields[1].end + 1)
            }
            position.sizeColumn = fields[2].column
            let line = Line(id: id, host: host, size: try Self.parseSize(fields[2], at: position))
            try checker.add(line, at: position)
            lines.append(line)
        }
        try checker.finish()
        self.init(checked: lines)
    }

    /// A whitespace-separated field and the column (from 1) of its first and last character.
    struct Field {
        var text: String
        var column: Int
        var end: Int
    }

    static func fields(of raw: Substring.UnicodeScalarView.SubSequence) -> [Field] {
        var fields: [Field] = []
        var current = String.UnicodeScalarView()
        var start = 0
        var column = 0
        func flush() {
            if !current.isEmpty {
                fields.append(Field(text: String(current), column: start, end: column - 1))
                current = String.UnicodeScalarView()
            }
        }
        for scalar in raw {
            column += 1
            if scalar == "#" { break }
            if scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\u{0B}" || scalar == "\u{0C}" {
                flush()
            } else {
                if current.isEmpty { start = column }
                current.append(scalar)
            }
        }
        column += 1
        flush()
        return fields
    }

    private static func decimal(_ text: String) -> Int? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard HostName.isDigit(byte) else { return nil }
            value = min(value * 10 + Int(byte) - 48, 10_000_000)
        }
        return value
    }

    private static func parseID(_ field: Field, at position: Position) throws -> Int {
        guard let id = decimal(field.text) else {
            throw position.error(.badNodeID(field.text), column: field.column)
        }
        guard ClusterMap.nodeIDs.contains(id) else {
            throw position.error(.nodeIDOutOfRange(field.text), column: field.column)
        }
        return id
    }

    /// Digits and dots only, or a first label of digits and four labels, reads as an address
    /// (RFC 1123 2.1: a host name never has the dotted-decimal form).
    private static func looksLikeAddress(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if bytes.allSatisfy({ HostName.isDigit($0) || $0 == UInt8(ascii: ".") }) { return true }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.count == 4 && !labels[0].isEmpty && labels[0].allSatisfy(HostName.isDigit)
    }

    private static func parseHost(_ field: Field, at position: Position) throws -> Host {
        guard looksLikeAddress(field.text) else { return .hostname(field.text) }
        do {
            return .address(try IPv4Address(parsing: field.text))
        } catch let error as AutoMapError {
            throw position.error(error.kind, column: field.column)
        }
    }

    private static func parseSize(_ field: Field, at position: Position) throws -> Size {
        if field.text.uppercased() == "ALIAS" { return .alias }
        // HOWTO 5.4.2: ALIAS "is equal to set the range-size to 0", and masters' maps use both.
        if let count = decimal(field.text) { return count == 0 ? .alias : .range(count) }
        if field.text.hasPrefix("-"), decimal(String(field.text.dropFirst())) != nil {
            throw position.error(.rangeSizeTooSmall(field.text), column: field.column)
        }
        throw position.error(.badRangeSize(field.text), column: field.column)
    }
}
