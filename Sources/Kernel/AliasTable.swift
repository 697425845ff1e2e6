/// modules.alias, kept as byte ranges into the file itself so that parsing Debian's 26,000
/// lines allocates almost nothing, and bucketed by bus ("pci", "usb", ...) so that matching a
/// modalias only tries the patterns of its bus.
struct AliasTable: Sendable {
    private let storage: [UInt8]
    private let starts: [Int32]
    private let ends: [Int32]
    /// How many bytes at the start of each pattern contain no wildcard: a cheap pre-check.
    private let literalPrefix: [Int32]
    private let moduleOf: [Int32]
    private let names: [String]
    private let nameIndex: [String: Int32]
    /// Pattern indexes by the literal text before the first ':' ("pci", "usb", "virtio").
    private let buckets: [String: [Int32]]
    /// Patterns without a literal bus prefix (`acpi*:PNP0C0A:*`, `crypto-crc32c`).
    private let unbucketed: [Int32]

    init(parsing bytes: [UInt8], file: String) throws {
        var starts: [Int32] = []
        var ends: [Int32] = []
        var literalPrefix: [Int32] = []
        var moduleOf: [Int32] = []
        var names: [String] = []
        var nameIndex: [String: Int32] = [:]
        var buckets: [String: [Int32]] = [:]
        var unbucketed: [Int32] = []
        let estimate = bytes.count / 60
        starts.reserveCapacity(estimate)
        ends.reserveCapacity(estimate)
        literalPrefix.reserveCapacity(estimate)
        moduleOf.reserveCapacity(estimate)

        try bytes.withUnsafeBufferPointer { buffer in
            let count = buffer.count
            var position = 0
            var lineNumber = 0
            var previousName: Range<Int> = 0..<0
            var previousNameIndex: Int32 = -1
            var previousBus: Range<Int> = 0..<0
            var previousBusKey = ""

            func isBlank(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 }
            func isWildcard(_ byte: UInt8) -> Bool { byte == 42 || byte == 63 || byte == 91 || byte == 92 }
            func same(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
                guard a.count == b.count else { return false }
                for offset in 0..<a.count where buffer[a.lowerBound + offset] != buffer[b.lowerBound + offset] {
                    return false
                }
                return true
            }

            while position < count {
                lineNumber += 1
                var end = position
                while end < count && buffer[end] != 10 { end += 1 }
                defer { position = end + 1 }

                // Fields: "alias" PATTERN MODULE
                var fields: [Range<Int>] = []
                var cursor = position
                while cursor < end && fields.count < 4 {
                    while cursor < end && isBlank(buffer[cursor]) { cursor += 1 }
                    if cursor >= end { break }
                    let start = cursor
                    while cursor < end && !isBlank(buffer[cursor]) { cursor += 1 }
                    fields.append(start..<cursor)
                }
                guard let first = fields.first, buffer[first.lowerBound] != UInt8(ascii: "#") else { continue }
                let isAlias =
                    first.count == 5 && buffer[first.lowerBound] == 97 && buffer[first.lowerBound + 1] == 108
                    && buffer[first.lowerBound + 2] == 105 && buffer[first.lowerBound + 3] == 97
                    && buffer[first.lowerBound + 4] == 115
                guard isAlias, fields.count == 3 else {
                    throw KernelError(
                        .syntax, "expected 'alias PATTERN MODULE'", file: file, line: lineNumber,
                        column: first.lowerBound - position + 1, hint: "regenerate it with depmod")
                }
                let pattern = fields[1]
                let name = fields[2]

                if !same(name, previousName) || previousNameIndex < 0 {
                    let text = ModuleIndex.normalize(String(decoding: buffer[name], as: UTF8.self))
                    if let index = nameIndex[text] {
                        previousNameIndex = index
                    } else {
                        previousNameIndex = Int32(names.count)
                        nameIndex[text] = previousNameIndex
                        names.append(text)
                    }
                    previousName = name
                }

                var literal = pattern.lowerBound
                var colon = -1
                while literal < pattern.upperBound && !isWildcard(buffer[literal]) {
                    if colon < 0 && buffer[literal] == UInt8(ascii: ":") { colon = literal }
                    literal += 1
                }
                let index = Int32(starts.count)
                starts.append(Int32(pattern.lowerBound))
                ends.append(Int32(pattern.upperBound))
                literalPrefix.append(Int32(literal - pattern.lowerBound))
                moduleOf.append(previousNameIndex)
                if colon >= 0 {
                    let bus = pattern.lowerBound..<colon
                    if !same(bus, previousBus) || previousBusKey.isEmpty {
                        previousBusKey = String(decoding: buffer[bus], as: UTF8.self)
                        previousBus = bus
                    }
                    buckets[previousBusKey, default: []].append(index)
                } else {
                    unbucketed.append(index)
                }
            }
        }
        storage = bytes
        self.starts = starts
        self.ends = ends
        self.literalPrefix = literalPrefix
        self.moduleOf = moduleOf
        self.names = names
        self.nameIndex = nameIndex
        self.buckets = buckets
        self.unbucketed = unbucketed
    }

    var count: Int { starts.count }

    var all: [ModuleIndex.Alias] {
        (0..<starts.count).map { ModuleIndex.Alias(pattern: pattern($0), module: names[Int(moduleOf[$0])]) }
    }

    func pattern(_ index: Int) -> String {
        String(decoding: storage[Int(starts[index])..<Int(ends[index])], as: UTF8.self)
    }

    func module(_ index: Int) -> String { names[Int(moduleOf[index])] }

    func patterns(of name: String) -> [String] {
        guard let wanted = nameIndex[name] else { return [] }
        return (0..<starts.count).filter { moduleOf[$0] == wanted }.map(pattern)
    }

    /// Indexes of aliases of `name`, in file order.
    func indexes(of name: String) -> [Int] {
        guard let wanted = nameIndex[name] else { return [] }
        return (0..<starts.count).filter { moduleOf[$0] == wanted }
    }

    /// Modules with at least one alias on `bus` ("pci" for `pci:v...`).
    func modules(onBus bus: String) -> Set<String> {
        Set((buckets[bus] ?? []).map { names[Int(moduleOf[Int($0)])] })
    }

    func match(_ modalias: String) -> [String] {
        var text = modalias
        let bus: String
        if let colon = modalias.firstIndex(of: ":") { bus = String(modalias[..<colon]) } else { bus = "" }
        let bucket = buckets[bus] ?? []
        var found: [Int32] = []
        var seen: Set<Int32> = []
        storage.withUnsafeBufferPointer { all in
            text.withUTF8 { t in
                var i = 0
                var j = 0
                // Merge the two ascending lists so results keep file order.
                while i < bucket.count || j < unbucketed.count {
                    let index: Int32
                    if j >= unbucketed.count || (i < bucket.count && bucket[i] < unbucketed[j]) {
                        index = bucket[i]
                        i += 1
                    } else {
                        index = unbucketed[j]
                        j += 1
                    }
                    let start = Int(starts[Int(index)])
                    let prefix = Int(literalPrefix[Int(index)])
                    if prefix > t.count { continue }
                    var same = true
                    for offset in 0..<prefix where all[start + offset] != t[offset] {
                        same = false
                        break
                    }
                    guard same else { continue }
                    let pattern = UnsafeBufferPointer(rebasing: all[start..<Int(ends[Int(index)])])
                    if Glob.matches(pattern, t) {
                        let module = moduleOf[Int(index)]
                        if seen.insert(module).inserted { found.append(module) }
                    }
                }
            }
        }
        return found.map { names[Int($0)] }
    }
}
