/// A kernel `.config` (or a config fragment): `CONFIG_X=y|m|"string"|123|0x1f` and
/// `# CONFIG_X is not set` lines, each remembered with its line number.
///
/// Fragments (kernel-config/*.config) put the reason for an option in the comment lines right
/// above it; those become `Entry.why`. A trailing `# why` after a value is accepted too,
/// though Kconfig itself would not accept it. `# clump: ...` lines are directives.
public struct KernelConfig: Sendable {
    /// An option's value.
    public enum Value: Hashable, Sendable, CustomStringConvertible {
        /// `=y`
        case builtin
        /// `=m`
        case module
        /// `# ... is not set`, `=n`, or absent.
        case notSet
        /// `="..."`, unescaped.
        case string(String)
        /// `=123`, `=-1`, `=0x1000`, as written.
        case number(String)

        public var description: String {
            switch self {
            case .builtin: return "y"
            case .module: return "m"
            case .notSet: return "not set"
            case .string(let text): return "\"\(text)\""
            case .number(let text): return text
            }
        }

        /// True for y and m.
        public var isEnabled: Bool { self == .builtin || self == .module }
    }

    /// One option line.
    public struct Entry: Hashable, Sendable {
        /// With the prefix: `CONFIG_DEVTMPFS`.
        public let name: String
        public let value: Value
        public let line: Int
        /// The comment lines right above (or after) the option, joined with spaces.
        public let why: String?
    }

    /// Where the text came from, for messages.
    public let file: String
    /// Options in file order; when an option repeats, the last one wins (as with Kconfig).
    public let entries: [Entry]
    /// The text after `# clump:` on directive lines, e.g. "optional".
    public let directives: [String]

    private let byName: [String: Int]

    /// Parses `.config` text; `file` names it in errors.
    public init(parsing text: String, file: String = "<config>") throws {
        self.file = file
        var entries: [Entry] = []
        var byName: [String: Int] = [:]
        var directives: [String] = []
        var comments: [String] = []

        func add(_ name: String, _ value: Value, line: Int, trailing: String?) {
            let why = (comments + (trailing.map { [$0] } ?? [])).joined(separator: " ")
            let entry = Entry(name: name, value: value, line: line, why: why.isEmpty ? nil : why)
            if let existing = byName[name] {
                entries[existing] = entry
            } else {
                byName[name] = entries.count
                entries.append(entry)
            }
            comments = []
        }

        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = String(rawLine).trimmingCarriageReturn().trimmingSpaces()
            if line.isEmpty {
                comments = []
                continue
            }
            if line.hasPrefix("#") {
                let body = String(line.dropFirst()).trimmingSpaces()
                if let name = Self.notSetName(body) {
                    add(name, .notSet, line: number, trailing: nil)
                } else if body.hasPrefix("clump:") {
                    directives.append(String(body.dropFirst("clump:".count)).trimmingSpaces())
                    comments = []
                } else {
                    comments.append(body)
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw KernelError(
                    .syntax, "expected CONFIG_NAME=value or '# CONFIG_NAME is not set'", file: file, line: number,
                    column: 1)
            }
            let name = String(line[..<equals])
            guard Self.isOptionName(name) else {
                throw KernelError(
                    .syntax, "'\(name)' is not an option name (CONFIG_ followed by letters, digits, _)", file: file,
                    line: number, column: 1)
            }
            let column = line.distance(from: line.startIndex, to: equals) + 2
            let (value, trailing) = try Self.parseValue(
                Substring(line[line.index(after: equals)...]), file: file, line: number, column: column)
            add(name, value, line: number, trailing: trailing)
        }
        self.entries = entries
        self.byName = byName
        self.directives = directives
    }

    /// Reads the config at `path` (a host path).
    public static func load(path: String) throws -> KernelConfig {
        try KernelConfig(parsing: String(decoding: Files.readAll(path), as: UTF8.self), file: path)
    }

    /// Reads `<root>/boot/config-<release>`, which Debian installs with every kernel.
    public static func load(release: String, root: String = "/") throws -> KernelConfig {
        let path = Files.join(root, "boot/config-\(release)")
        guard try Files.size(path) != nil else {
            throw KernelError(
                .io, "there is no config for kernel \(release)", file: path, syscall: "stat", errno: 2,
                hint: "install the kernel package, or give the path of the kernel's .config")
        }
        return try load(path: path)
    }

    /// The entry for `name` (`CONFIG_` prefix optional), nil if absent.
    public func entry(_ name: String) -> Entry? {
        byName[Self.fullName(name)].map { entries[$0] }
    }

    /// The value of `name` (`CONFIG_` prefix optional); absent options are `.notSet`.
    public subscript(_ name: String) -> Value {
        entry(name)?.value ?? .notSet
    }

    static func fullName(_ name: String) -> String {
        name.hasPrefix("CONFIG_") ? name : "CONFIG_" + name
    }

    // MARK: - Parsing

    private static func isOptionName(_ name: String) -> Bool {
        guard name.hasPrefix("CONFIG_"), name.count > 7 else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 95
        }
    }

    /// "CONFIG_X is not set" -> "CONFIG_X".
    private static func notSetName(_ body: String) -> String? {
        guard body.hasSuffix(" is not set") else { return nil }
        let name = String(body.dropLast(" is not set".count)).trimmingSpaces()
        return isOptionName(name) ? name : nil
    }

    private static func parseValue(_ text: Substring, file: String, line: Int, column: Int) throws -> (
        Value, String?
    ) {
        var rest = text
        let value: Value
        if rest.first == "\"" {
            var result = ""
            var index = rest.index(after: rest.startIndex)
            var closed = false
            while index < rest.endIndex {
                let character = rest[index]
                if character == "\\" {
                    index = rest.index(after: index)
                    guard index < rest.endIndex else { break }
                    result.append(rest[index])
                } else if character == "\"" {
                    closed = true
                    break
                } else {
                    result.append(character)
                }
                index = rest.index(after: index)
            }
            guard closed else {
                throw KernelError(.syntax, "the string has no closing quote", file: file, line: line, column: column)
            }
            value = .string(result)
            rest = rest[rest.index(after: index)...]
        } else {
            let end = rest.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "#" }) ?? rest.endIndex
            let word = rest[..<end]
            rest = rest[end...]
            switch word {
            case "y": value = .builtin
            case "m": value = .module
            case "n": value = .notSet
            default:
                guard isNumber(word) else {
                    throw KernelError(
                        .syntax, "unexpected value '\(word)' (want y, m, n, a number or a quoted string)", file: file,
                        line: line, column: column)
                }
                value = .number(String(word))
            }
        }
        let trimmed = String(rest).trimmingSpaces()
        if trimmed.isEmpty { return (value, nil) }
        guard trimmed.hasPrefix("#") else {
            throw KernelError(
                .syntax, "unexpected text after the value: '\(trimmed)'", file: file, line: line, column: column)
        }
        let comment = String(trimmed.dropFirst()).trimmingSpaces()
        return (value, comment.isEmpty ? nil : comment)
    }

    private static func isNumber(_ word: Substring) -> Bool {
        var digits = Substring(word)
        if digits.hasPrefix("-") { digits = digits.dropFirst() }
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy(\.isHexDigit)
        }
        return !digits.isEmpty && digits.allSatisfy { $0 >= "0" && $0 <= "9" }
    }
}

extension String {
    func trimmingCarriageReturn() -> String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}
