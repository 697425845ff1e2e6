import Foundation
import ImageSpec
import Kernel

/// What `clumpbuild kernel` (or `clumpbuild build` with `kernel.build:`) asks for.
public struct KernelBuildRequest: Sendable {
    /// The spec's section, paths already resolved against the spec's directory.
    public var build: Spec.KernelBuild
    /// The spec's source-date-epoch, the default for KBUILD_BUILD_TIMESTAMP.
    public var epoch: Int?
    /// make -j; nil: the number of CPUs.
    public var jobs: Int?
    /// clump's kernel-config/ directory.
    public var kernelConfig: String
    public var cache: KernelCache
    /// Where `linux-source-*.tar.*` is looked for when the spec names no source.
    public var sourceDirectory: String

    public init(
        build: Spec.KernelBuild, epoch: Int? = nil, jobs: Int? = nil, kernelConfig: String, cache: KernelCache,
        sourceDirectory: String = "/usr/src"
    ) {
        self.build = build
        self.epoch = epoch
        self.jobs = jobs
        self.kernelConfig = kernelConfig
        self.cache = cache
        self.sourceDirectory = sourceDirectory
    }
}

/// The result: the cache entry, and whether it was built now or found.
public struct KernelBuildResult: Sendable {
    public var entry: KernelEntry
    public var key: String
    public var reused: Bool
}

/// Builds the drone kernel from source into the cache, or finds it there.
///
/// Order: read every input and derive the key (a hit ends here); then, in a staging
/// directory, unpack the source, dry-run and apply each patch, make the base config, merge
/// the fragments, let Kconfig settle it (`olddefconfig`), refuse options it dropped and a
/// config `check-kernel` would refuse — all before the first compile — then make bzImage and
/// modules out of tree (O=), install the modules, and rename the entry into place. Any
/// failure or Ctrl-C removes the staging directory: the cache never holds half an entry.
public enum KernelBuilder {
    /// Reads the inputs a request names (files, toolchain versions), without building.
    public static func inputs(_ request: KernelBuildRequest) throws -> KernelBuildInputs {
        let build = request.build
        let source = try build.source ?? defaultSource(in: request.sourceDirectory)
        var seen: Set<String> = []
        var paths = try KernelBuildInputs.fragmentPaths("required", kernelConfig: request.kernelConfig, seen: &seen)
        for name in build.fragments {
            paths += try KernelBuildInputs.fragmentPaths(name, kernelConfig: request.kernelConfig, seen: &seen)
        }
        var fragments = try paths.map { path in
            KernelBuildInputs.Part(name: displayName(path, kernelConfig: request.kernelConfig), path: path,
                text: try KernelBuildInputs.read(path))
        }
        if !build.builtin.isEmpty {
            fragments.append(
                KernelBuildInputs.Part(
                    name: "kernel.build.builtin", path: "kernel.build.builtin",
                    text: KernelBuildInputs.builtinFragment(build.builtin)))
        }
        let base =
            build.base
            ?? fragments.lazy.compactMap { KernelBuildInputs.directives(in: $0.text, named: "base").last }.last
            ?? "defconfig"
        let baseText = Self.namedBases.contains(base) ? nil : try KernelBuildInputs.read(base)
        let patches = try build.patches.map { path in
            KernelBuildInputs.Part(name: (path as NSString).lastPathComponent, path: path, text: try KernelBuildInputs.read(path))
        }
        let timestamp = build.timestamp ?? Self.timestamp(epoch: request.epoch ?? Self.fixedEpoch)
        return KernelBuildInputs(
            source: source, sourceIdentity: try identity(of: source), base: base, baseText: baseText, fragments: fragments,
            patches: patches, toolchain: toolchain(), timestamp: timestamp, user: build.user, host: build.host)
    }

    /// Builds (or finds) the kernel; `log` gets one line per step and the progress lines.
    public static func build(_ request: KernelBuildRequest, log: @escaping (String) -> Void) throws -> KernelBuildResult {
        let inputs = try inputs(request)
        let key = inputs.key
        if let entry = request.cache.entry(key) {
            log("kernel: \(entry.release) from the cache, \(entry.directory)")
            return KernelBuildResult(entry: entry, key: key, reused: true)
        }
        let staging = try request.cache.stage(key)
        let interruption = Interruption.install()
        defer {
            interruption.remove()
            KernelCache.remove(staging)
        }
        let logPath = staging + "/build.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let logFile = FileHandle(forWritingAtPath: logPath) else {
            throw KernelBuildError("cache", "cannot write the build log", file: logPath)
        }
        defer { try? logFile.close() }
        let runner = Runner(log: logFile, interruption: interruption, environment: environment(inputs))
        do {
            let checks = try ConfigFragment.load(directory: request.kernelConfig)
            let entry = try build(
                inputs, key: key, staging: staging, jobs: request.jobs, checks: checks, runner: runner, say: log)
            let committed = try request.cache.commit(entry, key: key)
            log("kernel: \(committed.release) built, \(committed.directory)")
            return KernelBuildResult(entry: committed, key: key, reused: false)
        } catch var error as KernelBuildError {
            if interruption.happened { error = KernelBuildError("interrupted", "stopped by a signal; nothing was kept") }
            if error.step == "compile" || error.step == "config" {
                // The log goes with the staging directory: keep its tail in the message.
                try? logFile.synchronize()
                let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").suffix(25)
                if let tail, !tail.isEmpty, error.hint == nil {
                    error.hint = "the end of the build log:\n    " + tail.joined(separator: "\n    ")
                }
            }
            throw error
        } catch let error as KernelError {
            throw KernelBuildError("config", "\(error)")
        }
    }

    private static func build(
        _ inputs: KernelBuildInputs, key: String, staging: String, jobs: Int?, checks: [ConfigFragment],
        runner: Runner, say: @escaping (String) -> Void
    ) throws -> String {
        let src = staging + "/src"
        let obj = staging + "/obj"
        let entry = staging + "/entry"
        for directory in [src, obj, entry] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        say("kernel: unpacking \(inputs.source)")
        try unpack(inputs.source, into: src, runner: runner)

        for patch in inputs.patches {
            say("kernel: patch \(patch.name)")
            let check = try runner.run(
                ["patch", "-p1", "-N", "--batch", "--dry-run", "-i", patch.path, "-d", src], step: "patch",
                allowFailure: true)
            let report = PatchReport(output: check.output, patch: patch.text)
            guard check.status == 0, report.applies else {
                throw KernelBuildError(
                    "patch", "does not apply: \(report.summary)", file: patch.path,
                    hint: "refresh the patch against \(inputs.source); nothing was built or kept")
            }
            try runner.run(["patch", "-p1", "-N", "--batch", "-i", patch.path, "-d", src], step: "patch")
        }

        let make = ["make", "-C", src, "O=" + obj]
        say("kernel: config \(inputs.base) + " + inputs.fragments.map(\.name).joined(separator: " + "))
        if let baseText = inputs.baseText {
            try baseText.write(toFile: obj + "/.config", atomically: false, encoding: .utf8)
            try runner.run(make + ["olddefconfig"], step: "config")
        } else {
            try runner.run(make + [inputs.base], step: "config")
        }
        let fragments = try inputs.fragments.map { try KernelConfig(parsing: $0.text, file: $0.name) }
        let merged = ConfigMerge.merge(base: try KernelBuildInputs.read(obj + "/.config"), fragments: fragments)
        for note in merged.redefinitions { runner.note("redefined: \(note)") }
        try merged.text.write(toFile: obj + "/.config", atomically: false, encoding: .utf8)
        try runner.run(make + ["olddefconfig"], step: "config")
        let final = try KernelConfig(parsing: try KernelBuildInputs.read(obj + "/.config"), file: ".config")
        try checkConfig(final, merged: merged, src: src, checks: checks)

        let cpus = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        var progress = BuildProgress()
        var said = (stage: "", objects: 0)
        // A line per stage and per 250 objects: enough to see it move, few enough for a CI log.
        let onLine: (String) -> Void = { line in
            guard progress.take(line), progress.stage != said.stage || progress.objects >= said.objects + 250 else {
                return
            }
            said = (progress.stage, progress.objects)
            say(progress.line)
        }
        say("kernel: compiling with \(cpus) jobs")
        try runner.run(make + ["-j\(cpus)", "bzImage", "modules"], step: "compile", onLine: onLine)
        try runner.run(
            make + ["INSTALL_MOD_PATH=" + entry, "INSTALL_MOD_STRIP=1", "DEPMOD=/sbin/depmod", "modules_install"],
            step: "compile", onLine: onLine)
        say(progress.line)
        // The modules directory's build/source links point into the staging directory.
        let release = try runner.run(make + ["-s", "kernelrelease"], step: "compile").output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for link in ["build", "source"] {
            try? FileManager.default.removeItem(atPath: "\(entry)/lib/modules/\(release)/\(link)")
        }
        try uncompressModules(entry + "/lib/modules/" + release, release: release, entry: entry, runner: runner)
        try FileManager.default.copyItem(atPath: obj + "/arch/x86/boot/bzImage", toPath: entry + "/bzImage")
        try FileManager.default.copyItem(atPath: obj + "/.config", toPath: entry + "/config")
        try inputs.manifest.write(toFile: entry + "/inputs.txt", atomically: false, encoding: .utf8)
        runner.flush()
        try FileManager.default.copyItem(atPath: staging + "/build.log", toPath: entry + "/build.log")
        return entry
    }

    /// A kernel with MODULE_COMPRESS_* installs `.ko.xz` (or .zst, .gz); the entry keeps plain
    /// `.ko` files, as Debian's /lib/modules has, because the image builder strips and
    /// compresses the modules it ships itself. depmod then indexes the new names.
    static func uncompressModules(_ directory: String, release: String, entry: String, runner: Runner) throws {
        let tools = [".xz": ["xz", "-d"], ".zst": ["zstd", "-d", "-q", "--rm"], ".gz": ["gzip", "-d"]]
        var compressed: [String: [String]] = [:]
        let walker = FileManager.default.enumerator(atPath: directory)
        while let path = walker?.nextObject() as? String {
            for suffix in tools.keys where path.hasSuffix(".ko" + suffix) {
                compressed[suffix, default: []].append(directory + "/" + path)
            }
        }
        guard !compressed.isEmpty else { return }
        for (suffix, files) in compressed.sorted(by: { $0.key < $1.key }) {
            try runner.run((tools[suffix] ?? []) + files, step: "compile")
        }
        try runner.run(["/sbin/depmod", "-b", entry, release], step: "compile")
    }

    /// Refuses, before compiling, options Kconfig dropped (naming what they depend on) and a
    /// config a drone cannot boot with (the `check-kernel` report).
    static func checkConfig(
        _ final: KernelConfig, merged: ConfigMerge.Result, src: String, checks: [ConfigFragment]
    ) throws {
        let dropped = ConfigMerge.droppedOptions(merged.requests, final: final).filter { $0.value != .notSet }
        if !dropped.isEmpty {
            let kconfig = try loadKconfig(src)
            let lines = dropped.map { request in
                let unmet = kconfig.unmet(request.name, in: final)
                let why =
                    kconfig.definitions[String(request.name.dropFirst("CONFIG_".count))] == nil
                    ? "this kernel has no such option"
                    : unmet.isEmpty
                    ? "Kconfig changed it (a choice, a range, or an option that selects it)"
                    : "it depends on " + unmet.map(\.condition).joined(separator: " && ") + ", and "
                        + unmet.flatMap(\.culprits).joined(separator: ", ")
                return "\(ConfigMerge.render(request)) (\(request.file):\(request.line)) is \(final[request.name]) "
                    + "in the merged config: \(why)"
            }
            throw KernelBuildError(
                "config", lines.joined(separator: "\n  "),
                hint: "add the missing dependency to the fragment, or drop the option")
        }
        let compression: InitramfsCompression = final["CONFIG_RD_ZSTD"] == .builtin ? .zstd : .gzip
        let report = KernelCheck.check(config: final, fragments: checks, compression: compression)
        if !report.isBootable {
            throw KernelBuildError(
                "config", "a drone cannot boot this kernel:\n" + report.render(verbose: false),
                hint: "add the options to a fragment")
        }
    }

    /// The tree's Kconfig, from its top `Kconfig` through every `source`.
    static func loadKconfig(_ src: String) throws -> Kconfig {
        Kconfig.load { path in try? String(contentsOfFile: src + "/" + path, encoding: .utf8) }
    }

    public static let namedBases: Set<String> = ["tinyconfig", "defconfig", "allnoconfig", "x86_64_defconfig"]
    /// The epoch ClumpBuilder uses when nothing sets one.
    static let fixedEpoch = 1_700_000_000

    /// `Tue Nov 14 22:13:20 UTC 2023`, as `date` prints it (the form kbuild's banner shows).
    static func timestamp(epoch: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM d HH:mm:ss 'UTC' yyyy"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(epoch)))
    }

    static func environment(_ inputs: KernelBuildInputs) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["KBUILD_BUILD_TIMESTAMP"] = inputs.timestamp
        environment["KBUILD_BUILD_USER"] = inputs.user
        environment["KBUILD_BUILD_HOST"] = inputs.host
        environment["KBUILD_BUILD_VERSION"] = "1"
        environment["LC_ALL"] = "C"
        // The source tree is not a git checkout of ours: no "+" from setlocalversion.
        environment["LOCALVERSION"] = ""
        return environment
    }

    static func displayName(_ path: String, kernelConfig: String) -> String {
        path.hasPrefix(kernelConfig + "/") ? String(path.dropFirst(kernelConfig.count + 1)) : path
    }

    /// The newest `linux-source-*.tar.*` (Debian's `linux-source` package).
    static func defaultSource(in directory: String) throws -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("linux-source-") && $0.contains(".tar") }
            .sorted { VersionOrder.compare($0, $1) < 0 }
        guard let newest = names.last else {
            throw KernelBuildError(
                "source", "no linux-source-*.tar.* here", file: directory,
                hint: "apt-get install linux-source, or give --source DIR|TARBALL")
        }
        return directory + "/" + newest
    }

    /// A tarball by path, size and modification time; a tree by every file's path, size and time.
    static func identity(of source: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw KernelBuildError("source", "no such file or directory", file: source,
                hint: "give a kernel source tree or tarball")
        }
        var info = stat()
        guard !isDirectory.boolValue else {
            var lines: [String] = []
            let walker = FileManager.default.enumerator(atPath: source)
            while let path = walker?.nextObject() as? String {
                guard !path.hasPrefix(".git/"), stat(source + "/" + path, &info) == 0 else { continue }
                lines.append("\(path) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)")
            }
            return "tree sha256:" + KernelBuildInputs.digest(lines.sorted().joined(separator: "\n"))
        }
        guard stat(source, &info) == 0 else { throw KernelBuildError("source", "cannot stat", file: source) }
        return "tarball size \(info.st_size) mtime \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }

    static func toolchain() -> [String] {
        ["gcc", "ld", "make"].map { tool in
            let output = (try? Runner.capture([tool, "--version"])) ?? "missing"
            return output.split(separator: "\n").first.map(String.init) ?? "\(tool) missing"
        }
    }

    static func unpack(_ source: String, into src: String, runner: Runner) throws {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            // Hard links: patch(1) writes a new file and renames it, so the tree given is never changed.
            try runner.run(["cp", "-al", source + "/.", src], step: "source")
        } else {
            try runner.run(["tar", "-xf", source, "-C", src, "--strip-components=1"], step: "source")
        }
        guard FileManager.default.fileExists(atPath: src + "/Kconfig") else {
            throw KernelBuildError("source", "this is not a kernel source (no Kconfig at its top)", file: source)
        }
    }
}
