import AutoMap
import Foundation
import Yams

/// Reads `clump.yaml` strictly: unknown keys, wrong types and duplicates are errors, all of them reported at once.
public enum SpecLoader {
    /// Reads and parses the spec at `path`; relative paths in it resolve against its directory.
    public static func load(path: String) throws(SpecError) -> Spec {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let missing = !FileManager.default.fileExists(atPath: path)
            throw SpecError(
                file: path, location: nil, keyPath: "",
                message: missing ? "no such file" : "cannot read the spec: \(error.localizedDescription)",
                hint: missing ? "`clumpbuild init` writes a starter spec" : nil)
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw SpecError(
                file: path, location: nil, keyPath: "", message: "the spec is not UTF-8 text",
                hint: "save it as UTF-8")
        }
        let absolute = path.hasPrefix("/") ? path : Path.join(FileManager.default.currentDirectoryPath, path)
        return try parse(yaml: yaml, file: path, baseDirectory: Path.directory(of: Path.normalize(absolute)))
    }

    /// Parses spec text; `file` names it in diagnostics and, unless `baseDirectory` is given, its directory
    /// is where relative paths resolve.
    public static func parse(yaml: String, file: String, baseDirectory: String? = nil) throws(SpecError) -> Spec {
        var decoding = Decoding(file: file)
        var spec = Spec(baseDirectory: baseDirectory ?? Path.directory(of: file), file: file)
        guard let root = compose(yaml, &decoding) else {
            throw SpecError(diagnostics: decoding.diagnostics)
        }
        switch root {
        case .none:
            break
        case .some(.mapping(let mapping)):
            walk(mapping, at: "", into: &spec, &decoding)
            checkBootDefault(spec, &decoding)
            checkClusterNetwork(spec, &decoding)
        case .some(let node) where node.isNull:
            break
        case .some(let node):
            decoding.error(
                "", at: node, "expected a mapping of settings, got \(node.described)",
                hint: "a spec is a list of `key: value` lines such as `label: CLUMP`; `clumpbuild init` writes one")
        }
        guard decoding.diagnostics.isEmpty else {
            throw SpecError(diagnostics: inFileOrder(decoding.diagnostics))
        }
        spec.locations = decoding.locations
        return spec
    }

    // MARK: - Walking the document

    private static func walk(
        _ mapping: Node.Mapping, at path: String, into spec: inout Spec, _ decoding: inout Decoding
    ) {
        for entry in decoding.entries(of: mapping, at: path) {
            decoding.record(entry.path, entry.value)
            if entry.key.contains(".") {
                unknownKey(entry, among: SpecTable.children(of: path), &decoding)
            } else if let setting = SpecTable.byKey[entry.path] {
                setting.apply(&spec, entry.value, &decoding)
            } else if SpecTable.sectionKeys.contains(entry.path) {
                switch entry.value {
                case .mapping(let inner):
                    walk(inner, at: entry.path, into: &spec, &decoding)
                case let value where value.isNull:
                    continue
                default:
                    let first = SpecTable.children(of: entry.path).first ?? "key"
                    let hint =
                        "put its keys on the following lines, indented, "
                        + "e.g. `\(entry.key):` then `  \(first): ...`"
                    decoding.error(
                        entry.path, at: entry.value, "expected a mapping, got \(entry.value.described)", hint: hint)
                }
            } else {
                unknownKey(entry, among: SpecTable.children(of: path), &decoding)
            }
        }
    }

    /// Reports `entry` as unknown, suggesting the key that was probably meant.
    static func unknownKey(_ entry: Decoding.Entry, among candidates: [String], _ decoding: inout Decoding) {
        let hint: String
        if entry.key == "<<" {
            decoding.error(
                entry.path, at: entry.keyNode, "YAML merge keys are not supported", hint: "write the settings out")
            return
        } else if entry.key.contains(".") {
            let parts = entry.key.split(separator: ".")
            let rest = parts.dropFirst().joined(separator: ".")
            hint = "nest the keys instead of joining them with dots: `\(parts[0]):` then `  \(rest): ...`"
        } else if let near = Suggestion.closest(to: entry.key, among: candidates) {
            hint = "did you mean `\(near)`?"
        } else if let elsewhere = SpecTable.all.first(where: { setting in
            let name = setting.key.split(separator: ".").last.map(String.init) ?? setting.key
            return setting.key != entry.path && Suggestion.closest(to: entry.key, among: [name]) != nil
        }) {
            hint = "did you mean `\(elsewhere.key)`?"
        } else {
            hint = "known keys here: " + candidates.joined(separator: ", ")
        }
        decoding.error(entry.path, at: entry.keyNode, "unknown key", hint: hint)
    }

    private static func checkBootDefault(_ spec: Spec, _ decoding: inout Decoding) {
        let boot = spec.boot
        guard !decoding.failed.contains("boot.modes"), !decoding.failed.contains("boot.default"),
            !boot.modes.contains(boot.defaultMode)
        else { return }
        let path = decoding.locations["boot.default"] != nil ? "boot.default" : "boot.modes"
        let modes = boot.modes.map(\.rawValue).joined(separator: ", ")
        let first = boot.modes.first?.rawValue ?? "auto"
        decoding.error(
            path, at: decoding.locations[path],
            "the default mode `\(boot.defaultMode.rawValue)` is not in boot.modes [\(modes)]",
            hint: "add `\(boot.defaultMode.rawValue)` to boot.modes, or set `default: \(first)`")
    }

    /// The range and the master must sit inside the network, and apart from each other: a master address
    /// the DHCP server hands out would be given to a client.
    private static func checkClusterNetwork(_ spec: Spec, _ decoding: inout Decoding) {
        let cluster = spec.cluster
        let keys = ["cluster.network", "cluster.dhcp-range", "cluster.master"]
        guard keys.allSatisfy({ !decoding.failed.contains($0) }) else { return }
        guard let network = cluster.network else {
            for key in keys.dropFirst() where decoding.locations[key] != nil && !isNullAt(key, spec, cluster) {
                decoding.error(
                    key, at: decoding.locations[key], "\(Decoding.leaf(key)) needs cluster.network",
                    hint: "set `network:` under `cluster:`, e.g. `network: 10.0.2.0/24`")
            }
            return
        }
        let hosts = network.hosts
        if let range = cluster.dhcpRange {
            for end in [range.first, range.last] where !(hosts?.contains(end) ?? false) {
                decoding.error(
                    "cluster.dhcp-range", at: decoding.locations["cluster.dhcp-range"],
                    "\(end) is not a host address of the cluster network \(network)",
                    hint: "choose a range inside \(network), e.g. the default \(defaultRange(network))")
                return
            }
        }
        if let master = cluster.master {
            if !(hosts?.contains(master) ?? false) {
                decoding.error(
                    "cluster.master", at: decoding.locations["cluster.master"],
                    "\(master) is not a host address of the cluster network \(network)",
                    hint: "give the master's address on \(network)")
            }
        }
        if let master = cluster.effectiveMaster, let range = cluster.effectiveDHCPRange, range.contains(master) {
            let key = cluster.dhcpRange != nil ? "cluster.dhcp-range" : "cluster.master"
            decoding.error(
                key, at: decoding.locations[key] ?? decoding.locations["cluster.network"],
                "the DHCP range \(range) contains the master's address \(master)",
                hint: "move the range or set cluster.master to the master's real address outside it")
        }
    }

    private static func isNullAt(_ key: String, _ spec: Spec, _ cluster: Spec.Cluster) -> Bool {
        key == "cluster.dhcp-range" ? cluster.dhcpRange == nil : cluster.master == nil
    }

    private static func defaultRange(_ network: IPv4Network) -> String {
        var cluster = Spec.Cluster()
        cluster.network = network
        return cluster.effectiveDHCPRange?.description ?? "FIRST-LAST"
    }

    static func inFileOrder(_ diagnostics: [SpecDiagnostic]) -> [SpecDiagnostic] {
        let unplaced = SourceLocation(line: Int.max, column: Int.max)
        return diagnostics.enumerated()
            .sorted { ($0.element.location ?? unplaced, $0.offset) < ($1.element.location ?? unplaced, $1.offset) }
            .map(\.element)
    }

    // MARK: - Composing YAML

    /// The root node (nil inside for an empty document), or nil after a syntax error.
    ///
    /// Yams stops at the first duplicate key and says only where its first occurrence is. To report
    /// every duplicate with its key path, that occurrence's first character is swapped for a private-use
    /// placeholder (same width, so every mark stays put) and the text composed again; `Decoding.entries`
    /// swaps it back and reports the duplicates while walking.
    static func compose(_ yaml: String, _ decoding: inout Decoding) -> Node?? {
        var text = yaml
        while true {
            do {
                return .some(try Yams.compose(yaml: text))
            } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
                let placeholder = Unicode.Scalar(0xE000 + UInt32(decoding.renamedKeys.count))
                guard let placeholder, decoding.renamedKeys.count < 0x1900,
                    let (renamed, original) = replaceKeyScalar(at: context.mark, in: text, with: placeholder)
                else {
                    let names = duplicates.map { "`\($0)`" }.joined(separator: ", ")
                    decoding.error(
                        "", at: SourceLocation(line: context.mark.line, column: context.mark.column),
                        "duplicate key \(names)", hint: "keep one of them")
                    return nil
                }
                decoding.renamedKeys[placeholder] = original
                text = renamed
            } catch {
                decoding.diagnostics.append(syntaxDiagnostic(error, yaml: yaml, file: decoding.file))
                return nil
            }
        }
    }

    private static func replaceKeyScalar(
        at mark: Mark, in text: String, with placeholder: Unicode.Scalar
    ) -> (String, Unicode.Scalar)? {
        var scalars = Array(text.unicodeScalars)
        // libyaml drops the byte order mark before it starts counting.
        var index = scalars.first == "\u{FEFF}" ? 1 : 0
        var line = 1
        var column = 1
        while index < scalars.count, line < mark.line || (line == mark.line && column < mark.column) {
            switch scalars[index] {
            case "\r":
                if index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
                line += 1
                column = 1
            case "\n", "\u{85}", "\u{2028}", "\u{2029}":
                line += 1
                column = 1
            default:
                column += 1
            }
            index += 1
        }
        guard index < scalars.count, line == mark.line, column == mark.column else { return nil }
        if scalars[index] == "\"" || scalars[index] == "'" {
            let quote = scalars[index]
            index += 1
            guard index < scalars.count, scalars[index] != quote else { return nil }
        }
        let original = scalars[index]
        // Anchors, tags, escapes and breaks would change meaning if replaced; give up on those.
        guard !"&!*\\ \t\r\n".unicodeScalars.contains(original) else { return nil }
        scalars[index] = placeholder
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return (String(view), original)
    }

    private static func syntaxDiagnostic(_ error: Error, yaml: String, file: String) -> SpecDiagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(line: mark.line, column: mark.column) }
        let generalHint =
            "check the indentation and quoting on this line and the one before; "
            + "quote values that contain `: ` or start with one of `{ [ * & ! | > % @`"
        func hint(for mark: Mark) -> String {
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            let nearby = lines.dropFirst(max(0, mark.line - 2)).prefix(2)
            return nearby.contains(where: { $0.contains("\t") })
                ? "YAML indents with spaces; replace the tabs" : generalHint
        }
        guard let yamlError = error as? YamlError else {
            return SpecDiagnostic(file: file, location: nil, keyPath: "", message: "invalid YAML: \(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            if problem.hasPrefix("but found another document") {
                return SpecDiagnostic(
                    file: file, location: at(mark), keyPath: "",
                    message: "a spec is one YAML document, but another one starts here",
                    hint: "remove this `---` line and what follows, or merge it into the first document")
            }
            let context = context.map { " (\($0.text) at \($0.mark))" } ?? ""
            return SpecDiagnostic(
                file: file, location: at(mark), keyPath: "", message: "invalid YAML: \(problem)\(context)",
                hint: hint(for: mark))
        case .reader(let problem, let offset, _, _):
            var location: SourceLocation?
            if let offset {
                let before = yaml.prefix(offset)
                let lineStart =
                    before.lastIndex(where: \.isNewline).map { before.index(after: $0) } ?? before.startIndex
                location = SourceLocation(
                    line: before.filter(\.isNewline).count + 1,
                    column: before[lineStart...].unicodeScalars.count + 1)
            }
            return SpecDiagnostic(
                file: file, location: location, keyPath: "", message: "unreadable text: \(problem)",
                hint: "remove control characters and save the file as UTF-8")
        default:
            return SpecDiagnostic(file: file, location: nil, keyPath: "", message: "invalid YAML: \(yamlError)")
        }
    }
}
