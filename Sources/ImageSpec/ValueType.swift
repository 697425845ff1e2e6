import AutoMap
import DroneProtocol
import Foundation
import Yams

/// How one kind of setting is read from a YAML node and written back for the starter spec.
///
/// `decode` returns nil after recording a diagnostic; optional settings therefore decode
/// to `.some(nil)` for an explicit null.
struct ValueType<Value: Sendable>: Sendable {
    let decode: @Sendable (Node, String, inout Decoding) -> Value?
    let render: @Sendable (Value) -> String
}

// MARK: - Scalars

extension ValueType where Value == String {
    /// Any string-like scalar accepted by `check`, which returns an error message and hint.
    static func string(
        _ expected: String, check: @escaping @Sendable (String) -> (message: String, hint: String?)? = { _ in nil }
    ) -> Self {
        ValueType(
            decode: { node, path, decoding in
                guard let text = ScalarDecoder.text(node, path, &decoding, expected: expected) else { return nil }
                if let problem = check(text) {
                    decoding.error(path, at: node, problem.message, hint: problem.hint)
                    return nil
                }
                return text
            },
            render: YAMLText.string)
    }

    /// A host path; relative ones resolve against the spec's directory.
    static var path: Self { .string("a path", check: PathCheck.hostPath) }

    /// An ISO9660 volume identifier (ECMA-119 d-characters, at most 32).
    static var volumeLabel: Self {
        .string("a volume label") { text in
            guard !VolumeLabel.isValid(text) else { return nil }
            return (
                "\(text.debugDescription) is not a valid ISO volume label",
                "use 1-32 characters of A-Z, 0-9 and _, e.g. `label: \(VolumeLabel.fixed(text))`"
            )
        }
    }
}

extension ValueType where Value == String? {
    /// A host path, or empty/null for "find it automatically".
    static var optionalPath: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isNull { return .some(nil) }
                return ValueType<String>.path.decode(node, path, &decoding).map { $0 }
            },
            render: { $0.map(YAMLText.string) ?? "" })
    }

    /// A path relative to the output directory, or `false` to skip that output.
    static func output(_ what: String, example: String) -> Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isBool, node.bool == false { return .some(nil) }
                guard let text = node.text else {
                    decoding.error(
                        path, at: node, "expected \(what) or false, got \(node.described)",
                        hint: "write `\(Decoding.leaf(path)): \(example)`, or false to skip it")
                    return nil
                }
                if let problem = PathCheck.outputPath(text) {
                    decoding.error(path, at: node, problem.message, hint: problem.hint)
                    return nil
                }
                return .some(text)
            },
            render: { $0.map(YAMLText.string) ?? "false" })
    }
}

extension ValueType where Value == Int {
    /// A whole number of seconds within `range`.
    static func seconds(_ range: ClosedRange<Int>) -> Self {
        ValueType(
            decode: { node, path, decoding in
                guard let value = ScalarDecoder.integer(node, path, &decoding, expected: "an integer number of seconds")
                else { return nil }
                guard range.contains(value) else {
                    decoding.error(
                        path, at: node, "\(value) seconds is out of range",
                        hint: "use \(range.lowerBound) to \(range.upperBound)")
                    return nil
                }
                return value
            },
            render: { String($0) })
    }
}

extension ValueType where Value == Int? {
    /// Seconds since 1970, or empty for "not set".
    static var epoch: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isNull { return .some(nil) }
                let expected = "a non-negative integer (seconds since 1970)"
                guard let value = ScalarDecoder.integer(node, path, &decoding, expected: expected) else { return nil }
                guard value >= 0 else {
                    decoding.error(path, at: node, "expected \(expected), got \(value)", hint: "`date +%s` prints now")
                    return nil
                }
                return .some(value)
            },
            render: { $0.map(String.init) ?? "" })
    }
}

extension ValueType where Value == Bool {
    /// `true` or `false`.
    static var bool: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isBool, let value = node.bool { return value }
                let hint =
                    node.text.map { ["true", "false"].contains($0.lowercased()) } == true
                    ? "write it without quotes" : "write true or false"
                decoding.error(path, at: node, "expected true or false, got \(node.described)", hint: hint)
                return nil
            },
            render: { $0 ? "true" : "false" })
    }
}

extension ValueType where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of the enum's raw values.
    static func choice(_ what: String, among choices: [Value]? = nil) -> Self {
        ValueType(
            decode: { node, path, decoding in ScalarDecoder.choice(node, path, &decoding, what: what, among: choices) },
            render: { $0.rawValue })
    }
}

extension ValueType where Value == Spec.SerialConsole? {
    /// `false`, or `ttyS<N>,<baud>`.
    static var serial: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isBool, node.bool == false { return .some(nil) }
                let hint =
                    "write a port and a speed like `serial: ttyS0,115200` (speeds: "
                    + Spec.SerialConsole.speeds.map(String.init).joined(separator: ", ") + "), or false"
                guard let text = node.text else {
                    decoding.error(
                        path, at: node, "expected false or ttyS<N>,<baud>, got \(node.described)", hint: hint)
                    return nil
                }
                guard let console = Spec.SerialConsole(text) else {
                    decoding.error(path, at: node, "\(text.debugDescription) is not a serial console", hint: hint)
                    return nil
                }
                return .some(console)
            },
            render: { $0.map { YAMLText.string($0.description) } ?? "false" })
    }
}

// MARK: - Lists

extension ValueType {
    /// A list whose items each decode with `element`; null reads as an empty list.
    static func list<Element: Sendable>(
        of what: String, example: String, _ element: ValueType<Element>,
        check: @escaping @Sendable ([Element], [Node], String, inout Decoding) -> Bool = { _, _, _, _ in true }
    ) -> ValueType<[Element]> {
        ValueType<[Element]>(
            decode: { node, path, decoding in
                if node.isNull { return [] }
                guard case .sequence(let sequence) = node else {
                    decoding.error(
                        path, at: node, "expected a list of \(what), got \(node.described)",
                        hint: "write it as a list, e.g. `\(Decoding.leaf(path)): \(example)`")
                    return nil
                }
                var values: [Element] = []
                var ok = true
                for (index, item) in sequence.enumerated() {
                    let itemPath = "\(path)[\(index)]"
                    decoding.record(itemPath, item)
                    if let value = element.decode(item, itemPath, &decoding) {
                        values.append(value)
                    } else {
                        ok = false
                    }
                }
                guard ok, check(values, Array(sequence), path, &decoding) else {
                    decoding.failed.insert(path)
                    return nil
                }
                return values
            },
            render: { values in "[" + values.map(element.render).joined(separator: ", ") + "]" })
    }
}

extension ValueType where Value == [String] {
    /// Kernel module names (as in `modprobe NAME`).
    static var moduleNames: Self {
        .list(of: "module names", example: "[e1000e, r8169]", .string("a module name", check: ModuleName.check))
    }

    /// Driver group names or module names.
    static var driverNames: Self {
        .list(
            of: "driver groups or module names", example: "[ethernet, e1000e]",
            .string("a driver group or module name") { name in
                Spec.Drivers.groups[name] != nil ? nil : ModuleName.check(name)
            })
    }

    /// Host paths.
    static var paths: Self {
        .list(of: "paths", example: "[extra/]", .path)
    }

    /// Kernel command line words; each item is one argument.
    static var kernelArgs: Self {
        .list(
            of: "strings", example: "[\"console=tty0\"]",
            .string("a kernel argument", check: kernelArgumentProblem))
    }

    /// What is wrong with one kernel argument, or nil.
    @Sendable static func kernelArgumentProblem(_ arg: String) -> (message: String, hint: String?)? {
        if arg.isEmpty { return ("an empty kernel argument", "remove the empty item") }
        if arg.contains(where: \.isWhitespace) {
            return ("\(arg.debugDescription) contains whitespace", "put each argument in its own list item")
        }
        if arg.hasPrefix(BootArgument.mode.rawValue + "=") {
            return ("\(BootArgument.mode.rawValue) is set by the boot menu", "choose modes with boot.modes and boot.default")
        }
        return nil
    }
}

extension ValueType where Value == [BootMode] {
    /// A non-empty list of distinct boot modes, in menu order.
    static var bootModes: Self {
        .list(of: "boot modes", example: "[auto, expert, safe]", .choice("boot mode", among: BootMode.imageModes)) { modes, nodes, path, decoding in
            if modes.isEmpty {
                decoding.error(
                    path, at: decoding.locations[path], "the boot menu needs at least one mode",
                    hint: "e.g. `modes: [auto]`")
                return false
            }
            var seen: Set<String> = []
            var ok = true
            for (index, mode) in modes.enumerated() where !seen.insert(mode.rawValue).inserted {
                decoding.error(
                    "\(path)[\(index)]", at: nodes[index], "`\(mode.rawValue)` is listed twice",
                    hint: "each mode appears once in the menu; remove this one")
                ok = false
            }
            return ok
        }
    }
}

// MARK: - Files

extension ValueType where Value == Spec.File {
    /// A path (copied to the same path) or `{source, target, mode}`.
    static var fileEntry: Self {
        ValueType(decode: FileEntryDecoder.decode, render: FileEntryDecoder.render)
    }
}

extension ValueType where Value == [Spec.File] {
    /// File entries with distinct targets.
    static var files: Self {
        .list(of: "files", example: "[/usr/bin/htop]", .fileEntry) { files, _, path, decoding in
            var firstIndex: [String: Int] = [:]
            var ok = true
            for (index, file) in files.enumerated() {
                let target = Path.normalize(file.target)
                if let first = firstIndex[target] {
                    let targetPath = "\(path)[\(index)].target"
                    decoding.error(
                        targetPath, at: decoding.locations[targetPath],
                        "\(target) is already the target of \(path)[\(first)]",
                        hint: "give each file its own target")
                    ok = false
                } else {
                    firstIndex[target] = index
                }
            }
            return ok
        }
    }
}

enum FileEntryDecoder {
    static let keys = ["source", "target", "mode"]

    @Sendable static func decode(_ node: Node, _ path: String, _ decoding: inout Decoding) -> Spec.File? {
        switch node {
        case .scalar:
            guard let source = ValueType<String>.path.decode(node, path, &decoding) else { return nil }
            guard source.hasPrefix("/") else {
                decoding.error(
                    path, at: node, "\(source.debugDescription) is relative, so it has no place in the image",
                    hint: "write `{source: \(YAMLText.string(source)), target: /ABSOLUTE/PATH}`")
                return nil
            }
            decoding.record("\(path).source", node)
            decoding.record("\(path).target", node)
            return Spec.File(source: source)
        case .mapping(let mapping):
            return decodeMapping(mapping, path, &decoding)
        default:
            decoding.error(
                path, at: node, "expected a path or a mapping with source and target, got \(node.described)",
                hint: "write `- /usr/bin/htop` or `- {source: tools/probe, target: /usr/bin/probe, mode: \"0755\"}`")
            return nil
        }
    }

    private static func decodeMapping(
        _ mapping: Node.Mapping, _ path: String, _ decoding: inout Decoding
    ) -> Spec.File? {
        var source: String?
        var target: String?
        var mode: UInt32?
        var ok = true
        for entry in decoding.entries(of: mapping, at: path) {
            decoding.record(entry.path, entry.value)
            switch entry.key {
            case "source":
                source = ValueType<String>.path.decode(entry.value, entry.path, &decoding)
                ok = ok && source != nil
            case "target":
                target = ValueType<String>.string("an absolute path in the image", check: PathCheck.imagePath)
                    .decode(entry.value, entry.path, &decoding)
                ok = ok && target != nil
            case "mode":
                mode = decodeMode(entry.value, entry.path, &decoding)
                ok = ok && mode != nil
            default:
                SpecLoader.unknownKey(entry, among: keys, &decoding)
                ok = false
            }
        }
        guard ok else { return nil }
        guard let source else {
            decoding.error(
                path, at: mapping.mark.map { SourceLocation(line: $0.line, column: $0.column) },
                "a file needs a source", hint: "add `source: HOST/PATH`")
            return nil
        }
        if target == nil, !source.hasPrefix("/") {
            decoding.error(
                "\(path).target", at: decoding.locations["\(path).source"],
                "a relative source needs a target in the image", hint: "add `target: /ABSOLUTE/PATH`")
            return nil
        }
        return Spec.File(source: source, target: target, mode: mode)
    }

    private static func decodeMode(_ node: Node, _ path: String, _ decoding: inout Decoding) -> UInt32? {
        let hint = "write the permission bits in octal and quoted, e.g. `mode: \"0755\"`"
        guard let text = node.text else {
            decoding.error(path, at: node, "expected an octal mode like \"0755\", got \(node.described)", hint: hint)
            return nil
        }
        guard (3...4).contains(text.count), text.allSatisfy({ ("0"..."7").contains($0) }),
            let mode = UInt32(text, radix: 8)
        else {
            decoding.error(path, at: node, "\(text.debugDescription) is not an octal mode", hint: hint)
            return nil
        }
        return mode
    }

    @Sendable static func render(_ file: Spec.File) -> String {
        if file.target == file.source, file.mode == nil { return YAMLText.string(file.source) }
        var parts = ["source: \(YAMLText.string(file.source))", "target: \(YAMLText.string(file.target))"]
        if let mode = file.mode { parts.append("mode: \"\(Self.octal(mode))\"") }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

// MARK: - Shared checks

enum ScalarDecoder {
    static func text(_ node: Node, _ path: String, _ decoding: inout Decoding, expected: String) -> String? {
        if let text = node.text { return text }
        let hint: String? =
            node.isBool
            ? "YAML reads \(node.described) as a boolean; quote it if you mean the text"
            : nil
        decoding.error(path, at: node, "expected \(expected), got \(node.described)", hint: hint)
        return nil
    }

    static func integer(_ node: Node, _ path: String, _ decoding: inout Decoding, expected: String) -> Int? {
        if case .scalar = node, node.tagName == .int, let value = node.int { return value }
        let hint =
            node.text.flatMap { Int($0) } != nil
            ? "write the number without quotes" : "write a whole number, e.g. `\(Decoding.leaf(path)): 5`"
        decoding.error(path, at: node, "expected \(expected), got \(node.described)", hint: hint)
        return nil
    }

    static func choice<Value: RawRepresentable & CaseIterable>(
        _ node: Node, _ path: String, _ decoding: inout Decoding, what: String, among choices: [Value]? = nil
    ) -> Value? where Value.RawValue == String {
        let names = (choices ?? Array(Value.allCases)).map(\.rawValue)
        let known = "one of " + names.joined(separator: ", ")
        guard let text = node.text else {
            decoding.error(path, at: node, "expected a \(what), got \(node.described)", hint: known)
            return nil
        }
        if let value = Value(rawValue: text), names.contains(text) { return value }
        let hint = Suggestion.closest(to: text, among: names).map { "did you mean `\($0)`? (\(known))" } ?? known
        decoding.error(path, at: node, "unknown \(what) \(text.debugDescription)", hint: hint)
        return nil
    }
}

enum PathCheck {
    @Sendable static func hostPath(_ text: String) -> (message: String, hint: String?)? {
        if text.isEmpty { return ("an empty path", "write a path, or remove the key to use the default") }
        if text.contains("\0") { return ("a path cannot contain NUL", nil) }
        return nil
    }

    /// An absolute path below `/` without `..`.
    static func isAbsoluteBelowRoot(_ text: String) -> Bool {
        text.hasPrefix("/") && !Path.hasParentReference(text) && Path.normalize(text) != "/"
    }

    @Sendable static func imagePath(_ text: String) -> (message: String, hint: String?)? {
        if !isAbsoluteBelowRoot(text) {
            return (
                "\(text.debugDescription) is not an absolute path in the image",
                "write the full path it will have on the drone, e.g. `/usr/local/bin/tool`"
            )
        }
        return hostPath(text)
    }

    @Sendable static func outputPath(_ text: String) -> (message: String, hint: String?)? {
        if text.isEmpty || text.hasPrefix("/") || Path.hasParentReference(text) || Path.normalize(text) == "." {
            return (
                "\(text.debugDescription) must be a name inside the output directory",
                "use a relative name without `..`; choose the directory with `clumpbuild --out`"
            )
        }
        return hostPath(text)
    }
}

enum ModuleName {
    private static let suffixes = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]

    /// Accepts what `modprobe` takes: letters, digits, `_` and `-` (which the kernel treats as equal).
    @Sendable static func check(_ name: String) -> (message: String, hint: String?)? {
        if let suffix = suffixes.first(where: { name.hasSuffix($0) }) {
            let bare = Path.lastComponent(of: String(name.dropLast(suffix.count)))
            return ("\(name.debugDescription) is a file name", "write the module name `\(bare)`")
        }
        if name.contains("/") {
            return (
                "\(name.debugDescription) is a path", "write the module name `\(Path.lastComponent(of: name))`"
            )
        }
        let valid =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            }
        if !valid {
            let groups = Spec.Drivers.groups.keys.sorted().joined(separator: ", ")
            return (
                "\(name.debugDescription) is not a module name",
                "module names use letters, digits, _ and -; driver groups: \(groups)"
            )
        }
        return nil
    }
}

enum VolumeLabel {
    /// ECMA-119 7.4.1 d-characters; the volume identifier holds at most 32 of them.
    static func isValid(_ label: String) -> Bool {
        (1...32).contains(label.unicodeScalars.count) && label.unicodeScalars.allSatisfy(isDCharacter)
    }

    /// The closest valid label: uppercased, other characters turned into `_`, cut to 32.
    static func fixed(_ label: String) -> String {
        let scalars = label.uppercased().unicodeScalars.map { isDCharacter($0) ? Character($0) : "_" }
        let fixed = String(scalars.prefix(32))
        return fixed.isEmpty ? "CLUMP" : fixed
    }

    private static func isDCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }
}

/// YAML text for values, quoted only when a plain scalar would read back as something else.
enum YAMLText {
    @Sendable static func string(_ value: String) -> String {
        let plainSafe =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_./-".unicodeScalars.contains($0))
            }
            && !value.hasPrefix("-") && Resolver.default.resolveTag(of: Node(value)) == .str
        if plainSafe { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    quoted += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}

// MARK: - Addresses

extension ValueType where Value == IPv4Network? {
    /// A network such as `10.0.2.0/24`, or empty for none.
    static var optionalNetwork: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isNull { return .some(nil) }
                guard let text = ScalarDecoder.text(node, path, &decoding, expected: "a network like 10.0.2.0/24")
                else { return nil }
                do {
                    let network = try IPv4Network(parsing: text)
                    guard network.hosts != nil else {
                        decoding.error(
                            path, at: node, "\(text) has no room for nodes",
                            hint: "use a network with host addresses, e.g. a /24")
                        return nil
                    }
                    return .some(network)
                } catch {
                    decoding.error(
                        path, at: node, "\(text.debugDescription) is not a network: \(error)",
                        hint: "write the network's first address and prefix, e.g. `network: 10.0.2.0/24`")
                    return nil
                }
            },
            render: { $0.map(\.description) ?? "" })
    }
}

extension ValueType where Value == IPv4Address? {
    /// A dotted-quad address, or empty for "derived".
    static var optionalAddress: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isNull { return .some(nil) }
                guard let text = ScalarDecoder.text(node, path, &decoding, expected: "an address like 10.0.2.1")
                else { return nil }
                do {
                    return .some(try IPv4Address(parsing: text))
                } catch {
                    decoding.error(
                        path, at: node, "\(text.debugDescription) is not an IPv4 address: \(error)",
                        hint: "write four decimal numbers, e.g. `\(Decoding.leaf(path)): 10.0.2.1`")
                    return nil
                }
            },
            render: { $0.map(\.description) ?? "" })
    }
}

extension ValueType where Value == AddressRange? {
    /// `FIRST-LAST`, or empty for "derived".
    static var optionalRange: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isNull { return .some(nil) }
                let hint = "write two addresses joined by a dash, e.g. `dhcp-range: 10.0.2.200-10.0.2.250`"
                guard let text = ScalarDecoder.text(node, path, &decoding, expected: "a range FIRST-LAST")
                else { return nil }
                let parts = text.split(separator: "-", omittingEmptySubsequences: false)
                guard parts.count == 2,
                    let first = try? IPv4Address(parsing: parts[0].trimmingCharacters(in: .whitespaces)),
                    let last = try? IPv4Address(parsing: parts[1].trimmingCharacters(in: .whitespaces))
                else {
                    decoding.error(path, at: node, "\(text.debugDescription) is not an address range", hint: hint)
                    return nil
                }
                guard first <= last else {
                    decoding.error(
                        path, at: node, "the range ends (\(last)) before it starts (\(first))",
                        hint: "write the lower address first: `\(last)-\(first)`")
                    return nil
                }
                return .some(AddressRange(first: first, last: last))
            },
            render: { $0.map(\.description) ?? "" })
    }
}
