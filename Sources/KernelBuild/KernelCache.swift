import Foundation

/// The directory of built kernels, outside any checkout: `$CLUMP_KERNEL_CACHE`, else
/// `$XDG_CACHE_HOME/clump/kernels`, else `~/.cache/clump/kernels`. Each entry is a directory
/// named by its inputs' key, holding `bzImage`, `config`, `lib/modules/<release>/`,
/// `build.log` and `inputs.txt`. An entry appears by one rename of a finished directory, so
/// a reader sees all of it or nothing; builds in progress live in `.staging-<key>-<pid>`.
public struct KernelCache: Sendable {
    public var directory: String

    public init(directory: String) { self.directory = directory }

    /// The cache the environment names.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let path = environment["CLUMP_KERNEL_CACHE"], !path.isEmpty {
            directory = path
        } else if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            directory = xdg + "/clump/kernels"
        } else {
            directory = (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/clump/kernels"
        }
    }

    /// The finished entry for `key`, if there is one.
    public func entry(_ key: String) -> KernelEntry? {
        KernelEntry(directory: directory + "/" + key)
    }

    /// A new staging directory for `key`, after removing those of builds whose process is gone.
    func stage(_ key: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix(".staging-") {
            if let pid = Int32(name.split(separator: "-").last ?? ""), pid != getpid(), kill(pid, 0) == 0 { continue }
            Self.remove(directory + "/" + name)
        }
        let path = "\(directory)/.staging-\(key)-\(getpid())"
        Self.remove(path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removes a staging directory: an unpacked source and its objects, some 70,000 files, which
    /// rm(1) deletes several times faster than FileManager.
    static func remove(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let rm = Process()
        rm.executableURL = URL(fileURLWithPath: "/bin/rm")
        rm.arguments = ["-rf", "--one-file-system", path]
        if (try? rm.run()) != nil { rm.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Publishes a finished entry directory under `key` by rename(2).
    func commit(_ built: String, key: String) throws -> KernelEntry {
        let final = directory + "/" + key
        if rename(built, final) != 0 {
            // Another build of the same inputs finished first: its entry is as good as ours.
            if let entry = KernelEntry(directory: final) { return entry }
            throw KernelBuildError(
                "cache", "cannot move the build into place: \(String(cString: strerror(errno)))", file: final)
        }
        guard let entry = KernelEntry(directory: final) else {
            throw KernelBuildError("cache", "the entry is incomplete", file: final)
        }
        return entry
    }

    /// The finished entries' names.
    public func keys() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }
}

/// A built kernel in the cache.
public struct KernelEntry: Equatable, Sendable {
    public var directory: String
    public var release: String
    public var image: String { directory + "/bzImage" }
    public var config: String { directory + "/config" }
    public var modules: String { directory + "/lib/modules/" + release }
    public var log: String { directory + "/build.log" }

    /// The entry at `directory`, nil unless it has its image, config and one modules directory.
    public init?(directory: String) {
        let files = FileManager.default
        guard files.fileExists(atPath: directory + "/bzImage"), files.fileExists(atPath: directory + "/config"),
            let releases = try? files.contentsOfDirectory(atPath: directory + "/lib/modules"), releases.count == 1
        else { return nil }
        self.directory = directory
        self.release = releases[0]
    }
}
