#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file system calls this module makes, without Foundation (it links into the static
/// drone agent). Every call retries EINTR and fails with an ELFError naming the syscall.
enum FileSystem {
    enum Kind: Equatable { case regular, directory, symlink, other }

    static func readFile(_ path: String) throws -> [UInt8] {
        try readFile(path, limit: Int.max)
    }

    /// Reads at most `limit` bytes from the start of `path`.
    static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = try retrying("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var info = stat()
        _ = try retrying("fstat", path) { fstat(fd, &info) }
        let expected = min(limit, max(Int(info.st_size), 0))
        var result: [UInt8] = []
        result.reserveCapacity(expected)
        var buffer = [UInt8](repeating: 0, count: max(min(expected, 1 << 20), 4096))
        while result.count < limit {
            let want = min(buffer.count, limit - result.count)
            let got = try buffer.withUnsafeMutableBytes { raw in
                try retrying("read", path) { read(fd, raw.baseAddress, want) }
            }
            if got == 0 { break }
            result.append(contentsOf: buffer[0..<got])
        }
        return result
    }

    /// The kind of `path` itself (symlinks not followed), or nil if it does not exist.
    static func kind(_ path: String) throws -> Kind? {
        var info = stat()
        while lstat(path, &info) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == ENOENT || code == ENOTDIR { return nil }
            throw ELFError(.io, "cannot inspect the path", file: path, syscall: "lstat", errno: code)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try retrying("readlink", path) { readlink(path, &buffer, buffer.count - 1) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Entry names of a directory (without "." and ".."), sorted; nil if it does not exist.
    static func list(_ path: String) throws -> [String]? {
        guard let dir = opendir(path) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw ELFError(.io, "cannot list the directory", file: path, syscall: "opendir", errno: code)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Runs a libc call that returns -1 and sets errno on failure, retrying EINTR.
    @discardableResult
    static func retrying<T: BinaryInteger>(_ syscall: String, _ path: String, _ call: () -> T) throws -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw ELFError(.io, "cannot \(verb(syscall)) the file", file: path, syscall: syscall, errno: code)
        }
    }

    private static func verb(_ syscall: String) -> String {
        switch syscall {
        case "open": return "open"
        case "read": return "read"
        case "readlink": return "read the symbolic link of"
        default: return "inspect"
        }
    }
}

/// Paths inside a root directory, resolved the way the kernel would resolve them after a
/// chroot: absolute symlink targets restart at the root and ".." never climbs above it.
/// This is how an image tree or a mounted distribution is inspected from the outside.
public struct RootedFileSystem: Sendable {
    /// The host directory that plays "/", without a trailing slash ("" for the real root).
    public let prefix: String

    public init(root: String) {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        prefix = trimmed == "/" ? "" : trimmed
    }

    /// The host path of `path` (an absolute path inside the root), no symlinks resolved.
    public func host(_ path: String) -> String {
        prefix + Paths.normalize(path)
    }

    /// Resolves every symlink in `path` (inside the root); nil if some component does not exist.
    public func realPath(_ path: String) throws -> String? {
        var pending = Paths.components(path).reversed() as [String]
        var resolved: [String] = []
        var hops = 0
        while let component = pending.popLast() {
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = "/" + (resolved + [component]).joined(separator: "/")
            guard let kind = try FileSystem.kind(host(candidate)) else { return nil }
            if kind == .symlink {
                hops += 1
                if hops > 40 {  // the kernel's MAXSYMLINKS
                    throw ELFError(
                        .symlinkLoop, "too many levels of symbolic links resolving \(path)", file: host(path),
                        errno: ELOOP)
                }
                let target = try FileSystem.readLink(host(candidate))
                if target.hasPrefix("/") { resolved = [] }
                pending.append(contentsOf: Paths.components(target).reversed())
            } else {
                resolved.append(component)
            }
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// The kind of `path` after resolving symlinks in its directories but not in its last
    /// component, with the real path of its parent; nil if it does not exist.
    func lookup(_ path: String) throws -> (kind: FileSystem.Kind, realParent: String)? {
        let normal = Paths.normalize(path)
        guard normal != "/", let parent = try realPath(Paths.directory(of: normal)) else { return nil }
        let real = Paths.join(parent, Paths.base(of: normal))
        guard let kind = try FileSystem.kind(host(real)) else { return nil }
        return (kind, parent)
    }

    /// Expands shell-style wildcards in `pattern` (an absolute path inside the root) like
    /// glob(3): each component may contain `*`, `?`, `[...]`; matches come back sorted.
    func glob(_ pattern: String) throws -> [String] {
        var results = ["/"]
        for component in Paths.components(pattern) where !component.isEmpty && component != "." {
            var next: [String] = []
            for directory in results {
                if component.contains(where: { "*?[".contains($0) }) {
                    guard let real = try realPath(directory), let names = try FileSystem.list(host(real)) else {
                        continue
                    }
                    for name in names where !name.hasPrefix(".") || component.hasPrefix(".") {
                        if fnmatch(component, name, 0) == 0 { next.append(Paths.join(directory, name)) }
                    }
                } else {
                    let candidate = Paths.join(directory, component)
                    if try realPath(candidate) != nil { next.append(candidate) }
                }
            }
            results = next
        }
        return results.filter { $0 != "/" }
    }
}

/// Pure path string helpers (no file system access).
enum Paths {
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// Removes "." and empty components and applies ".." lexically; the result is absolute.
    static func normalize(_ path: String) -> String {
        var parts: [String] = []
        for component in components(path) {
            switch component {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func join(_ directory: String, _ name: String) -> String {
        if name.hasPrefix("/") { return normalize(name) }
        return normalize(directory + "/" + name)
    }

    static func directory(of path: String) -> String {
        let normal = normalize(path)
        guard let slash = normal.lastIndex(of: "/"), slash != normal.startIndex else { return "/" }
        return String(normal[..<slash])
    }

    static func base(of path: String) -> String {
        let normal = normalize(path)
        guard let slash = normal.lastIndex(of: "/") else { return normal }
        return String(normal[normal.index(after: slash)...])
    }
}
