import ClumpVersion
import Foundation
import ImageSpec

/// What `clumpbuild generate` did.
public struct GenerateReport: Sendable {
    /// The master directory.
    public var directory: String
    /// The boot image generation the configs point at, and whether this run added it.
    public var generation: String
    public var newGeneration: Bool
    /// Generated files written, left as they were, and removed.
    public var written: [String]
    public var unchanged: Int
    public var removed: [String]
    /// Known nodes.
    public var nodes: Int
    /// Boot image generations kept besides the current one (removed by `--prune`).
    public var olderGenerations: [String]
    /// Problems that do not stop generation (a missing UEFI loader).
    public var warnings: [String]
    public var seconds: Double
}

/// The master directory, brought up to date with the spec, the inventory and the built PXE tree.
///
/// Incremental: every file is rendered, but only those whose content differs from what the last run
/// wrote (its manifest) are written, each to a temporary name and renamed in, so a daemon or a booting
/// node never reads half a file. Boot images go into a new `images/<generation>/` and the old ones stay
/// until `prune`: a node that fetched the old configuration still finds its kernel.
public struct Generator {
    /// The spec and its inventory.
    public var spec: Spec
    public var inventory: Inventory
    /// The build's output directory (`out`): its PXE tree is the input, `master/` the output.
    public var outDir: String

    public init(spec: Spec, inventory: Inventory, outDir: String) {
        self.spec = spec
        self.inventory = inventory
        self.outDir = outDir
    }

    /// The master directory.
    public var directory: String { Self.absolute(outDir) + "/master" }

    /// Generates, or with `prune` also removes older boot image generations.
    public func generate(prune: Bool = false) throws -> GenerateReport {
        let started = Date()
        let pxe = try pxeTree()
        let fm = FileManager.default
        let dir = directory
        try makeDirectory(dir + "/state")
        var manifest = Manifest.load(dir + "/" + MasterLayout.manifest)

        let kernel = pxe + "/vmlinuz"
        let initrd = pxe + "/initrd.img"
        let generation = try manifest.generation(of: [kernel, initrd])
        let imageDir = "\(dir)/\(MasterLayout.images)/\(generation)"
        let newGeneration = !fm.fileExists(atPath: imageDir)
        if newGeneration { try installImage(kernel: kernel, initrd: initrd, at: imageDir) }

        var warnings: [String] = []
        var copies: [(String, String)] = [
            (pxe + "/pxelinux.0", "tftp/\(MasterLayout.biosLoader)"), (pxe + "/ldlinux.c32", "tftp/ldlinux.c32"),
        ]
        let efi = MasterLayout.efiLoaderFiles.map { (pxe + "/" + $0, "tftp/" + $0) }
        if efi.allSatisfy({ fm.fileExists(atPath: $0.0) }) {
            copies += efi
        } else {
            warnings.append(
                "\(pxe) has no \(MasterLayout.efiLoaderFiles.joined(separator: ", ")), so UEFI PXE clients cannot boot: "
                    + "rebuild it with `clumpbuild build`")
        }

        let plan = try MasterPlan.make(
            spec: spec, inventory: inventory, generation: generation, directory: dir, version: ClumpVersion.string)
        var files = MasterFiles.render(plan).mapValues { Array($0.utf8) }
        for (source, target) in copies {
            guard let bytes = fm.contents(atPath: source) else {
                throw MasterSideError("cannot read", subject: source, hint: "rebuild with `clumpbuild build`")
            }
            files[target] = Array(bytes)
        }

        var written: [String] = []
        var unchanged = 0
        var next: [String: UInt64] = [:]
        next.reserveCapacity(files.count)
        for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
            let hash = FNV1a.hash(bytes)
            next[path] = hash
            if manifest.files[path] == hash {
                unchanged += 1
                continue
            }
            try AtomicWrite.write(bytes, to: dir + "/" + path, mode: 0o644)
            written.append(path)
        }
        var removed: [String] = []
        for path in manifest.files.keys.sorted() where next[path] == nil {
            if unlink(dir + "/" + path) == 0 || errno == ENOENT { removed.append(path) }
        }
        manifest.files = next
        try manifest.save(dir + "/" + MasterLayout.manifest)

        var older = ((try? fm.contentsOfDirectory(atPath: "\(dir)/\(MasterLayout.images)")) ?? [])
            .filter { $0 != generation && !$0.hasPrefix(".") }.sorted()
        if prune {
            for old in older { try fm.removeItem(atPath: "\(dir)/\(MasterLayout.images)/\(old)") }
            older = []
        }
        return GenerateReport(
            directory: dir, generation: generation, newGeneration: newGeneration, written: written,
            unchanged: unchanged, removed: removed, nodes: inventory.nodes.count, olderGenerations: older,
            warnings: warnings, seconds: Date().timeIntervalSince(started))
    }

    /// The built PXE tree, which must hold what the master serves.
    private func pxeTree() throws -> String {
        guard let name = spec.outputs.pxe else {
            throw spec.error(
                "outputs.pxe", "the master serves the PXE tree, but the spec skips it",
                hint: "remove `pxe: false` from outputs, then run `clumpbuild build`")
        }
        let tree = Self.absolute(outDir) + "/" + name
        for file in ["vmlinuz", "initrd.img", "pxelinux.0", "ldlinux.c32"]
        where !FileManager.default.fileExists(atPath: tree + "/" + file) {
            throw MasterSideError(
                "no \(file): the PXE tree has not been built", subject: tree,
                hint: "run `clumpbuild build --out \(outDir)` first")
        }
        return tree
    }

    /// A new image generation, complete before its name appears.
    private func installImage(kernel: String, initrd: String, at target: String) throws {
        let staging = target + ".partial-\(getpid())"
        let fm = FileManager.default
        try? fm.removeItem(atPath: staging)
        try makeDirectory(staging)
        for (source, name) in [(kernel, "vmlinuz"), (initrd, "initrd.img")] {
            // A hard link costs nothing; another filesystem needs a copy.
            if link(source, staging + "/" + name) != 0 {
                do {
                    try fm.copyItem(atPath: source, toPath: staging + "/" + name)
                } catch {
                    throw MasterSideError("cannot copy the boot image: \(error)", subject: source)
                }
            }
            chmod(staging + "/" + name, 0o644)
        }
        guard rename(staging, target) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(atPath: staging)
            throw MasterSideError("cannot move the image generation into place: \(reason)", subject: target)
        }
    }

    private func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw MasterSideError("cannot create the directory", subject: path, hint: "check permissions")
        }
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }
}

/// What the last generation wrote: a content hash per file, and the boot image's hash cached by size
/// and modification time, so an unchanged image is not read again.
struct Manifest {
    var files: [String: UInt64] = [:]
    var sources: [String: (size: Int, mtime: Int, hash: UInt64)] = [:]

    static func load(_ path: String) -> Manifest {
        var manifest = Manifest()
        guard let data = FileManager.default.contents(atPath: path) else { return manifest }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 4)
            if fields.count == 3, fields[0] == "F", let hash = UInt64(fields[1], radix: 16) {
                manifest.files[String(fields[2])] = hash
            } else if fields.count == 5, fields[0] == "S", let size = Int(fields[1]), let mtime = Int(fields[2]),
                let hash = UInt64(fields[3], radix: 16)
            {
                manifest.sources[String(fields[4])] = (size, mtime, hash)
            }
        }
        return manifest
    }

    func save(_ path: String) throws {
        var text = "# clumpbuild generate: what it wrote last (F hash path) and the image hashes (S size mtime hash path)\n"
        for (path, hash) in files.sorted(by: { $0.key < $1.key }) { text += "F \(String(hash, radix: 16)) \(path)\n" }
        for (path, source) in sources.sorted(by: { $0.key < $1.key }) {
            text += "S \(source.size) \(source.mtime) \(String(source.hash, radix: 16)) \(path)\n"
        }
        try AtomicWrite.write(Array(text.utf8), to: path, mode: 0o644)
    }

    /// The generation name of a boot image: a hash of its files, so the same image is the same generation.
    mutating func generation(of paths: [String]) throws -> String {
        var combined = FNV1a.offset
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { throw MasterSideError("cannot read", subject: path) }
            let size = Int(info.st_size)
            let mtime = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
            let hash: UInt64
            if let cached = sources[path], cached.size == size, cached.mtime == mtime {
                hash = cached.hash
            } else {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw MasterSideError("cannot read", subject: path)
                }
                hash = data.withUnsafeBytes { FNV1a.hash($0) }
                sources[path] = (size, mtime, hash)
            }
            combined = FNV1a.hash(withUnsafeBytes(of: hash.littleEndian) { Array($0) }, seed: combined)
        }
        let hex = String(combined, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// FNV-1a, 64 bits: change detection and generation names, not security.
enum FNV1a {
    static let offset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x100_0000_01b3

    static func hash(_ bytes: [UInt8], seed: UInt64 = offset) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = offset) -> UInt64 {
        var hash = seed
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return hash
    }
}

/// Writes a file under a temporary name beside it and renames it in: readers see the old or the new file.
enum AtomicWrite {
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        var fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0, errno == ENOENT {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        }
        guard fd >= 0 else {
            throw MasterSideError("cannot write: \(String(cString: strerror(errno)))", subject: path, hint: "check permissions")
        }
        var offset = 0
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            while offset < buffer.count {
                let count = Foundation.write(fd, base + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        let reason = String(cString: strerror(errno))
        close(fd)
        guard ok else {
            unlink(temporary)
            throw MasterSideError("cannot write: \(reason)", subject: path, hint: "check free space")
        }
        fchmodat(AT_FDCWD, temporary, mode, 0)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw MasterSideError("cannot rename into place: \(reason)", subject: path)
        }
    }
}
