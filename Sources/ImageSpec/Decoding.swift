import Yams

/// The state of one parse: diagnostics so far, where each key path was written, and the
/// keys `SpecLoader` renamed to get duplicates past Yams.
struct Decoding {
    let file: String
    var diagnostics: [SpecDiagnostic] = []
    var locations: [String: SourceLocation] = [:]
    /// Key paths whose value was rejected, so cross-checks do not pile on a second error.
    var failed: Set<String> = []
    /// Placeholder first scalar -> the original one; see `SpecLoader.compose`.
    var renamedKeys: [Unicode.Scalar: Unicode.Scalar] = [:]

    init(file: String) {
        self.file = file
    }

    mutating func record(_ path: String, _ node: Node) {
        if let location = node.location { locations[path] = location }
    }

    mutating func error(_ path: String, at node: Node?, _ message: String, hint: String? = nil) {
        error(path, at: node?.location, message, hint: hint)
    }

    mutating func error(_ path: String, at location: SourceLocation?, _ message: String, hint: String? = nil) {
        failed.insert(path)
        diagnostics.append(
            SpecDiagnostic(file: file, location: location, keyPath: path, message: message, hint: hint))
    }

    /// One key of a mapping, with its original spelling and full key path.
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
        var path: String
    }

    /// The keys of `mapping` in file order, reporting duplicates and keys that are not names.
    mutating func entries(of mapping: Node.Mapping, at path: String) -> [Entry] {
        var seen: [String: SourceLocation?] = [:]
        var result: [Entry] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                error(path, at: keyNode, "a key must be a name, got \(keyNode.described)", hint: "write `name: value`")
                continue
            }
            let key = originalKey(scalar.string)
            let full = Decoding.join(path, key)
            if let first = seen[key] {
                let firstAt = first.map { " at \($0)" } ?? ""
                error(
                    full, at: keyNode, "duplicate key",
                    hint: "`\(key)` is already set\(firstAt); keep one of them")
                continue
            }
            seen[key] = keyNode.location
            result.append(Entry(key: key, keyNode: keyNode, value: value, path: full))
        }
        return result
    }

    private func originalKey(_ key: String) -> String {
        guard let first = key.unicodeScalars.first, let original = renamedKeys[first] else { return key }
        var scalars = String.UnicodeScalarView()
        scalars.append(original)
        scalars.append(contentsOf: key.unicodeScalars.dropFirst())
        return String(scalars)
    }

    /// The last key of a path, as it is written in the file (`boot.timeout` -> `timeout`).
    static func leaf(_ path: String) -> String {
        path.split(separator: ".").last.map(String.init) ?? path
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

extension Node {
    var location: SourceLocation? {
        mark.map { SourceLocation(line: $0.line, column: $0.column) }
    }

    /// The resolved tag (plain `5` is int, quoted `"5"` is str).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }

    var isNull: Bool {
        if case .scalar = self { return tagName == .null }
        return false
    }

    var isBool: Bool {
        if case .scalar = self { return tagName == .bool }
        return false
    }

    /// The text of a scalar that may stand for a string; numbers count (`label: 2024`),
    /// null and booleans do not, because YAML turned them into something else.
    var text: String? {
        guard case .scalar(let scalar) = self, tagName != .null, tagName != .bool else { return nil }
        return scalar.string
    }

    /// How the value reads in "expected X, got Y".
    var described: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch tagName {
            case .null: return "nothing"
            case .bool, .int, .float: return scalar.string
            default:
                let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "..." : scalar.string
                return text.debugDescription
            }
        }
    }
}
