/// One loadable kernel module, as modules.dep lists it.
public struct KernelModule: Hashable, Sendable, CustomStringConvertible {
    /// The normalised name: file name without `.ko*`, `-` replaced by `_` (as the kernel does).
    public let name: String
    /// The path as written in modules.dep, relative to `lib/modules/<release>/`.
    public let path: String
    /// Names of the modules this one needs, in modules.dep order: depmod writes them so that
    /// the last one must be loaded first.
    public let dependencies: [String]

    public init(name: String, path: String, dependencies: [String]) {
        self.name = name
        self.path = path
        self.dependencies = dependencies
    }

    public var description: String { name }
}

/// The text indexes depmod writes in `lib/modules/<release>/`: modules.dep, modules.alias,
/// modules.builtin and modules.softdep. Parsed from bytes, queried purely, written back
/// filtered to the modules an image ships.
public struct ModuleIndex: Sendable {
    /// One `alias PATTERN MODULE` line.
    public struct Alias: Hashable, Sendable {
        public let pattern: String
        public let module: String
    }

    /// One `softdep MODULE pre: A B post: C` line. Targets may be module names or aliases.
    public struct SoftDependency: Hashable, Sendable {
        public let module: String
        public let pre: [String]
        public let post: [String]
    }

    /// The root the index was loaded from ("/" for the host), nil if built from memory.
    public let root: String?
    /// The kernel release (`lib/modules/<release>`), nil if built from memory.
    public let release: String?
    /// The modules directory the index was read from, when it is not `<root>/lib/modules/<release>`
    /// (a kernel built into the cache); module files are looked up there.
    public let modulesDirectory: String?
    /// Every loadable module, in modules.dep order.
    public let modules: [KernelModule]
    /// Paths of the modules built into the kernel (modules.builtin), in file order.
    public let builtinPaths: [String]
    public let softDependencies: [SoftDependency]

    private let byName: [String: Int]
    private let builtinNames: Set<String>
    private let aliasTable: AliasTable

    // MARK: - Loading

    /// Reads the indexes of `release` (default: the newest release installed) under `root`.
    /// modules.dep is required; the others are optional, as they are for modprobe.
    public static func load(root: String = "/", release: String? = nil) throws -> ModuleIndex {
        let chosen = try release ?? newestRelease(root: root)
        let directory = Files.join(root, "lib/modules/\(chosen)")
        guard let dep = try Files.readIfPresent(directory + "/modules.dep") else {
            throw KernelError(
                .noKernel, "there is no modules.dep for kernel \(chosen)", file: directory + "/modules.dep",
                hint: Files.isDirectory(directory)
                    ? "run depmod \(chosen)" : "install the kernel's modules (linux-image-amd64 on Debian)")
        }
        return try ModuleIndex(
            dep: dep, alias: try Files.readIfPresent(directory + "/modules.alias") ?? [],
            builtin: try Files.readIfPresent(directory + "/modules.builtin") ?? [],
            softdep: try Files.readIfPresent(directory + "/modules.softdep") ?? [],
            directory: directory, root: root, release: chosen)
    }

    /// Releases under `<root>/lib/modules` that have a modules.dep, oldest first (by the
    /// numbers in their names: 6.1.0-10 is newer than 6.1.0-9).
    public static func releases(root: String = "/") throws -> [String] {
        let base = Files.join(root, "lib/modules")
        let names = try Files.list(base) ?? []
        var found: [String] = []
        for name in names where try Files.size(base + "/" + name + "/modules.dep") != nil {
            found.append(name)
        }
        return found.sorted { compareVersions($0, $1) }
    }

    /// The newest release under `<root>/lib/modules`.
    public static func newestRelease(root: String = "/") throws -> String {
        guard let newest = try releases(root: root).last else {
            throw KernelError(
                .noKernel, "no kernel modules are installed", file: Files.join(root, "lib/modules"),
                hint: "install linux-image-amd64 (or point the root at a tree that has lib/modules/<release>)")
        }
        return newest
    }

    /// Parses index texts; `directory` names the files in errors.
    public init(
        dep: [UInt8], alias: [UInt8] = [], builtin: [UInt8] = [], softdep: [UInt8] = [], directory: String = "",
        root: String? = nil, release: String? = nil
    ) throws {
        self.root = root
        self.release = release
        self.modulesDirectory = root == nil && !directory.isEmpty ? directory : nil
        let prefix = directory.isEmpty ? "" : directory + "/"

        // modules.dep: "kernel/path/name.ko: kernel/path/dep.ko kernel/path/other.ko"
        var modules: [KernelModule] = []
        var byName: [String: Int] = [:]
        var lines: [(slice: ArraySlice<UInt8>, number: Int)] = []
        modules.reserveCapacity(dep.count / 80)
        try Self.forEachLine(dep) { line, number in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw KernelError(
                    .syntax, "expected 'path.ko: dependencies...'", file: prefix + "modules.dep", line: number,
                    hint: "regenerate it with depmod")
            }
            let path = Self.string(line[line.startIndex..<colon]).trimmingSpaces()
            let name = Self.moduleName(path: path)
            guard !path.isEmpty, byName[name] == nil else {
                throw KernelError(
                    .syntax, path.isEmpty ? "empty module path" : "module \(name) is listed twice",
                    file: prefix + "modules.dep", line: number)
            }
            let deps = line[(colon + 1)...].split(whereSeparator: { $0 == 32 || $0 == 9 }).map(Self.moduleName(bytes:))
            byName[name] = modules.count
            modules.append(KernelModule(name: name, path: path, dependencies: deps))
            lines.append((line, number))
        }
        for (index, module) in modules.enumerated() {
            for dependency in module.dependencies where byName[dependency] == nil {
                let (line, number) = lines[index]
                let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.startIndex
                let path =
                    line[(colon + 1)...].split(whereSeparator: { $0 == 32 || $0 == 9 })
                    .map(Self.string).first { Self.moduleName(path: $0) == dependency } ?? dependency
                throw KernelError(
                    .syntax, "\(module.name) depends on \(path), which has no line of its own",
                    file: prefix + "modules.dep", line: number, hint: "regenerate it with depmod")
            }
        }
        self.modules = modules
        self.byName = byName

        var builtinPaths: [String] = []
        try Self.forEachLine(builtin) { line, _ in builtinPaths.append(Self.string(line).trimmingSpaces()) }
        self.builtinPaths = builtinPaths
        builtinNames = Set(builtinPaths.map(Self.moduleName(path:)))

        aliasTable = try AliasTable(parsing: alias, file: prefix + "modules.alias")

        // modules.softdep: "softdep MODULE pre: A B post: C". Like kmod, words before the first
        // "pre:" or "post:" are ignored (Debian 12 has "softdep cifs gcm" lines).
        var softDependencies: [SoftDependency] = []
        try Self.forEachLine(softdep) { line, number in
            let words = line.split(whereSeparator: { $0 == 32 || $0 == 9 }).map(Self.string)
            guard words.count >= 2, words[0] == "softdep" else {
                throw KernelError(
                    .syntax, "expected 'softdep MODULE pre: ... post: ...'", file: prefix + "modules.softdep",
                    line: number)
            }
            var pre: [String] = []
            var post: [String] = []
            var mode = 0
            for word in words.dropFirst(2) {
                switch word {
                case "pre:": mode = 1
                case "post:": mode = 2
                default:
                    if mode == 1 { pre.append(word) } else if mode == 2 { post.append(word) }
                }
            }
            if !pre.isEmpty || !post.isEmpty {
                softDependencies.append(
                    SoftDependency(module: Self.normalize(words[1]), pre: pre, post: post))
            }
        }
        self.softDependencies = softDependencies
    }

    /// Convenience for tests and literals.
    public init(dep: String, alias: String = "", builtin: String = "", softdep: String = "") throws {
        try self.init(
            dep: Array(dep.utf8), alias: Array(alias.utf8), builtin: Array(builtin.utf8), softdep: Array(softdep.utf8))
    }

    // MARK: - Queries

    /// Every alias line, in file order.
    public var aliases: [Alias] { aliasTable.all }

    /// The module called `name` (`-` or `_` alike), nil if there is none or it is built in.
    public func module(named name: String) -> KernelModule? {
        byName[Self.normalize(name)].map { modules[$0] }
    }

    /// True if `name` is built into the kernel (modules.builtin).
    public func isBuiltin(_ name: String) -> Bool {
        builtinNames.contains(Self.normalize(name))
    }

    /// Modules whose modules.alias patterns match `modalias` (a device's
    /// `/sys/.../modalias`, or a name like `crypto-crc32c`), in file order, each once.
    public func match(modalias: String) -> [String] {
        aliasTable.match(modalias)
    }

    /// Modules with at least one alias on `bus` ("pci", "usb", "virtio", ...).
    public func modules(onBus bus: String) -> Set<String> {
        aliasTable.modules(onBus: bus)
    }

    /// Aliases of the module `name`, in file order.
    public func aliases(of name: String) -> [String] {
        aliasTable.patterns(of: Self.normalize(name))
    }

    /// The modules to load for `names`, in load order: dependencies first, each module once.
    /// Built-in modules are skipped (nothing to load). With `softDependencies`, `pre:` soft
    /// dependencies come before their module and `post:` ones after, as modprobe loads them;
    /// soft dependencies that name nothing shipped are ignored, as modprobe ignores them, and
    /// so are soft dependencies on `excluding`.
    public func closure(of names: [String], softDependencies: Bool = true, excluding: Set<String> = [])
        throws -> [KernelModule]
    {
        var state = ClosureState()
        state.softExcluded = Set(excluding.map(Self.normalize))
        for name in names {
            let normal = Self.normalize(name)
            if builtinNames.contains(normal) { continue }
            guard let index = byName[normal] else {
                throw unknown(name)
            }
            try visit(index, state: &state, soft: softDependencies, path: [])
        }
        return state.order.map { modules[$0] }
    }

    private struct ClosureState {
        var order: [Int] = []
        var done: Set<Int> = []
        var active: Set<Int> = []
        var softExcluded: Set<String> = []
    }

    private func visit(_ index: Int, state: inout ClosureState, soft: Bool, path: [String]) throws {
        if state.done.contains(index) { return }
        let module = modules[index]
        if state.active.contains(index) {
            throw KernelError(
                .dependencyCycle, "modules.dep loops: " + (path + [module.name]).joined(separator: " -> "),
                hint: "regenerate it with depmod")
        }
        state.active.insert(index)
        let softdep = soft ? softDependencies.first { $0.module == module.name } : nil
        for target in softdep?.pre ?? [] {
            for found in resolveSoft(target)
            where !state.active.contains(found) && !state.softExcluded.contains(modules[found].name) {
                try visit(found, state: &state, soft: soft, path: path + [module.name])
            }
        }
        // modules.dep lists dependencies so that the last must be loaded first; visiting each
        // recursively makes the order right even for hand-written files.
        for dependency in module.dependencies.reversed() {
            guard let found = byName[dependency] else { continue }
            try visit(found, state: &state, soft: soft, path: path + [module.name])
        }
        state.active.remove(index)
        state.done.insert(index)
        state.order.append(index)
        for target in softdep?.post ?? [] {
            for found in resolveSoft(target)
            where !state.active.contains(found) && !state.softExcluded.contains(modules[found].name) {
                try visit(found, state: &state, soft: soft, path: path + [module.name])
            }
        }
    }

    /// A soft dependency names a module or an alias (`crypto-crc32c`, `platform:idma64`).
    private func resolveSoft(_ target: String) -> [Int] {
        if let index = byName[Self.normalize(target)] { return [index] }
        return match(modalias: target).compactMap { byName[$0] }
    }

    func unknown(_ name: String) -> KernelError {
        let nearest = nearestNames(to: Self.normalize(name), in: modules.map(\.name))
        return KernelError(
            .unknownName, "there is no module called \(name)" + (release.map { " in kernel \($0)" } ?? ""),
            hint: nearest.isEmpty ? nil : "did you mean " + nearest.joined(separator: ", ") + "?")
    }

    /// The host path of `module`'s file.
    public func hostPath(of module: KernelModule) -> String {
        if module.path.hasPrefix("/") { return Files.join(root ?? "/", module.path) }
        if let modulesDirectory { return modulesDirectory + "/" + module.path }
        return Files.join(root ?? "/", "lib/modules/\(release ?? "unknown")/\(module.path)")
    }

    /// The sum of the sizes of the files of `modules`, as they are on the host.
    public func totalSize(of modules: [KernelModule]) throws -> Int {
        var total = 0
        for module in modules {
            guard let size = try Files.size(hostPath(of: module)) else {
                throw KernelError(
                    .io, "the module file is missing", file: hostPath(of: module), syscall: "stat", errno: 2,
                    hint: "modules.dep and the installed modules disagree; reinstall the kernel package")
            }
            total += size
        }
        return total
    }

    // MARK: - Names

    /// The kernel's name for a module path or name: base name up to ".ko", `-` as `_`.
    public static func moduleName(path: String) -> String {
        moduleName(bytes: ArraySlice(path.utf8))
    }

    /// `moduleName(path:)` over bytes: modules.dep has ~15,000 paths to name.
    static func moduleName(bytes: ArraySlice<UInt8>) -> String {
        var start = bytes.startIndex
        var end = bytes.endIndex
        if let slash = bytes.lastIndex(of: UInt8(ascii: "/")) { start = slash + 1 }
        var index = start
        while index + 2 < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "."), bytes[index + 1] == UInt8(ascii: "k"),
                bytes[index + 2] == UInt8(ascii: "o")
            {
                end = index
                break
            }
            index += 1
        }
        return String(
            decoding: bytes[start..<end].lazy.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }

    /// `-` and `_` are the same in module names (kmod's modname_normalize).
    public static func normalize(_ name: String) -> String {
        name.contains("-") ? String(name.map { $0 == "-" ? "_" : $0 }) : name
    }

    // MARK: - Parsing helpers

    /// Calls `body` for each line that is neither empty nor a `#` comment, with its 1-based number.
    static func forEachLine(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>, Int) throws -> Void) rethrows {
        var start = 0
        var number = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != 10 { end += 1 }
            var line = bytes[start..<end]
            if line.last == 13 { line = line.dropLast() }
            if let first = line.first(where: { $0 != 32 && $0 != 9 }), first != UInt8(ascii: "#") {
                try body(line, number)
            }
            start = end + 1
        }
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Orders release names by their numeric runs, then by text: 6.1.0-9 < 6.1.0-10 < 6.10.0.
    static func compareVersions(_ a: String, _ b: String) -> Bool {
        func numbers(_ s: String) -> [Int] {
            s.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        }
        let (x, y) = (numbers(a), numbers(b))
        for (m, n) in zip(x, y) where m != n { return m < n }
        if x.count != y.count { return x.count < y.count }
        return a < b
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
