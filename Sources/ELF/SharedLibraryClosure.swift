#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What must be copied into an image so a dynamically linked binary runs there: its
/// interpreter and every needed library, recursively, found the way ld.so(8) finds them.
///
/// ldd is never run: it executes the binary's interpreter, which is unsafe for untrusted files
/// and impossible for a foreign root. Instead each object's DT_NEEDED is searched in ld.so's
/// order (ld.so(8), "Shared objects"):
///
/// 1. DT_RPATH of the requesting object, then of the object that loaded it, up to the
///    executable -- only if the requesting object has no DT_RUNPATH (and skipping objects in
///    the chain that have one);
/// 2. (LD_LIBRARY_PATH: an environment setting of the running system, not of the image);
/// 3. DT_RUNPATH of the requesting object only;
/// 4. ld.so.cache, which the image will not have: we search the `etc/ld.so.conf` directories;
/// 5. the system directories (`ld.so --help` on Debian 12: /lib/x86_64-linux-gnu,
///    /usr/lib/x86_64-linux-gnu, /lib, /usr/lib).
///
/// A name already loaded (by SONAME or by needed name) is not searched again, which is how
/// libc's DT_NEEDED on ld-linux-x86-64.so.2 finds the interpreter. Candidates of another ELF
/// class or machine are skipped, as ld.so skips them. glibc-hwcaps subdirectories are not
/// searched: the baseline libraries in the plain directories run on every x86-64.
///
/// Paths in the image are the paths ld.so would open (`/lib/x86_64-linux-gnu/libc.so.6`,
/// not `/usr/lib/...` on a merged-/usr host): directory symlinks of the host are resolved
/// only to find the content, because the image has its own directory layout (a real
/// `/lib/modules`). Symlinks in the last component are kept as symlinks, and what they point
/// at is copied too: `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`.
public enum SharedLibraryClosure {
    /// One thing to put into the image.
    public struct Entry: Hashable, Sendable, CustomStringConvertible {
        /// Absolute path inside the image.
        public var pathInImage: String
        /// Host path to read (the file itself, or the symlink when `symlinkTarget` is set).
        public var hostPath: String
        /// When non-nil, create a symlink with exactly this target instead of copying a file.
        public var symlinkTarget: String?

        public var isSymlink: Bool { symlinkTarget != nil }

        public init(pathInImage: String, hostPath: String, symlinkTarget: String? = nil) {
            self.pathInImage = pathInImage
            self.hostPath = hostPath
            self.symlinkTarget = symlinkTarget
        }

        public var description: String {
            if let symlinkTarget { return "\(pathInImage) -> \(symlinkTarget)" }
            return "\(pathInImage) (from \(hostPath))"
        }
    }

    /// Debian's multiarch tuple for x86-64.
    public static let multiarch = "x86_64-linux-gnu"

    /// ld.so's built-in search path on Debian x86-64, in order.
    public static let systemDirectories = [
        "/lib/\(multiarch)", "/usr/lib/\(multiarch)", "/lib", "/usr/lib",
    ]

    /// The interpreter and libraries `binary` (an absolute path inside `root`) needs, in the
    /// order they were found, each path once. The binary itself is not included. A static
    /// binary (no PT_INTERP) needs nothing.
    public static func resolve(binary: String, root: String = "/") throws -> [Entry] {
        try resolve(binaries: [binary], root: root)
    }

    /// The union of the closures of `binaries`, each path once, in order of discovery.
    public static func resolve(binaries: [String], root: String = "/") throws -> [Entry] {
        var resolver = Resolver(fs: RootedFileSystem(root: root))
        for binary in binaries { try resolver.resolve(binary: binary) }
        return resolver.entries
    }

    /// The closure of `binary` with `plugins` (shared objects it dlopen()s, like Slurm's) loaded into
    /// it: the plugins themselves and the libraries they need beyond the binary's. dlopen(3) searches
    /// a plugin's needs the way ld.so searches the executable's, with the executable as the loader.
    public static func resolve(binary: String, plugins: [String], root: String = "/") throws -> [Entry] {
        var resolver = Resolver(fs: RootedFileSystem(root: root))
        try resolver.resolve(binary: binary, plugins: plugins)
        return resolver.entries
    }

    /// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` (also in `${...}` form) in one RPATH/RUNPATH
    /// entry, as ld.so does (ld.so(8), "Dynamic string tokens").
    public static func expand(_ entry: String, origin: String) -> String {
        var text = entry
        for (token, value) in [("ORIGIN", origin), ("LIB", "lib/\(multiarch)"), ("PLATFORM", "x86_64")] {
            text = replaceAll("${\(token)}", with: value, in: text)
            text = replaceAll("$\(token)", with: value, in: text)
        }
        return text
    }

    /// `String.replacing` lives in _StringProcessing, which the static agent does not link
    /// (it would add a megabyte of regex engine to the RAM disk).
    static func replaceAll(_ pattern: String, with value: String, in text: String) -> String {
        let needle = Array(pattern.utf8)
        let bytes = Array(text.utf8)
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if index + needle.count <= bytes.count, bytes[index..<index + needle.count].elementsEqual(needle) {
                result.append(contentsOf: value.utf8)
                index += needle.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    // MARK: - Resolution

    private struct LoadedObject {
        var path: String
        var origin: String
        var dynamic: ELFFile.Dynamic
        var loader: Int?
    }

    private struct Resolver {
        let fs: RootedFileSystem
        var entries: [Entry] = []
        var entryPaths: Set<String> = []
        var configured: [String]?

        init(fs: RootedFileSystem) { self.fs = fs }

        mutating func resolve(binary: String, plugins: [String] = []) throws {
            guard let real = try fs.realPath(binary), try FileSystem.kind(fs.host(real)) == .regular else {
                throw ELFError(.io, "the binary does not exist", file: fs.host(binary), syscall: "open", errno: ENOENT)
            }
            let executable = try ELFFile.read(path: fs.host(real))
            guard let interpreter = executable.interpreter else { return }

            var objects = [
                LoadedObject(
                    path: Paths.normalize(binary), origin: Paths.directory(of: real),
                    dynamic: executable.dynamic ?? ELFFile.Dynamic(), loader: nil)
            ]
            var loaded: [String: Int] = [:]

            // The interpreter is loaded first and answers to its SONAME and file name.
            let interpreterHost = try addChain(interpreter, binary: binary, needed: interpreter)
            let interpreterFile = try ELFFile.read(path: interpreterHost)
            try check(interpreterFile, against: executable)
            loaded[Paths.base(of: interpreter)] = -1
            if let soname = interpreterFile.dynamic?.soname { loaded[soname] = -1 }

            var pending = plugins[...]
            var next = 0
            while next < objects.count || !pending.isEmpty {
                if next == objects.count, let plugin = pending.popFirst() {
                    let host = try addChain(plugin, binary: binary, needed: plugin)
                    let file = try ELFFile.read(path: host)
                    try check(file, against: executable)
                    objects.append(
                        LoadedObject(
                            path: Paths.normalize(plugin), origin: Paths.directory(of: plugin),
                            dynamic: file.dynamic ?? ELFFile.Dynamic(), loader: 0))
                    continue
                }
                let object = objects[next]
                for name in object.dynamic.needed where loaded[name] == nil {
                    let (path, hostPath) = try search(
                        name, requester: next, objects: objects, binary: binary, executable: executable)
                    let file = try ELFFile.read(path: hostPath)
                    objects.append(
                        LoadedObject(
                            path: path, origin: Paths.directory(of: path), dynamic: file.dynamic ?? ELFFile.Dynamic(),
                            loader: next))
                    loaded[name] = objects.count - 1
                    if let soname = file.dynamic?.soname, loaded[soname] == nil { loaded[soname] = objects.count - 1 }
                }
                next += 1
            }
        }

        /// The directories searched for a library needed by `objects[requester]`.
        mutating func searchPath(requester: Int, objects: [LoadedObject]) throws -> [String] {
            var directories: [String] = []
            let object = objects[requester]
            if object.dynamic.runpath == nil {
                var current: Int? = requester
                while let index = current {
                    let link = objects[index]
                    if link.dynamic.runpath == nil, let rpath = link.dynamic.rpath {
                        directories += rpath.map { expand($0, origin: link.origin) }
                    }
                    current = link.loader
                }
            }
            if let runpath = object.dynamic.runpath {
                directories += runpath.map { expand($0, origin: object.origin) }
            }
            if configured == nil { configured = try LdSoConf.directories(root: fs.prefix.isEmpty ? "/" : fs.prefix) }
            directories += configured ?? []
            directories += systemDirectories
            // Relative entries are relative to ld.so's working directory at run time, which we
            // cannot know; empty entries mean the same. Neither can be reproduced in an image.
            var seen: Set<String> = []
            return directories.filter { $0.hasPrefix("/") }.map(Paths.normalize).filter { seen.insert($0).inserted }
        }

        mutating func search(
            _ name: String, requester: Int, objects: [LoadedObject], binary: String, executable: ELFFile
        ) throws -> (path: String, hostPath: String) {
            let candidates: [String]
            var directories: [String] = []
            if name.contains("/") {
                candidates = [Paths.normalize(name)]
            } else {
                directories = try searchPath(requester: requester, objects: objects)
                candidates = directories.map { Paths.join($0, name) }
            }
            for candidate in candidates {
                guard let real = try fs.realPath(candidate), try FileSystem.kind(fs.host(real)) == .regular else {
                    continue
                }
                // ld.so skips files that are not ELF, or of another class or machine (a 32-bit
                // library earlier in the path), and goes on searching.
                let header = try FileSystem.readFile(fs.host(real), limit: 64)
                guard let identity = try? ELFFile.identify(header: header, path: fs.host(real)),
                    identity.machine == executable.machine
                else { continue }
                let hostPath = try addChain(candidate, binary: binary, needed: name)
                return (candidate, hostPath)
            }
            let requesterPath = objects[requester].path
            let via = requesterPath == Paths.normalize(binary) ? "" : " (needed by \(requesterPath))"
            throw ELFError(
                .libraryNotFound,
                "\(binary) needs \(name)\(via), which is not in "
                    + (directories.isEmpty ? "the root" : directories.joined(separator: ", ")),
                file: fs.host(binary),
                hint: "install the package that ships \(name) under the root, or list its directory in etc/ld.so.conf")
        }

        private func check(_ file: ELFFile, against executable: ELFFile) throws {
            guard file.machine == executable.machine else {
                throw ELFError(
                    .unsupported,
                    "the interpreter is for machine \(file.machine), the binary for \(executable.machine)",
                    file: file.path)
            }
        }

        /// Adds `path` and, if it is a symlink, everything it points at; returns the host path of
        /// the regular file at the end of the chain.
        @discardableResult
        mutating func addChain(_ path: String, binary: String, needed: String) throws -> String {
            var imagePath = Paths.normalize(path)
            // Where to look on the host: the same as imagePath until a relative symlink target
            // with ".." leaves a directory that is itself a symlink on the host.
            var hostLookup = imagePath
            for _ in 0...40 {
                guard let found = try fs.lookup(hostLookup) else {
                    throw ELFError(
                        .libraryNotFound,
                        imagePath == Paths.normalize(path)
                            ? "\(binary) needs \(needed) at \(path), which does not exist"
                            : "\(binary) needs \(needed): the symlink chain from \(path) ends at \(imagePath),"
                                + " which does not exist",
                        file: fs.host(binary), hint: "is the package that ships \(needed) installed under the root?")
                }
                let real = Paths.join(found.realParent, Paths.base(of: hostLookup))
                let host = fs.host(real)
                switch found.kind {
                case .symlink:
                    let target = try FileSystem.readLink(host)
                    if entryPaths.insert(imagePath).inserted {
                        entries.append(Entry(pathInImage: imagePath, hostPath: host, symlinkTarget: target))
                    }
                    imagePath = Paths.join(Paths.directory(of: imagePath), target)
                    hostLookup = Paths.join(found.realParent, target)
                case .regular:
                    if entryPaths.insert(imagePath).inserted {
                        entries.append(Entry(pathInImage: imagePath, hostPath: host))
                    }
                    return host
                case .directory, .other:
                    throw ELFError(
                        .libraryNotFound, "\(binary) needs \(needed), but \(imagePath) is not a regular file",
                        file: host)
                }
            }
            throw ELFError(
                .symlinkLoop, "too many levels of symbolic links from \(path)", file: fs.host(path), errno: ELOOP)
        }
    }
}
