/// The kernel command line (`/proc/cmdline`), split exactly as the kernel splits it for
/// itself (`next_arg()` and `parse_args()` in kernel/params.c), so `clump.mode=expert` means
/// the same to us as to the kernel:
///
/// - parameters are separated by whitespace outside double quotes;
/// - a parameter is `key` or `key=value`, split at the first `=`;
/// - a leading quote of the parameter or of its value is dropped, with the matching final quote
///   (`"a b"`, `key="a b"`); other quotes stay;
/// - everything after a bare `--` is not for the kernel: it is passed to init as arguments.
///
/// The kernel does not hand dotted keys such as `clump.mode` to init (neither as arguments nor
/// as environment), which is why the agent reads /proc/cmdline at all.
public struct KernelCommandLine: Equatable, Sendable {
    /// One `key` or `key=value` parameter.
    public struct Parameter: Equatable, Sendable {
        /// The name before the first `=`.
        public var key: String
        /// The text after the first `=`, or nil for a bare flag (`quiet`).
        public var value: String?

        /// Creates a parameter.
        public init(key: String, value: String? = nil) {
            self.key = key
            self.value = value
        }
    }

    /// The kernel's parameters, in order.
    public var parameters: [Parameter]
    /// The words after `--`, which the kernel passes to init as arguments.
    public var initArguments: [String]

    /// Creates a command line from its parts.
    public init(parameters: [Parameter] = [], initArguments: [String] = []) {
        self.parameters = parameters
        self.initArguments = initArguments
    }

    /// Parses the text of /proc/cmdline.
    public init(parsing text: String) {
        self.init()
        var afterSeparator = false
        for word in Self.words(Array(text.utf8)) {
            let parameter = Self.parameter(word)
            if afterSeparator {
                // The kernel parses init arguments the same way and joins key and value again
                // (`set_init_arg()`, `repair_env_string()` in init/main.c).
                initArguments.append(parameter.key + (parameter.value.map { "=" + $0 } ?? ""))
                continue
            }
            if parameter.key == "--" && parameter.value == nil {
                afterSeparator = true
            } else {
                parameters.append(parameter)
            }
        }
    }

    /// The value of the last `key` parameter (later parameters win, as in the kernel):
    /// nil when absent, `.some(nil)` for a bare flag.
    public func value(_ key: String) -> String?? {
        guard let parameter = parameters.last(where: { $0.key == key }) else { return nil }
        return .some(parameter.value)
    }

    /// Whether the bare flag or parameter `key` is present.
    public func contains(_ key: String) -> Bool {
        parameters.contains { $0.key == key }
    }

    /// The `clump.*` parameters without the prefix, last one winning; a bare flag maps to "".
    /// Dashes become underscores, because the kernel treats `-` and `_` in parameter names alike
    /// (`parameq()`), so `clump.boot-wait` and `clump.boot_wait` are the same key.
    public var clumpOptions: [String: String] {
        var options: [String: String] = [:]
        for parameter in parameters where parameter.key.hasPrefix("clump.") {
            let name = String(parameter.key.dropFirst("clump.".count).map { $0 == "-" ? "_" : $0 })
            options[name] = parameter.value ?? ""
        }
        return options
    }

    /// The value of a contract argument, as `clumpOptions` has it (a bare flag is "").
    public func value(_ argument: BootArgument) -> String? { clumpOptions[argument.option] }

    /// Text for a command line: parameters joined with spaces, a value with whitespace in
    /// double quotes (`key="a b"`), which is how `init(parsing:)` and the kernel read it back.
    /// The kernel has no escape for a quote, so a value with both a quote and whitespace does
    /// not survive the trip (nothing we write holds one).
    public var rendered: String {
        var words = parameters.map { parameter -> String in
            guard let value = parameter.value else { return parameter.key }
            return parameter.key + "=" + (value.contains(where: { Self.isSpace($0) }) ? "\"\(value)\"" : value)
        }
        if !initArguments.isEmpty { words += ["--"] + initArguments }
        return words.joined(separator: " ")
    }

    private static func isSpace(_ character: Character) -> Bool {
        character.asciiValue.map(isSpace) ?? false
    }

    private static let quote = UInt8(ascii: "\"")

    /// Splits at whitespace outside quotes; every quote toggles "inside quotes" (`next_arg()`).
    private static func words(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var words: [ArraySlice<UInt8>] = []
        var index = 0
        while index < bytes.count {
            while index < bytes.count && isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { break }
            let start = index
            var inQuotes = false
            while index < bytes.count && (inQuotes || !isSpace(bytes[index])) {
                if bytes[index] == quote { inQuotes.toggle() }
                index += 1
            }
            words.append(bytes[start..<index])
        }
        return words
    }

    /// Splits one word into key and value and drops the quotes the kernel drops.
    private static func parameter(_ word: ArraySlice<UInt8>) -> Parameter {
        var rest = word
        let quoted = rest.first == quote
        if quoted { rest = rest.dropFirst() }
        let endsWithQuote = rest.last == quote
        guard let equals = rest.firstIndex(of: UInt8(ascii: "=")) else {
            if quoted && endsWithQuote { rest = rest.dropLast() }
            return Parameter(key: string(rest))
        }
        let key = rest[rest.startIndex..<equals]
        var value = rest[(equals + 1)...]
        var dropFinalQuote = quoted
        if value.first == quote {
            value = value.dropFirst()
            dropFinalQuote = true
        }
        if dropFinalQuote && endsWithQuote && !value.isEmpty { value = value.dropLast() }
        return Parameter(key: string(key), value: string(value))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    private static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
