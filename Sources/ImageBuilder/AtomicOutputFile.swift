#if canImport(Glibc)
    import Glibc
#endif

/// System-call helpers of the archive layer.
enum ArchiveSyscall {
    /// Retries a system call interrupted by a signal (EINTR).
    @inline(__always)
    static func retryingEINTR<T: FixedWidthInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }
}

/// Random access to an image being finished (patched in place): a file, or bytes in tests.
protocol ImageStorage: AnyObject {
    var size: Int { get throws }
    func read(at offset: Int, count: Int) throws -> [UInt8]
    func write(_ bytes: [UInt8], at offset: Int) throws
}

/// A file written under a temporary name in the target's directory and renamed over the target
/// by `commit()`. Until then the target is untouched; `deinit` removes an uncommitted file, so
/// a failure leaves nothing behind. Owns its descriptor.
final class AtomicOutputFile: ImageStorage, ArchiveSink {
    let path: String
    let temporaryPath: String
    let operation: String
    let fd: Int32
    private var committed = false
    private(set) var bytesWritten = 0

    init(path: String, operation: String) throws {
        self.path = path
        self.operation = operation
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else {
            throw ImageBuilderError(operation: operation, path: path, reason: "output path names a directory")
        }
        var template = Array("\(directory.isEmpty ? "/" : directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            let fd = mkstemp(base)
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return fd
        }
        guard fd >= 0 else {
            throw ImageBuilderError.system(
                "mkstemp", operation: operation, path: path,
                hint: "the output's directory must exist and be writable")
        }
        self.fd = fd
        self.temporaryPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = fchmod(fd, 0o644)
    }

    deinit {
        _ = Glibc.close(fd)
        if !committed { _ = unlink(temporaryPath) }
    }

    var size: Int {
        get throws {
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                throw ImageBuilderError.system("fstat", operation: operation, path: temporaryPath)
            }
            return Int(info.st_size)
        }
    }

    // ArchiveSink: sequential writes from libarchive.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = ArchiveSyscall.retryingEINTR { Glibc.write(fd, base, remaining) }
            guard written > 0 else {
                throw ImageBuilderError.system(
                    "write", operation: operation, path: temporaryPath, hint: "is the disk full?")
            }
            remaining -= written
            base += written
            bytesWritten += written
        }
    }

    func finish() throws {}

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = result.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return ArchiveSyscall.retryingEINTR { pread(fd, base + done, count - done, off_t(offset + done)) }
            }
            if got < 0 { throw ImageBuilderError.system("pread", operation: operation, path: temporaryPath) }
            if got == 0 {
                throw ImageBuilderError(
                    operation: operation, path: temporaryPath,
                    reason: "short read: wanted \(count) bytes at offset \(offset), the file ends first")
            }
            done += got
        }
        return result
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let put = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return ArchiveSyscall.retryingEINTR {
                    pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
                }
            }
            guard put > 0 else {
                throw ImageBuilderError.system("pwrite", operation: operation, path: temporaryPath)
            }
            done += put
        }
    }

    func truncate(to length: Int) throws {
        guard ArchiveSyscall.retryingEINTR({ ftruncate(fd, off_t(length)) }) == 0 else {
            throw ImageBuilderError.system("ftruncate", operation: operation, path: temporaryPath)
        }
    }

    /// Makes the file durable and puts it in place of the target.
    func commit() throws {
        guard ArchiveSyscall.retryingEINTR({ fsync(fd) }) == 0 else {
            throw ImageBuilderError.system("fsync", operation: operation, path: temporaryPath)
        }
        guard rename(temporaryPath, path) == 0 else {
            throw ImageBuilderError.system("rename", operation: operation, path: path)
        }
        committed = true
    }
}

/// A regular file on the build host, open for reading. Owns its descriptor.
final class ImageSourceFile {
    let path: String
    let fd: Int32
    let size: Int

    init(path: String, operation: String, entryPath: String) throws {
        self.path = path
        let fd = ArchiveSyscall.retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            let code = errno
            throw ImageBuilderError(
                operation: operation, path: path, reason: "cannot open host file for entry '\(entryPath)'",
                errno: code, function: "open",
                hint: code == ENOENT ? "the spec names a host file that does not exist" : nil)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw ImageBuilderError.system("fstat", operation: operation, path: path, code: code)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            _ = Glibc.close(fd)
            throw ImageBuilderError(
                operation: operation, path: path,
                reason: "host file for entry '\(entryPath)' is not a regular file",
                hint: "directories, links and devices are entries of their own kind, not host files")
        }
        self.fd = fd
        self.size = Int(info.st_size)
    }

    deinit { _ = Glibc.close(fd) }

    /// Calls `body` with successive chunks of the file; fails if the file changed size.
    func forEachChunk(operation: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunkSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let got = ArchiveSyscall.retryingEINTR { Glibc.read(fd, buffer.baseAddress, chunkSize) }
            if got < 0 { throw ImageBuilderError.system("read", operation: operation, path: path) }
            if got == 0 { break }
            total += got
            if total > size { break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        }
        guard total == size else {
            throw ImageBuilderError(
                operation: operation, path: path,
                reason: "host file changed size while being read (\(size) bytes, then \(total))")
        }
    }
}
