import AgentSupport
import Foundation
import Kernel
import XZ

/// Compresses kernel modules to `.ko.xz` for the RAM disk, in parallel, with a cache.
///
/// The drone's kernel cannot decompress modules itself (Debian's has no
/// CONFIG_MODULE_DECOMPRESS), so the agent inflates each module it loads; shipping them
/// compressed is what keeps every ethernet driver inside a 16 MB RAM disk. xz at preset 6
/// costs ~0.1 s per module, so results are cached by source path, size and mtime: a
/// rebuild with the same kernel compresses nothing.
struct ModuleCompressor {
    /// Preset 6 and 9 give identical output for files under 8 MiB (the dictionary is
    /// larger than any module); 6 needs far less memory.
    static let preset = 6

    let cacheDir: String?
    /// Blank BTF and drop signatures first (`drivers.strip`).
    let strip: Bool

    init(environment: [String: String], strip: Bool) {
        self.strip = strip
        if environment["CLUMP_CACHE"] == "off" {
            cacheDir = nil
        } else if let dir = environment["CLUMP_CACHE"] {
            cacheDir = dir
        } else if let xdg = environment["XDG_CACHE_HOME"] {
            cacheDir = xdg + "/clump/modules"
        } else {
            cacheDir = (environment["HOME"] ?? "/root") + "/.cache/clump/modules"
        }
    }

    /// Returns, for each host module, the path of its compressed form (in the cache or in
    /// `scratch`), in the same order.
    func compress(_ modules: [String], scratch: String) throws -> [String] {
        let outputs = modules.map { target(for: $0, scratch: scratch) }
        let failures = LockedBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: modules.count) { i in
            if FileManager.default.fileExists(atPath: outputs[i]) { return }
            do {
                var raw = try readFile(modules[i])
                if strip { raw = try ModuleStripper.strip(raw, path: modules[i]) }
                let packed = try XZ.compress(raw, preset: Self.preset)
                try writeAtomically(packed, to: outputs[i])
            } catch {
                failures.mutate { $0.append("\(modules[i]): \(error)") }
            }
        }
        if let first = failures.value.first {
            throw ImageBuilderError.io("compress module", path: first, hint: "check the module file and free space")
        }
        return outputs
    }

    private func target(for module: String, scratch: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: module)
        let size = (attributes?[.size] as? Int) ?? 0
        let mtime = Int(((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1_000_000)
        let key = "\(module)-\(size)-\(mtime)-p\(Self.preset)" + (strip ? "-stripped\(ModuleStripper.revision)" : "")
        let name = (module as NSString).lastPathComponent + "." + stableHash(key) + ".xz"
        return (cacheDir ?? scratch + "/modules") + "/" + name
    }
}

/// A stable file-name key.
func stableHash(_ text: String) -> String {
    String(FNV1a.hash(Array(text.utf8)), radix: 16)
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ImageBuilderError.io("read", path: path, hint: "check that it exists and is readable")
    }
    return [UInt8](data)
}

/// Writes to a temporary name beside the target, then renames: readers never see half a file.
func writeAtomically(_ bytes: [UInt8], to path: String, mode: Int = 0o644) throws {
    // A bare file name ("clump.yaml") has no directory part: it lives in the current one.
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw ImageBuilderError.io("create directory", path: dir, hint: "check permissions and free space")
        }
    }
    let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard FileManager.default.createFile(atPath: temp, contents: Data(bytes), attributes: [.posixPermissions: mode])
    else {
        throw ImageBuilderError.io("write", path: temp, hint: "check permissions and free space")
    }
    guard rename(temp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temp)
        throw ImageBuilderError.io("rename to \(path): \(reason)", path: temp, hint: "check permissions")
    }
}

/// A value shared by concurrent workers.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&stored)
        lock.unlock()
    }
}
