import Foundation
import Kernel

/// The dependencies Kconfig puts on each option, read from the source's Kconfig files, so a
/// dropped option can be explained: "CONFIG_NFS_FS depends on NETWORK_FILESYSTEMS, which is
/// not set". Only what that needs is read: `config`/`menuconfig` entries with their
/// `depends on`, and the `if`, `menu ... depends on` and `choice ... depends on` blocks
/// around them (Documentation/kbuild/kconfig-language.rst, "Menu dependencies").
public struct Kconfig: Sendable {
    /// One definition of an option: the conditions that must all hold, and where it is.
    public struct Definition: Sendable, Equatable {
        public var conditions: [String]
        public var file: String
        public var line: Int
    }

    /// Definitions per option name without `CONFIG_` (an option can be defined more than once).
    public private(set) var definitions: [String: [Definition]] = [:]

    public init() {}

    /// A `source` line: the file it names (relative to the source tree) and the conditions
    /// around it, which hold for everything in that file.
    public struct Inclusion: Equatable, Sendable {
        public var path: String
        public var conditions: [String]
        public var optional: Bool
    }

    /// Adds the definitions of one Kconfig file, under `outer` conditions (those around the
    /// `source` line that brought it in); returns the files it sources, for the caller to read.
    @discardableResult
    public mutating func parse(_ text: String, file: String, outer: [String] = []) -> [Inclusion] {
        var inclusions: [Inclusion] = []
        enum Block { case condition(String), menu, choice }
        var blocks: [(Block, [String])] = []
        var current: (name: String, conditions: [String], line: Int)?
        var helpIndent: Int?
        var inHelp = false
        var openHeader: Int?  // index in `blocks` of a menu/choice still taking `depends on`

        func finish() {
            if let entry = current {
                definitions[entry.name, default: []].append(
                    Definition(conditions: outer + blocks.flatMap(\.1) + entry.conditions, file: file, line: entry.line))
            }
            current = nil
        }

        var logical: [(String, Int)] = []
        var pending = ""
        var pendingLine = 0
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if pending.isEmpty { pendingLine = number + 1 }
            if line.hasSuffix("\\") {
                line.removeLast()
                pending += line + " "
                continue
            }
            logical.append((pending + line, pendingLine))
            pending = ""
        }

        for (line, number) in logical {
            let indent = line.prefix { $0 == " " || $0 == "\t" }.reduce(0) { $0 + ($1 == "\t" ? 8 : 1) }
            let body = line.drop { $0 == " " || $0 == "\t" }
            if inHelp {
                if body.isEmpty { continue }
                if let helpIndent, indent >= helpIndent { continue }
                if helpIndent == nil, indent > 0 {
                    helpIndent = indent
                    continue
                }
                inHelp = false
            }
            guard !body.isEmpty, !body.hasPrefix("#") else { continue }
            let words = body.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            let keyword = String(words[0])
            let rest = words.count > 1 ? String(words[1]).trimmingCharacters(in: .whitespaces) : ""
            switch keyword {
            case "config", "menuconfig":
                finish()
                openHeader = nil
                current = (rest, [], number)
            case "help", "---help---":
                inHelp = true
                helpIndent = nil
            case "depends":
                let condition = Self.stripComment(rest.hasPrefix("on ") ? String(rest.dropFirst(3)) : rest)
                if current != nil {
                    current?.conditions.append(condition)
                } else if let header = openHeader {
                    blocks[header].1.append(condition)
                }
            case "if":
                finish()
                openHeader = nil
                blocks.append((.condition(rest), [Self.stripComment(rest)]))
            case "endif":
                finish()
                openHeader = nil
                if let at = blocks.lastIndex(where: { if case .condition = $0.0 { return true } else { return false } }) {
                    blocks.removeSubrange(at...)
                }
            case "menu", "choice":
                finish()
                blocks.append((keyword == "menu" ? .menu : .choice, []))
                openHeader = blocks.count - 1
            case "endmenu", "endchoice":
                finish()
                openHeader = nil
                let wanted = keyword == "endmenu"
                if let at = blocks.lastIndex(where: {
                    switch $0.0 {
                    case .menu: return wanted
                    case .choice: return !wanted
                    case .condition: return false
                    }
                }) {
                    blocks.removeSubrange(at...)
                }
            case "source", "osource", "rsource", "orsource":
                finish()
                var path = rest.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                path = path.replacingOccurrences(of: "$(SRCARCH)", with: "x86")
                if keyword.hasPrefix("r") || keyword.hasPrefix("or") {
                    path = (file as NSString).deletingLastPathComponent + "/" + path
                }
                inclusions.append(
                    Inclusion(path: path, conditions: outer + blocks.flatMap(\.1), optional: keyword.hasPrefix("o")))
            case "comment", "mainmenu":
                finish()
                openHeader = nil
            default:
                break
            }
        }
        finish()
        return inclusions
    }

    /// Reads the tree's Kconfig files from `Kconfig` at its top down through every `source`
    /// (x86 only), as Kconfig does; `read` returns a file's text, nil when it is missing.
    public static func load(read: (String) -> String?) -> Kconfig {
        var kconfig = Kconfig()
        var queue = [Inclusion(path: "Kconfig", conditions: [], optional: false)]
        var seen: Set<String> = []
        while let next = queue.popLast() {
            guard !next.path.contains("*"), seen.insert(next.path).inserted, let text = read(next.path) else { continue }
            let found = kconfig.parse(text, file: next.path, outer: next.conditions)
            queue += found.reversed()
        }
        return kconfig
    }

    private static func stripComment(_ text: String) -> String {
        var inQuote = false
        for (offset, character) in text.enumerated() {
            if character == "\"" { inQuote.toggle() }
            if character == "#", !inQuote { return collapse(String(text.prefix(offset))) }
        }
        return collapse(text)
    }

    /// One space between words: continued lines bring their indentation along.
    private static func collapse(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// Why `option` (with or without `CONFIG_`) cannot have its value in `config`: the
    /// conditions of its definitions that do not hold, as written, each with the symbols that
    /// make it fail. Empty when every definition's conditions hold (then something else,
    /// a `select` or a choice, set the value) or the option is unknown.
    public func unmet(_ option: String, in config: KernelConfig) -> [Unmet] {
        let name = option.hasPrefix("CONFIG_") ? String(option.dropFirst("CONFIG_".count)) : option
        var best: [Unmet]?
        for definition in definitions[name] ?? [] {
            var failed: [Unmet] = []
            for condition in definition.conditions {
                guard let expression = try? KconfigExpression.parse(condition) else { continue }
                if expression.value(in: config) == 0 {
                    failed.append(Unmet(condition: condition, culprits: expression.culprits(in: config)))
                }
            }
            if failed.isEmpty { return [] }
            if best == nil || failed.count < best?.count ?? 0 { best = failed }
        }
        return best ?? []
    }

    /// A condition that does not hold and the symbols that make it fail ("NETWORK_FILESYSTEMS is not set").
    public struct Unmet: Equatable, Sendable, CustomStringConvertible {
        public var condition: String
        public var culprits: [String]
        public var description: String {
            culprits.isEmpty ? condition : culprits.joined(separator: ", ")
        }
    }
}

/// A Kconfig dependency expression: `A && (B || !C) && D = y`, evaluated as tristate (n=0, m=1, y=2).
indirect enum KconfigExpression: Equatable {
    case symbol(String)
    case not(KconfigExpression)
    case and(KconfigExpression, KconfigExpression)
    case or(KconfigExpression, KconfigExpression)
    case compare(String, String, String)  // left, operator, right
    /// `$(...)` macros and anything else this reader does not evaluate: taken as true.
    case unknown

    struct SyntaxError: Error {}

    static func parse(_ text: String) throws -> KconfigExpression {
        var parser = Parser(tokens: tokenize(text))
        let expression = try parser.or()
        guard parser.position == parser.tokens.count else { throw SyntaxError() }
        return expression
    }

    private static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var characters = Array(text)[...]
        while let first = characters.first {
            if first == " " || first == "\t" {
                characters = characters.dropFirst()
            } else if first == "$" {
                // $(macro, ...) up to its matching parenthesis.
                var depth = 0
                var token = ""
                while let next = characters.first {
                    token.append(next)
                    characters = characters.dropFirst()
                    if next == "(" { depth += 1 }
                    if next == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                }
                tokens.append("$")
            } else if first == "\"" {
                var token = ""
                characters = characters.dropFirst()
                while let next = characters.first, next != "\"" {
                    token.append(next)
                    characters = characters.dropFirst()
                }
                characters = characters.dropFirst()
                tokens.append("\"" + token)
            } else if let two = characters.count >= 2 ? String(characters.prefix(2)) : nil,
                ["&&", "||", "!=", "<=", ">="].contains(two)
            {
                tokens.append(two)
                characters = characters.dropFirst(2)
            } else if "()!=<>".contains(first) {
                tokens.append(String(first))
                characters = characters.dropFirst()
            } else {
                var token = ""
                while let next = characters.first, !" \t()!=<>&|\"".contains(next) {
                    token.append(next)
                    characters = characters.dropFirst()
                }
                if token.isEmpty {
                    token = String(first)
                    characters = characters.dropFirst()
                }
                tokens.append(token)
            }
        }
        return tokens
    }

    private struct Parser {
        var tokens: [String]
        var position = 0

        mutating func next() -> String? {
            guard position < tokens.count else { return nil }
            defer { position += 1 }
            return tokens[position]
        }
        func peek() -> String? { position < tokens.count ? tokens[position] : nil }

        mutating func or() throws -> KconfigExpression {
            var left = try and()
            while peek() == "||" {
                _ = next()
                left = .or(left, try and())
            }
            return left
        }

        mutating func and() throws -> KconfigExpression {
            var left = try unary()
            while peek() == "&&" {
                _ = next()
                left = .and(left, try unary())
            }
            return left
        }

        mutating func unary() throws -> KconfigExpression {
            guard let token = next() else { throw SyntaxError() }
            switch token {
            case "!": return .not(try unary())
            case "(":
                let inner = try or()
                guard next() == ")" else { throw SyntaxError() }
                return inner
            case "$": return .unknown
            default:
                if let op = peek(), ["=", "!=", "<", ">", "<=", ">="].contains(op) {
                    _ = next()
                    guard let right = next() else { throw SyntaxError() }
                    return .compare(token, op, right)
                }
                return .symbol(token)
            }
        }
    }

    /// The tristate value in `config`.
    func value(in config: KernelConfig) -> Int {
        switch self {
        case .symbol(let name): return Self.tristate(name, config)
        case .not(let inner): return 2 - inner.value(in: config)
        case .and(let left, let right): return min(left.value(in: config), right.value(in: config))
        case .or(let left, let right): return max(left.value(in: config), right.value(in: config))
        case .unknown: return 2
        case .compare(let left, let op, let right):
            let (a, b) = (Self.text(left, config), Self.text(right, config))
            switch op {
            case "=": return a == b ? 2 : 0
            case "!=": return a != b ? 2 : 0
            default:
                guard let x = Int(a), let y = Int(b) else { return 2 }
                let holds = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : x >= y
                return holds ? 2 : 0
            }
        }
    }

    /// The symbols that make this expression false, as "X is not set" / "X is set" / "X=m".
    func culprits(in config: KernelConfig) -> [String] {
        guard value(in: config) == 0 else { return [] }
        switch self {
        case .symbol(let name):
            let value = config["CONFIG_" + name]
            return [value == .notSet ? "\(name) is not set" : "\(name)=\(value)"]
        case .not(let inner):
            if case .symbol(let name) = inner { return ["\(name) is set"] }
            return ["!(\(inner.culpritsWhenTrue(in: config)))"]
        case .and(let left, let right): return left.culprits(in: config) + right.culprits(in: config)
        case .or(let left, let right): return [left.culprits(in: config) + right.culprits(in: config)].map {
            $0.joined(separator: " and ")
        }
        case .compare(let left, let op, let right):
            return ["\(left) \(op) \(right) (\(left) is \(Self.text(left, config)))"]
        case .unknown: return []
        }
    }

    private func culpritsWhenTrue(in config: KernelConfig) -> String {
        if case .symbol(let name) = self { return "\(name) is set" }
        return "a condition holds"
    }

    private static func tristate(_ name: String, _ config: KernelConfig) -> Int {
        switch name {
        case "y": return 2
        case "m": return 1
        case "n": return 0
        default:
            switch config["CONFIG_" + name] {
            case .builtin: return 2
            case .module: return 1
            case .notSet: return 0
            case .string(let text): return text.isEmpty ? 0 : 2
            case .number: return 2
            }
        }
    }

    private static func text(_ token: String, _ config: KernelConfig) -> String {
        if token.hasPrefix("\"") { return String(token.dropFirst()) }
        if ["y", "m", "n"].contains(token) { return token }
        if token.first?.isNumber == true || token.hasPrefix("-") { return token }
        switch config["CONFIG_" + token] {
        case .builtin: return "y"
        case .module: return "m"
        case .notSet: return "n"
        case .string(let text): return text
        case .number(let text): return text
        }
    }
}
