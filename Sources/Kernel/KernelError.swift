import AgentSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything that can go wrong reading module indexes, module files, firmware and kernel
/// configs, with where it happened: file and line, the syscall and errno, and a hint.
public struct KernelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The classes of failure a caller may want to tell apart.
    public enum Kind: Equatable, Sendable {
        /// A system call failed; see `syscall` and `errno`.
        case io
        /// A line of modules.dep/alias/builtin/softdep or of a kernel config does not parse.
        case syntax
        /// A module, group or option name that does not exist; the message lists the nearest.
        case unknownName
        /// modules.dep loops back on itself.
        case dependencyCycle
        /// A module to ship needs one that is excluded or not shipped.
        case inconsistentSelection
        /// No kernel modules installed under the root.
        case noKernel
        /// A module file could not be read as ELF or decompressed.
        case badModuleFile
    }

    public var kind: Kind
    public var message: String
    public var file: String?
    /// 1-based line (and column) in `file`.
    public var line: Int?
    public var column: Int?
    public var syscall: String?
    public var errno: Int32?
    public var hint: String?

    public init(
        _ kind: Kind, _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil,
        syscall: String? = nil, errno: Int32? = nil, hint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.syscall = syscall
        self.errno = errno
        self.hint = hint
    }

    public var description: String {
        var text = ""
        if let file {
            text += file
            if let line {
                text += ":\(line)"
                if let column { text += ":\(column)" }
            }
            text += ": "
        }
        text += message
        if let syscall {
            text += " (\(syscall)"
            if let errno { text += ": \(String(cString: strerror(errno))), errno \(errno)" }
            text += ")"
        }
        if let hint { text += "; hint: \(hint)" }
        return text
    }
}

/// The names in `candidates` closest to `name` (Levenshtein distance), best first: what
/// "unknown module" errors suggest.
func nearestNames(to name: String, in candidates: [String], count: Int = 3) -> [String] {
    let target = Array(name.utf8)
    var scored: [(distance: Int, name: String)] = []
    for candidate in Set(candidates) {
        let other = Array(candidate.utf8)
        // Substring matches ("e1000" for "e1000e") rank just after exact typos of one letter.
        let distance = other.count >= target.count && contains(other, target) ? 1 : editDistance(target, other)
        scored.append((distance, candidate))
    }
    scored.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.name < $1.name }
    return scored.prefix(count).map(\.name)
}

/// Whether `needle` occurs in `haystack` (String.contains(String) needs _StringProcessing,
/// which the static agent does not link).
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    if needle.isEmpty { return true }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<start + needle.count].elementsEqual(needle) {
        return true
    }
    return false
}

func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

extension KernelError: ClumpError {}
