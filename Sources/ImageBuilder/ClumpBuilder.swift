import BootMenus
import ClumpVersion
import ELF
import Foundation
import ImageSpec
import JoinProtocol
import Kernel

/// What `clumpbuild build` was asked to do.
public struct BuildRequest: Sendable {
    public var specPath: String?
    public var outDir: String
    /// The host root the kernel, modules, boot loaders and busybox are read from.
    public var root: String
    public var environment: [String: String]

    public init(
        specPath: String?, outDir: String, root: String = "/",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.specPath = specPath
        self.outDir = outDir
        self.root = root
        self.environment = environment
    }
}

/// The master's side of clump: spec in, ISO and PXE tree out.
///
/// Order matters for the promise "a bad spec writes nothing": everything that can be
/// wrong with the input is resolved (and reported with its spec location) before the
/// first byte is written; outputs are staged beside the out directory and renamed in.
public enum ClumpBuilder {
    /// The epoch used when neither the spec nor SOURCE_DATE_EPOCH sets one.
    public static let fixedEpoch = 1_700_000_000

    public static func build(_ request: BuildRequest, log: (String) -> Void) throws -> BuildReport {
        let started = Date()
        let resources = try Resources.locate(environment: request.environment)
        let spec = try withoutActuallyEscaping(log) { log in
            try withBuiltKernel(loadSpec(request.specPath), environment: request.environment, log: log)
        }
        let resolved = try HostResolver(spec: spec, request: request, resources: resources).resolve()
        log("clump: kernel \(resolved.kernel.version), \(resolved.modules.count) modules, compression \(resolved.compression.rawValue)")

        let staging = try makeStaging(for: request.outDir)
        defer { try? FileManager.default.removeItem(atPath: staging) }

        let key = try ClusterKey.loadOrCreate(at: resolved.keyFile, log: log)
        let compressor = ModuleCompressor(environment: request.environment, strip: resolved.stripModules)
        // Raw modules in, their compressed copies at `<path>.xz` out.
        func compressed(_ modules: [InitramfsInputs.Placed]) throws -> [InitramfsInputs.Placed] {
            zip(modules, try compressor.compress(modules.map(\.host), scratch: staging)).map { module, packed in
                InitramfsInputs.Placed(path: module.path + ".xz", host: packed, mode: 0o644)
            }
        }
        var inputs = resolved.initramfs
        let previousKey = try resolved.previousKeyFile.map { try ClusterKey.load(at: $0) }
        if let join = resolved.join {
            // The image is public: the drone earns the keys by joining, and pins the master by this key.
            let pair = try JoinKey.loadOrCreate(at: join.keyFile, log: log)
            inputs.join = JoinSettings(master: join.master, masterKey: pair.publicKey)
        } else {
            inputs.clusterKey = key
            inputs.previousClusterKey = previousKey
            log(resolved.openReason)
        }
        inputs.modules = try compressed(resolved.modules)
        let entries = InitramfsPlan.entries(inputs)
        let initrd = staging + "/initrd.img"
        let ramdisk = try InitramfsWriter.write(entries, to: initrd, compression: resolved.compression, mtime: resolved.epoch)

        var menu = resolved.menu
        var addOn: (path: String, stats: ArchiveStats, modules: Int)?
        if let extra = resolved.nfsrootAddOn {
            let placed = try compressed(extra.modules)
            let path = staging + "/" + BootMenu.nfsrootAddOnName
            let stats = try InitramfsWriter.write(
                InitramfsPlan.addOnEntries(
                    kernelVersion: resolved.kernel.version, modules: placed, indexFiles: extra.moduleIndexFiles),
                to: path, compression: resolved.compression, mtime: resolved.epoch)
            addOn = (path, stats, placed.count)
            menu.nfsrootAddOn = BootMenu.nfsrootAddOnName
        }

        var outputs: [(staged: String, final: String)] = []
        if let isoName = resolved.isoName {
            let iso = staging + "/" + isoName
            try writeISO(iso, resolved: resolved, initrd: initrd, addOn: addOn?.path, menu: menu, scratch: staging)
            outputs.append((iso, isoName))
        }
        if let pxeName = resolved.pxeName {
            let tree = staging + "/" + pxeName
            try writePXETree(tree, resolved: resolved, initrd: initrd, addOn: addOn?.path, menu: menu)
            outputs.append((tree, pxeName))
        }
        try FileManager.default.createDirectory(atPath: request.outDir, withIntermediateDirectories: true)
        for (staged, name) in outputs { try replace(request.outDir + "/" + name, with: staged) }

        var budget = SizeBudget(
            entries: entries, kernelImage: resolved.kernel.image, ramdisk: ramdisk,
            modulesLoaded: resolved.modules.reduce(0) { $0 + fileSize($1.host) }, enginePaths: resolved.enginePaths)
        if let addOn {
            budget.nfsrootAddOn = SizeBudget.AddOn(
                count: addOn.modules, compressed: addOn.stats.writtenBytes, unpacked: addOn.stats.unpackedBytes)
        }
        if resolved.isoName != nil {
            budget.efiImage = fileSize(staging + "/" + Self.efiImageName)
            budget.secureBoot = resolved.secureBoot
        }
        return BuildReport(
            outDir: request.outDir, outputs: outputs.map(\.final), budget: budget,
            seconds: Date().timeIntervalSince(started))
    }

    /// `clumpbuild init`: the starter spec, never clobbering a file unless asked.
    public static func writeStarterSpec(to path: String, overwrite: Bool) throws {
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw ImageBuilderError.io("refusing to overwrite", path: path, hint: "pass --force to replace it")
        }
        try writeAtomically(Array(StarterSpec.render().utf8), to: path)
    }

    /// `clumpbuild check-kernel`: the config against kernel-config/, and optionally
    /// against the master's config. Not ok when a required option is missing or a
    /// difference would break process migration.
    public static func checkKernel(
        config: String?, against master: String?, compression: String, verbose: Bool = false, root: String = "/"
    ) throws -> (ok: Bool, text: String) {
        guard let chosen = InitramfsCompression(rawValue: compression) else {
            throw ImageBuilderError.io(
                "unknown compression \(compression)", path: "--compression",
                hint: InitramfsCompression.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let resources = try Resources.locate()
        do {
            let path = try config ?? {
                let spec = Spec(baseDirectory: FileManager.default.currentDirectoryPath)
                guard let found = try KernelLocator(root: root).locate(spec).config else {
                    throw ImageBuilderError.io("no kernel config found", path: root + "boot", hint: "pass --config FILE")
                }
                return found
            }()
            let node = try KernelConfig.load(path: path)
            let report = KernelCheck.check(
                config: node, fragments: try ConfigFragment.load(directory: resources.kernelConfig), compression: chosen)
            var text = report.render(verbose: verbose)
            var ok = report.isBootable
            if let master {
                let masterConfig = try KernelConfig.load(path: master)
                let differences = KernelCheck.compare(master: masterConfig, node: node)
                text += "\n" + KernelCheck.render(differences, master: masterConfig, node: node)
                ok = ok && differences.isEmpty
            }
            return (ok, text)
        } catch let error as KernelError {
            throw ImageBuilderError.io("\(error)", path: config ?? "kernel config", hint: "check the file")
        }
    }

    static func loadSpec(_ path: String?) throws -> Spec {
        guard let path else {
            return Spec(baseDirectory: FileManager.default.currentDirectoryPath)
        }
        return try SpecLoader.load(path: path)
    }

    /// The EFI system partition image, staged before it goes into the ISO.
    static let efiImageName = "efi.img"

    private static func writeISO(
        _ path: String, resolved: ResolvedBuild, initrd: String, addOn: String?, menu: BootMenu, scratch: String
    ) throws {
        let loaders = resolved.loaders
        let esp = scratch + "/" + Self.efiImageName
        let grubImage = scratch + "/grubx64.efi"
        if !resolved.secureBoot { try resolved.uefi.makeGrubImage(at: grubImage, scratch: scratch) }
        try ESPImage.write(
            resolved.uefi.espFiles(secureBoot: resolved.secureBoot, grubImage: grubImage), to: esp,
            epoch: resolved.epoch, seed: "\(resolved.label)/\(resolved.epoch)")
        let grubConfig = menu.grubConfig(
            kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img", version: ClumpVersion.string)
        // GRUB finds the ISO by this file, on a CD or anywhere on a USB stick.
        let diskInfo = "clump \(ClumpVersion.string) \(resolved.label)\n"
        var files: [(String, ImageEntry.ImageData)] = [
            (".disk/info", .bytes(Array(diskInfo.utf8))),
            ("boot/grub/efi.img", .host(path: esp)),
            ("boot/grub/grub.cfg", .bytes(Array(grubConfig.utf8))),
            ("isolinux/isolinux.bin", .host(path: loaders.isolinux)),
            ("isolinux/ldlinux.c32", .host(path: loaders.ldlinux)),
            ("isolinux/isolinux.cfg", .bytes(Array(menu.syslinuxConfig(kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img", display: "boot.txt").utf8))),
            ("isolinux/boot.txt", .bytes(Array(menu.displayText(version: ClumpVersion.string).utf8))),
            ("boot/vmlinuz", .host(path: resolved.kernel.image)),
            ("boot/initrd.img", .host(path: initrd)),
        ]
        // The CD carries the add-on only when its menu has an nfsroot entry to load it.
        if let addOn, menu.modes.contains(.nfsroot) {
            files.append(("boot/" + BootMenu.nfsrootAddOnName, .host(path: addOn)))
        }
        let entries = files.map { ImageEntry(path: $0.0, content: .file($0.1), mode: 0o444) }
        let options = ISOOptions(
            volumeID: resolved.label, hybridMBR: try readFile(loaders.isohybridMBR), mtime: resolved.epoch,
            efiImage: "boot/grub/efi.img")
        _ = try ISOWriter.write(entries, to: path, options: options)
    }

    private static func writePXETree(
        _ dir: String, resolved: ResolvedBuild, initrd: String, addOn: String?, menu: BootMenu
    ) throws {
        let loaders = resolved.loaders
        let texts: [(String, String)] = [
            (
                "pxelinux.cfg/default",
                menu.syslinuxConfig(kernel: "vmlinuz", initrd: "initrd.img", display: "boot.txt", bootInterface: true)
            ),
            ("boot.txt", menu.displayText(version: ClumpVersion.string)),
            ("boot.ipxe", menu.ipxeScript(kernel: "vmlinuz", initrd: "initrd.img", version: ClumpVersion.string)),
            // Debian's signed network GRUB reads <TFTP root>/grub/grub.cfg wherever it was loaded from.
            (
                "grub/grub.cfg",
                menu.grubConfig(
                    kernel: "/vmlinuz", initrd: "/initrd.img", version: ClumpVersion.string, bootInterface: true)
            ),
        ]
        let copies: [(String, String)] = [
            ("pxelinux.0", loaders.pxelinux), ("ldlinux.c32", loaders.ldlinux),
            ("vmlinuz", resolved.kernel.image), ("initrd.img", initrd),
        ] + resolved.uefi.pxeFiles() + (addOn.map { [(BootMenu.nfsrootAddOnName, $0)] } ?? [])
        for (name, text) in texts { try writeAtomically(Array(text.utf8), to: dir + "/" + name) }
        for (name, host) in copies { try writeAtomically(try readFile(host), to: dir + "/" + name) }
    }

    private static func makeStaging(for outDir: String) throws -> String {
        // Through URL, made absolute first: NSString's standardizingPath traps on a one-letter relative
        // path (`--out b`) in this Foundation.
        let parent = URL(fileURLWithPath: outDir).standardizedFileURL.deletingLastPathComponent().path
        let path = parent + "/.clump-staging-\(getpid())"
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ImageBuilderError.io("create staging directory", path: path, hint: "check that \(parent) is writable")
        }
        return path
    }

    /// Puts a staged file or tree in place; the old one is removed only once the new one is in.
    private static func replace(_ final: String, with staged: String) throws {
        let old = final + ".old-\(getpid())"
        let hadOld = FileManager.default.fileExists(atPath: final)
        if hadOld { guard rename(final, old) == 0 else { throw ImageBuilderError.io("move aside", path: final, hint: "check permissions") } }
        guard rename(staged, final) == 0 else {
            if hadOld { rename(old, final) }
            throw ImageBuilderError.io("move into place", path: final, hint: "check permissions")
        }
        if hadOld { try? FileManager.default.removeItem(atPath: old) }
    }
}

/// The master's join key pair: made once, kept beside the spec (0600), its public half in every image.
enum JoinKey {
    static func loadOrCreate(at path: String, log: (String) -> Void) throws -> KeyPair {
        if FileManager.default.fileExists(atPath: path) {
            guard let pair = JoinKeyFile.keyPair(from: try readFile(path)) else {
                throw ImageBuilderError.io(
                    "not a join key (64 hex digits)", path: path,
                    hint: "remove it to have a new one made; drones booted from older images then refuse this master")
            }
            return pair
        }
        let pair = KeyPair.generate()
        try writeAtomically(JoinKeyFile.contents(of: pair), to: path, mode: 0o600)
        log("clump: generated the master's join key in \(path): keep it secret; images pin its public half")
        return pair
    }
}

/// The cluster key every node of a cluster shares: made once, kept beside the spec,
/// reused by every build (so builds stay reproducible and images of one cluster agree).
enum ClusterKey {
    static func loadOrCreate(at path: String, log: (String) -> Void) throws -> [UInt8] {
        if FileManager.default.fileExists(atPath: path) { return try load(at: path) }
        var key = [UInt8](repeating: 0, count: 32)
        guard getentropy(&key, key.count) == 0 else {
            throw ImageBuilderError.io("getentropy", path: path, hint: "the kernel's random source failed")
        }
        let text = Array((key.map { String(format: "%02x", $0) }.joined() + "\n").utf8)
        try writeAtomically(text, to: path, mode: 0o600)
        log("clump: generated a new cluster key in \(path): keep it, every image of this cluster needs the same key")
        return text
    }

    /// An existing key file.
    static func load(at path: String) throws -> [UInt8] {
        let bytes = try readFile(path)
        guard bytes.count >= 16 else {
            throw ImageBuilderError.io(
                "cluster key too short (\(bytes.count) bytes)", path: path,
                hint: "remove it to have a new one generated, or put at least 32 random bytes in it")
        }
        return bytes
    }
}
