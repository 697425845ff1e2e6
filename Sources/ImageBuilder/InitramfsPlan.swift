import DroneProtocol
import JoinProtocol

/// Everything the RAM disk is made of, resolved on the host: paths, names and bytes.
/// Produced by `ClumpBuilder` (which reads the host); turned into entries purely.
public struct InitramfsInputs: Sendable {
    /// A host file placed at `path` in the image.
    public struct Placed: Sendable, Equatable {
        public var path: String
        public var host: String
        public var mode: UInt32
        public init(path: String, host: String, mode: UInt32) {
            self.path = path
            self.host = host
            self.mode = mode
        }
    }

    public var kernelVersion: String
    public var agent: String
    public var busybox: String
    /// Applet paths (`bin/ls`, `sbin/poweroff`, ...) that become links to busybox.
    public var applets: [String]
    /// Compressed modules, at `lib/modules/<version>/<path>.xz`.
    public var modules: [Placed]
    /// `modules.dep`, `modules.alias`, `modules.builtin` for exactly what is shipped.
    public var moduleIndexFiles: [String: String]
    public var firmware: [Placed]
    /// Extra files and shared libraries (symlinks recreated as such).
    public var files: [ImageEntry]
    /// Overlay entries, repo `rootfs/` first, later overlays win.
    public var overlay: [ImageEntry]
    /// Nil when the drone gets it by joining (see `join`).
    public var clusterKey: [UInt8]?
    /// The key being rotated out (`etc/clump/cluster.key.previous`), if any.
    public var previousClusterKey: [UInt8]? = nil
    /// `etc/clump/image`: key=value facts the agent and users read.
    public var imageInfo: String
    /// Where the master's join service is and its public key (`etc/clump/join`); nil for an open build.
    public var join: JoinSettings? = nil
}

/// Which part of the size budget an entry counts towards.
public enum BudgetCategory: String, CaseIterable, Sendable, Codable {
    case agent, busybox, modules, firmware, other
    /// `engine.slurm`: slurmd, munged, their plugins and libraries, the key.
    case engine
}

/// Builds the RAM disk's entry list from resolved inputs: pure, sorted, no root needed.
public enum InitramfsPlan {
    /// Names under which the agent binary offers its other tools.
    static let agentLinks = ["bin/clumpview", "bin/clumpnode"]

    /// Directories the agent mounts on or writes to.
    static let directories = ["dev", "proc", "sys", "run", "tmp", "root", "etc", "mnt", "var", "var/log"]

    /// Device nodes the kernel needs before devtmpfs is mounted: /dev/console for init's
    /// stdio (devices.txt: 5:1), /dev/null, /dev/tty (5:0). As records, so no mknod.
    static let devices: [ImageEntry] = [
        ImageEntry(path: "dev/console", content: .characterDevice(major: 5, minor: 1), mode: 0o600),
        ImageEntry(path: "dev/null", content: .characterDevice(major: 1, minor: 3), mode: 0o666),
        ImageEntry(path: "dev/tty", content: .characterDevice(major: 5, minor: 0), mode: 0o666),
    ]

    public static func entries(_ inputs: InitramfsInputs) -> [ImageEntry] {
        var byPath: [String: ImageEntry] = [:]
        func put(_ entry: ImageEntry) { byPath[entry.path] = entry }

        for dir in directories { put(ImageEntry(path: dir, content: .directory, mode: dir == "tmp" ? 0o1777 : 0o755)) }
        devices.forEach(put)
        // Overlays first: the builder's own files below must not be shadowed by one.
        inputs.overlay.forEach(put)
        inputs.files.forEach(put)
        put(ImageEntry(path: "bin/busybox", content: .file(.host(path: inputs.busybox)), mode: 0o755))
        for applet in inputs.applets where applet != "bin/busybox" && byPath[applet] == nil {
            put(ImageEntry(path: applet, content: .symlink(target: "/bin/busybox"), mode: 0o777))
        }
        moduleEntries(
            kernelVersion: inputs.kernelVersion, modules: inputs.modules, indexFiles: inputs.moduleIndexFiles
        ).forEach(put)
        for blob in inputs.firmware {
            put(ImageEntry(path: blob.path, content: .file(.host(path: blob.host)), mode: blob.mode))
        }
        if let key = inputs.clusterKey {
            put(ImageEntry(path: ImageFiles.entry(ImageFiles.clusterKey), content: .file(.bytes(key)), mode: 0o600))
        }
        if let join = inputs.join {
            put(ImageEntry(path: ImageFiles.entry(JoinSettings.path), content: .file(.bytes(Array(join.text.utf8))), mode: 0o644))
        }
        if let previous = inputs.previousClusterKey {
            put(ImageEntry(path: ImageFiles.entry(ImageFiles.previousClusterKey), content: .file(.bytes(previous)), mode: 0o600))
        }
        put(ImageEntry(path: ImageFiles.entry(ImageFiles.imageInfo), content: .file(.bytes(Array(inputs.imageInfo.utf8))), mode: 0o644))
        put(ImageEntry(path: "init", content: .file(.host(path: inputs.agent)), mode: 0o755))
        // The agent is also the drone's cluster view, chosen by the name it is run as: a second
        // static Swift program would cost the RAM disk another 7 MB.
        for tool in agentLinks { put(ImageEntry(path: tool, content: .symlink(target: "/init"), mode: 0o777)) }
        return byPath.values.sorted { $0.path < $1.path }
    }

    /// Compressed modules at their paths, and the module index files beside them.
    static func moduleEntries(
        kernelVersion: String, modules: [InitramfsInputs.Placed], indexFiles: [String: String]
    ) -> [ImageEntry] {
        let moduleRoot = "lib/modules/\(kernelVersion)"
        return modules.map { ImageEntry(path: $0.path, content: .file(.host(path: $0.host)), mode: $0.mode) }
            + indexFiles.map { name, text in
                ImageEntry(path: "\(moduleRoot)/\(name)", content: .file(.bytes(Array(text.utf8))), mode: 0o644)
            }
    }

    /// NFS-root nodes' second RAM disk (`nfsroot.img`): only modules and the index of image and
    /// add-on together. The kernel unpacks it over the image's, so its index files replace the image's.
    public static func addOnEntries(
        kernelVersion: String, modules: [InitramfsInputs.Placed], indexFiles: [String: String]
    ) -> [ImageEntry] {
        moduleEntries(kernelVersion: kernelVersion, modules: modules, indexFiles: indexFiles).sorted { $0.path < $1.path }
    }

    /// The budget line an image path counts towards.
    public static func category(of path: String) -> BudgetCategory {
        if path == "init" { return .agent }
        if path == "bin/busybox" { return .busybox }
        if path.hasPrefix("lib/modules/") { return .modules }
        if path.hasPrefix("lib/firmware/") { return .firmware }
        return .other
    }
}
