import AgentSupport

/// A position in the spec file, counted from 1 like every editor and compiler does.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Line number, starting at 1.
    public var line: Int
    /// Column number in Unicode scalars, starting at 1 (libyaml counts this way).
    public var column: Int

    /// Creates a location from a 1-based line and column.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`, the form editors jump to.
    public var description: String { "\(line):\(column)" }

    /// File order: by line, then column.
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

/// One problem in a spec: where it is, which key, what is wrong and how to fix it.
public struct SpecDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// The spec file as the user named it.
    public var file: String
    /// Where in the file; nil when the problem is about a default the file did not write.
    public var location: SourceLocation?
    /// Dotted key path with list indices (`boot.serial`, `files[2].source`); empty for the whole file.
    public var keyPath: String
    /// What is wrong, in one sentence.
    public var message: String
    /// How to fix it.
    public var hint: String?

    /// Creates a diagnostic; other modules use this to point at the key that caused their failure.
    public init(file: String, location: SourceLocation?, keyPath: String, message: String, hint: String? = nil) {
        self.file = file
        self.location = location
        self.keyPath = keyPath
        self.message = message
        self.hint = hint
    }

    /// `file:line:column: key.path: message` and an indented hint line, like a compiler prints.
    public var description: String {
        var text = file
        if let location { text += ":\(location)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        text += message
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}

/// Every problem found in a spec; parsing collects them all so one run shows the whole list.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems, in the order of the file.
    public var diagnostics: [SpecDiagnostic]

    /// Wraps several diagnostics into one error.
    public init(diagnostics: [SpecDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// An error with a single diagnostic.
    public init(file: String, location: SourceLocation?, keyPath: String, message: String, hint: String? = nil) {
        self.init(diagnostics: [
            SpecDiagnostic(file: file, location: location, keyPath: keyPath, message: message, hint: hint)
        ])
    }

    /// One diagnostic per line group, each with its hint.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}

extension SpecError: ClumpError {
    /// A spec or an inventory is the user's input to fix.
    public var exitCode: Int32 { 2 }
}
