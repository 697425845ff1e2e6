import Glibc

/// A directory below a trusted base, opened one component at a time without following symbolic
/// links, and the files written, made and removed in it through its descriptor.
///
/// The master's generator runs as root and writes below a directory that NFS-root nodes (or
/// anyone who takes a node's address while it is off) can write parts of. A path such as
/// `nfsroot/nodes/node11/files/etc/hostname` opened by name follows a symbolic link a node
/// planted at any component, and root writes wherever it points. Here every component is
/// opened with `O_NOFOLLOW | O_DIRECTORY` relative to its parent (what `openat2`'s
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` does, without needing Linux 5.6 and a raw syscall),
/// `..` is refused, and a symbolic link anywhere, the file's own name included, is an error
/// that names it; whatever it points at is never opened.
public final class BeneathDirectory {
    /// The directory's descriptor; owned, closed on deinit.
    public let descriptor: Int32
    /// The directory's path, for messages only: nothing is opened by it.
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Opens `relative` below `base` (the base itself is trusted and opened by name); with
    /// `create`, missing directories are made with `mode`.
    public static func open(
        _ relative: String, below base: String, create: Bool = true, mode: mode_t = 0o755
    ) throws -> BeneathDirectory {
        let top = try syscall("open", path: base) { Glibc.open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        var current = BeneathDirectory(descriptor: top, path: base)
        for component in try components(of: relative, below: base) {
            current = try current.subdirectory(component, create: create, mode: mode)
        }
        return current
    }

    /// The components of a relative path; `..` and empty names are refused, `.` is skipped.
    static func components(of relative: String, below base: String) throws -> [String] {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.contains("..") {
            throw OperationError(
                operation: "refusing a path that climbs out of", path: base, code: nil,
                hint: "\(relative) has a `..` component")
        }
        return parts.filter { $0 != "." }
    }

    /// The directory `name` in this one, made first with `create`.
    public func subdirectory(_ name: String, create: Bool = true, mode: mode_t = 0o755) throws -> BeneathDirectory {
        let full = path + "/" + name
        if create {
            let made = SystemCall.retrying { mkdirat(descriptor, name, mode) }
            if case .failure(let failure) = made, failure.code != EEXIST {
                throw OperationError(operation: "mkdir", path: full, code: failure.code)
            }
        }
        switch SystemCall.retrying({ openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }) {
        case .success(let fd):
            return BeneathDirectory(descriptor: fd, path: full)
        case .failure(let failure):
            if failure.code == ELOOP || failure.code == ENOTDIR, let kind = kind(of: name), kind == S_IFLNK {
                throw Self.plantedLink(full)
            }
            throw OperationError(operation: "open", path: full, code: failure.code)
        }
    }

    /// The file type bits of `name` in this directory, not following a link; nil when it is missing.
    public func kind(of name: String) -> mode_t? {
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    /// Replaces the file `name` with `bytes` and `mode` (whatever the umask): written under a
    /// temporary name and renamed in, so readers see the old or the new file; with `inPlace`
    /// (a first generation, which nothing reads yet) written straight to its name. A symbolic
    /// link or a directory at `name` is an error and stays as it is.
    /// `umask`: the process's umask when the caller has set it (the generator sets 022), so a new
    /// file whose mode it leaves alone needs no fchmod; nil: unknown, every file gets one.
    public func write(
        _ bytes: [UInt8], to name: String, mode: mode_t = 0o644, inPlace: Bool = false, umask: mode_t? = nil
    ) throws {
        let full = path + "/" + name
        if inPlace, try writeNew(bytes, to: name, mode: mode, umask: umask) { return }
        if let kind = kind(of: name), kind != S_IFREG {
            throw kind == S_IFLNK
                ? Self.plantedLink(full)
                : OperationError(operation: "refusing to replace a non-file", path: full, hint: "remove it by hand")
        }
        let temporary = inPlace ? name : ".\(name).tmp-\(getpid())"
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (inPlace ? 0 : O_EXCL)
        if !inPlace { unlinkat(descriptor, temporary, 0) }
        let fd = try syscall("open", path: path + "/" + temporary) { openat(descriptor, temporary, flags, mode) }
        do {
            if inPlace {
                // Written in place, a file with another name elsewhere (a hard link planted while the
                // tree was writable) would be that file: refused before anything is truncated.
                var info = stat()
                try syscall("fstat", path: full) { fstat(fd, &info) }
                if info.st_nlink > 1 {
                    throw OperationError(
                        operation: "refusing to write a file with \(info.st_nlink) names", path: full,
                        hint: "something that could write this tree linked it to another file; remove it")
                }
                try syscall("ftruncate", path: full) { ftruncate(fd, 0) }
            }
            try SystemFile.writeAll(fd, bytes, path: full)
            try syscall("fchmod", path: full) { fchmod(fd, mode) }
        } catch {
            close(fd)
            if !inPlace { unlinkat(descriptor, temporary, 0) }
            throw error
        }
        close(fd)
        guard !inPlace else { return }
        do {
            try syscall("rename", path: full) { renameat(descriptor, temporary, descriptor, name) }
        } catch {
            unlinkat(descriptor, temporary, 0)
            throw error
        }
    }

    /// Writes `name` when it does not exist yet (a first generation: 40,000 of them at 10,000 nodes):
    /// made by this open (O_EXCL, which also refuses a link in its place), it has one name and no
    /// content, so neither the link count nor a truncation needs a call, and its mode is the one
    /// asked for unless the umask takes bits away (reading the umask means setting it, which other
    /// threads would see, so the caller says what it is). False when something is there already.
    private func writeNew(_ bytes: [UInt8], to name: String, mode: mode_t, umask: mode_t?) throws -> Bool {
        let full = path + "/" + name
        let fd: Int32
        switch SystemCall.retrying({ openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }) {
        case .success(let opened): fd = opened
        case .failure(let failure) where failure.code == EEXIST: return false
        case .failure(let failure): throw OperationError(operation: "open", path: full, code: failure.code)
        }
        defer { close(fd) }
        do {
            try SystemFile.writeAll(fd, bytes, path: full)
            if umask.map({ mode & $0 != 0 }) ?? true { try syscall("fchmod", path: full) { fchmod(fd, mode) } }
        } catch {
            // Half a file under the final name would pass for a whole one next time.
            unlinkat(descriptor, name, 0)
            throw error
        }
        return true
    }

    /// Reads the regular file `name` (a link in its place is refused, not followed): its bytes, at
    /// most `limit`, and its mode and owner; nil when it is not there.
    public func read(_ name: String, limit: Int) throws -> (bytes: [UInt8], info: stat)? {
        let full = path + "/" + name
        let fd: Int32
        switch SystemCall.retrying({ openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }) {
        case .success(let opened): fd = opened
        case .failure(let failure) where failure.code == ENOENT: return nil
        case .failure(let failure) where failure.code == ELOOP: throw Self.plantedLink(full)
        case .failure(let failure): throw OperationError(operation: "open", path: full, code: failure.code)
        }
        defer { close(fd) }
        var info = stat()
        try syscall("fstat", path: full) { fstat(fd, &info) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw OperationError(operation: "refusing to read a non-file", path: full, hint: "only a regular file is read here")
        }
        guard Int(info.st_size) <= limit else {
            throw OperationError(operation: "refusing a file of \(info.st_size) bytes (at most \(limit))", path: full)
        }
        return (try SystemFile.readAll(fd, limit: limit, path: full), info)
    }

    /// Removes the file (or link) `name`; false when it was not there.
    @discardableResult
    public func remove(_ name: String) throws -> Bool {
        switch SystemCall.retrying({ unlinkat(descriptor, name, 0) }) {
        case .success: return true
        case .failure(let failure) where failure.code == ENOENT: return false
        case .failure(let failure): throw OperationError(operation: "unlink", path: path + "/" + name, code: failure.code)
        }
    }

    /// Sets the owner of the directory or file `name`, not following a link.
    public func changeOwner(of name: String, user: uid_t, group: gid_t) throws {
        try syscall("chown", path: path + "/" + name) { fchownat(descriptor, name, user, group, AT_SYMLINK_NOFOLLOW) }
    }

    static func plantedLink(_ path: String) -> OperationError {
        OperationError(
            operation: "refusing the symbolic link", path: path,
            hint: "something that can write this tree (a node, through its export) planted it; remove it and check "
                + "what it points at")
    }
}

extension BeneathDirectory {
    /// Writes `bytes` to `relative` below `base`, its directories made as needed, no link followed.
    public static func write(
        _ bytes: [UInt8], to relative: String, below base: String, mode: mode_t = 0o644, inPlace: Bool = false
    ) throws {
        let (directory, name) = split(relative)
        try open(directory, below: base).write(bytes, to: name, mode: mode, inPlace: inPlace)
    }

    /// Removes `relative` below `base`; false when it or a directory on its way was not there.
    @discardableResult
    public static func remove(_ relative: String, below base: String) throws -> Bool {
        let (directory, name) = split(relative)
        let parent: BeneathDirectory
        do {
            parent = try open(directory, below: base, create: false)
        } catch let error as OperationError where error.code == ENOENT {
            return false
        }
        return try parent.remove(name)
    }

    /// `a/b/c` as (`a/b`, `c`).
    public static func split(_ relative: String) -> (directory: String, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return ("", relative) }
        return (String(relative[..<slash]), String(relative[relative.index(after: slash)...]))
    }
}
