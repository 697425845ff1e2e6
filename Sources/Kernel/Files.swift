#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file system calls of this module, without Foundation (it links into the static drone
/// agent). Every call retries EINTR and fails with a KernelError naming the syscall. Public so
/// NetProbe reads sysfs with the same calls.
public enum Files {
    public static func readAll(_ path: String) throws -> [UInt8] {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("fstat", path) }
        var result: [UInt8] = []
        result.reserveCapacity(max(Int(info.st_size), 0))
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }

    /// Reads `path` if it exists, nil if it does not.
    public static func readIfPresent(_ path: String) throws -> [UInt8]? {
        guard try size(path) != nil else { return nil }
        return try readAll(path)
    }

    /// The size of the regular file at `path` (symlinks followed), nil if there is none.
    public static func size(_ path: String) throws -> Int? {
        var info = stat()
        while stat(path, &info) != 0 {
            if errno == EINTR { continue }
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure("stat", path)
        }
        return info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) : nil
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Entry names (without "." and ".."), sorted; nil if the directory does not exist.
    public static func list(_ path: String) throws -> [String]? {
        guard let dir = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure("opendir", path)
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

    static func failure(_ syscall: String, _ path: String) -> KernelError {
        let code = errno
        return KernelError(
            .io, syscall == "open" || syscall == "read" ? "cannot read the file" : "cannot inspect the path",
            file: path, syscall: syscall, errno: code,
            hint: code == EACCES ? "run with permission to read it" : nil)
    }

    /// `root` + `path`, with exactly one slash between them.
    public static func join(_ root: String, _ path: String) -> String {
        var base = root
        while base.hasSuffix("/") { base.removeLast() }
        var rest = Substring(path)
        while rest.hasPrefix("/") { rest = rest.dropFirst() }
        return base + "/" + rest
    }

    /// The target of the symbolic link at `path` as written in the link; nil if `path` is not a link.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBufferPointer { pointer -> Int in
            guard let base = pointer.baseAddress else { return -1 }
            return readlink(path, base, pointer.count - 1)
        }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path` with every symbolic link resolved (realpath(3)); nil if it does not exist.
    public static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// True if something (file, directory, link target) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
