import BootMenus
import ClumpVersion
import DroneProtocol
import ELF
import Foundation
import ImageSpec
import Kernel

/// A spec resolved against the host: every path checked, every module chosen.
struct ResolvedBuild {
    var kernel: ResolvedKernel
    var compression: ImageCompression
    var stripModules: Bool
    /// Raw modules: `path` in the image (without the `.xz` the builder adds), `host` the `.ko`.
    var modules: [InitramfsInputs.Placed]
    var initramfs: InitramfsInputs
    var keyFile: String
    /// `cluster.previous-key-file`, checked to exist.
    var previousKeyFile: String?
    /// The master's join key file and address, unless the build is open (its keys in the image).
    var join: (keyFile: String, master: String)?
    /// What an open build tells the admin: whose keys are in the image, and why.
    var openReason: String = ""
    var epoch: Int
    var menu: BootMenu
    var label: String
    var isoName: String?
    var pxeName: String?
    var loaders: BootLoaders
    var uefi: UEFILoaders
    /// `boot.secure-boot`: the CD/USB boots through shim and Debian's signed GRUB.
    var secureBoot: Bool
    /// The engine's entries (`engine.slurm`), counted on their own line of the size budget.
    var enginePaths: Set<String> = []
    /// NFS-root nodes' add-on RAM disk, when the image leaves out modules they need.
    var nfsrootAddOn: NFSRootAddOn?
}

/// What only NFS-root nodes load, as a second RAM disk beside the image's (`nfsroot.img`): the NFS
/// client and overlayfs modules the drone image does not ship, and the module index of both
/// together, which replaces the image's as the kernel unpacks the second archive over the first.
/// Drones never load it, so the drone's RAM disk keeps its size target.
struct NFSRootAddOn {
    /// Raw modules, as `ResolvedBuild.modules`.
    var modules: [InitramfsInputs.Placed]
    var moduleIndexFiles: [String: String]
}

/// The syslinux pieces, from Debian's isolinux, pxelinux and syslinux-common.
struct BootLoaders {
    var isolinux: String
    var isohybridMBR: String
    var ldlinux: String
    var pxelinux: String

    static func locate(root: String) throws -> BootLoaders {
        let loaders = BootLoaders(
            isolinux: root + "usr/lib/ISOLINUX/isolinux.bin",
            isohybridMBR: root + "usr/lib/ISOLINUX/isohdpfx.bin",
            ldlinux: root + "usr/lib/syslinux/modules/bios/ldlinux.c32",
            pxelinux: root + "usr/lib/PXELINUX/pxelinux.0")
        try requireInstalled(
            [
                (loaders.isolinux, "isolinux"), (loaders.isohybridMBR, "isolinux"), (loaders.ldlinux, "syslinux-common"),
                (loaders.pxelinux, "pxelinux"),
            ], what: "boot loader missing")
        return loaders
    }
}

/// Fails on the first file that is not there, naming the Debian package that installs it.
func requireInstalled(_ files: [(path: String, package: String)], what: String) throws {
    for (path, package) in files where !FileManager.default.fileExists(atPath: path) {
        throw ImageBuilderError.io(what, path: path, hint: "apt-get install \(package)")
    }
}

/// Turns a spec into a `ResolvedBuild`, reading the host (under `request.root`) but
/// writing nothing. Every problem traceable to the spec is a `SpecError` at its key.
struct HostResolver {
    let spec: Spec
    let request: BuildRequest
    let resources: Resources

    private var root: String { request.root.hasSuffix("/") ? request.root : request.root + "/" }

    func resolve() throws -> ResolvedBuild {
        let kernel = try KernelLocator(root: request.root).locate(spec)
        let config = try kernel.config.map { path in
            do { return try KernelConfig.load(path: path) } catch {
                throw specError("kernel.config", "cannot read the kernel config: \(error)", hint: "point kernel.config at the kernel's .config")
            }
        }
        let compression = try chooseCompression(config: config)
        if spec.drivers.strip, config?["CONFIG_MODULE_SIG_FORCE"] == .builtin {
            throw specError(
                "drivers.strip", "this kernel loads only signed modules (CONFIG_MODULE_SIG_FORCE), and stripping drops signatures",
                hint: "set `drivers: {strip: false}`")
        }
        if spec.boot.secureBoot { try checkSecureBoot(kernel) }
        let index = try loadModuleIndex(kernel)
        let selected = try selectDrivers(index)
        let moduleRoot = "lib/modules/\(kernel.version)"
        let modules = selected.map { module in
            InitramfsInputs.Placed(path: "\(moduleRoot)/\(module.path)", host: kernel.modulesDir + "/" + module.path, mode: 0o644)
        }
        let firmware: [InitramfsInputs.Placed]
        do {
            firmware = try Firmware.resolve(for: selected, in: index, root: request.root).files.map {
                InitramfsInputs.Placed(path: String($0.pathInImage.drop { $0 == "/" }), host: $0.hostPath, mode: 0o644)
            }
        } catch {
            throw ImageBuilderError.io("read module firmware list: \(error)", path: kernel.modulesDir, hint: "check the module files")
        }
        let indexFiles = try moduleIndexFiles(index, shipping: selected, kernel: kernel)
        let nfsrootAddOn = try nfsrootAddOn(index, shipped: selected, kernel: kernel)

        let agent = try staticAgent()
        let busybox = try existingFile(spec.busybox, key: "busybox", hint: "apt-get install busybox-static")
        let applets = try busyboxApplets(busybox)
        var files = try closureEntries(for: busybox, key: "busybox")
        files += try extraFiles()
        let overlay = try overlays()
        let engine = try engineEntries(overlay: overlay)
        files += engine
        let epoch = spec.sourceDateEpoch ?? request.environment["SOURCE_DATE_EPOCH"].flatMap(Int.init) ?? ClumpBuilder.fixedEpoch

        let menu = BootMenu(spec: spec)
        let info = [
            "version=\(ClumpVersion.string)", "kernel=\(kernel.version)", "built=\(epoch)",
            "modes=\(menu.modes.map(\.rawValue).joined(separator: " "))", "modules=\(modules.count)", "firmware=\(firmware.count)",
        ].joined(separator: "\n") + (spec.engine.isOn ? "\nengine=slurm" : "") + "\n"
        let inputs = InitramfsInputs(
            kernelVersion: kernel.version, agent: agent, busybox: busybox, applets: applets, modules: [],
            moduleIndexFiles: indexFiles, firmware: firmware, files: files, overlay: overlay, clusterKey: nil,
            imageInfo: info)
        return ResolvedBuild(
            kernel: kernel, compression: compression, stripModules: spec.drivers.strip, modules: modules, initramfs: inputs,
            keyFile: spec.resolve(spec.cluster.keyFile), previousKeyFile: try previousKeyFile(),
            join: spec.cluster.effectiveJoin == .open ? nil
                : (keyFile: spec.resolve(spec.cluster.joinKeyFile), master: spec.cluster.effectiveMaster.map { "\($0)" } ?? ""),
            openReason: openReason(), epoch: epoch, menu: menu, label: spec.label,
            isoName: spec.outputs.iso, pxeName: spec.outputs.pxe, loaders: try BootLoaders.locate(root: root),
            uefi: try UEFILoaders.locate(root: root), secureBoot: spec.boot.secureBoot,
            enginePaths: Set(engine.map(\.path)), nfsrootAddOn: nfsrootAddOn)
    }

    /// `modules.dep`, `.alias`, `.softdep` and `.builtin` for exactly the modules shipped.
    private func moduleIndexFiles(
        _ index: ModuleIndex, shipping modules: [KernelModule], kernel: ResolvedKernel
    ) throws -> [String: String] {
        do {
            return [
                "modules.dep": try index.renderDep(shipping: modules, rename: ModuleIndex.compressedPath),
                "modules.alias": try index.renderAlias(shipping: modules),
                "modules.softdep": try index.renderSoftdep(shipping: modules),
                "modules.builtin": index.renderBuiltin(),
            ]
        } catch {
            throw ImageBuilderError.io("render module index: \(error)", path: kernel.modulesDir, hint: "regenerate it with depmod")
        }
    }

    /// The `nfsroot` driver group's modules that the image does not ship, or nil when it ships them
    /// all (the spec includes the group), the kernel has them built in, or the spec excludes them
    /// (then an NFS-root node says at boot which module it lacks).
    private func nfsrootAddOn(
        _ index: ModuleIndex, shipped: [KernelModule], kernel: ResolvedKernel
    ) throws -> NFSRootAddOn? {
        guard
            let both = try? DriverSelection.select(
                spec.drivers.include + ["nfsroot"], excluding: spec.drivers.exclude, from: index
            ).modules
        else { return nil }
        let have = Set(shipped.map(\.name))
        let extra = both.filter { !have.contains($0.name) }
        guard !extra.isEmpty else { return nil }
        let moduleRoot = "lib/modules/\(kernel.version)"
        return NFSRootAddOn(
            modules: extra.map {
                InitramfsInputs.Placed(path: "\(moduleRoot)/\($0.path)", host: kernel.modulesDir + "/" + $0.path, mode: 0o644)
            },
            moduleIndexFiles: try moduleIndexFiles(index, shipping: both, kernel: kernel))
    }

    /// The warning an open build prints: its keys are in the image, readable by anyone who reads that.
    private func openReason() -> String {
        let keys = spec.engine.isOn ? "the cluster key and the MUNGE key are" : "the cluster key is"
        if spec.cluster.effectiveMaster == nil {
            return "clump: no cluster.network, so no master approves joins: this image is open, \(keys) in it "
                + "(fine for a CD-only cluster; set cluster.network to keep the keys on the master)"
        }
        return "clump: warning: cluster.join is open: \(keys) in the image, and TFTP hands it to any PC on the "
            + "LAN, which can then forge announcements\(spec.engine.isOn ? " and run jobs as root" : ""); isolated networks only"
    }

    /// `engine.slurm`: slurmd, munged and what they load, the MUNGE key, the users (see `SlurmImage`).
    private func engineEntries(overlay: [ImageEntry]) throws -> [ImageEntry] {
        let slurm = spec.engine.slurm
        guard spec.engine.isOn else { return [] }
        let controllerKey = "engine.slurm.controller"
        var programs: [(path: String, host: String)] = []
        for (path, package) in SlurmImage.programs {
            let host = URL(fileURLWithPath: root + String(path.dropFirst())).resolvingSymlinksInPath().path
            guard FileManager.default.isExecutableFile(atPath: host) else {
                throw specError(
                    controllerKey, "the Slurm engine needs \(path), which is not installed on this host",
                    hint: "apt-get install \(package)")
            }
            programs.append((path, host))
        }
        for plugin in SlurmNode.plugins where !FileManager.default.fileExists(atPath: root + plugin.dropFirst()) {
            throw specError(
                controllerKey, "the Slurm engine needs the plugin \(plugin)", hint: "apt-get install slurmd")
        }
        let keyFile = spec.resolve(slurm.mungeKeyFile)
        // The master reads the key to deliver it to approved drones, so it must be there either way.
        guard FileManager.default.isReadableFile(atPath: keyFile) else {
            throw specError(
                "engine.slurm.munge-key-file", "\(keyFile): no such file",
                hint: "name the controller's MUNGE key (apt-get install munge makes /etc/munge/munge.key; "
                    + "`mungekey --create` writes a new one)")
        }
        var libraries: [ImageEntry] = []
        var seen: Set<String> = []
        for (index, program) in programs.enumerated() {
            let plugins = index == 0 ? SlurmNode.plugins : []
            let needs: [SharedLibraryClosure.Entry]
            do {
                needs = try SharedLibraryClosure.resolve(binary: program.path, plugins: plugins, root: request.root)
            } catch {
                throw specError(controllerKey, "\(program.path): \(error)", hint: "apt-get install slurmd munge")
            }
            for item in needs where seen.insert(item.pathInImage).inserted {
                let path = String(item.pathInImage.drop { $0 == "/" })
                libraries.append(
                    item.symlinkTarget.map { .symlink(path, to: $0) }
                        ?? .hostFile(path, from: item.hostPath, mode: 0o755))
            }
        }
        func text(_ path: String) -> String {
            guard case .file(.host(let host))? = overlay.last(where: { $0.path == path })?.content,
                let data = FileManager.default.contents(atPath: host)
            else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
        func host(_ path: String) -> String {
            FileManager.default.contents(atPath: request.root + "/" + path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        let accounts = SlurmImage.jobAccounts(passwd: host("etc/passwd"), group: host("etc/group"))
        return SlurmImage.entries(
            settings: slurm, programs: programs, libraries: libraries, keyFile: spec.cluster.effectiveJoin == .open ? keyFile : nil,
            passwd: text("etc/passwd"), group: text("etc/group"), accounts: accounts)
    }

    /// Secure Boot firmware runs only signed code, and the kernel it starts locks itself down
    /// (it loads only modules with a valid signature): the kernel must be signed, and the modules
    /// must keep their signatures.
    private func checkSecureBoot(_ kernel: ResolvedKernel) throws {
        if spec.drivers.strip {
            let key = spec.nearestLocation(of: "drivers.strip") != nil ? "drivers.strip" : "boot.secure-boot"
            throw specError(
                key, "boot.secure-boot needs the modules' signatures, and drivers.strip drops them "
                    + "(a locked-down kernel refuses unsigned modules)",
                hint: "set `drivers: {strip: false}`, or `boot: {secure-boot: false}`")
        }
        let head: [UInt8]
        do { head = try readFile(kernel.image) } catch {
            throw specError("kernel.image", "cannot read \(kernel.image)", hint: "check the file")
        }
        guard PESignature.isSigned(head) else {
            let key = spec.nearestLocation(of: "kernel.image") != nil ? "kernel.image" : "boot.secure-boot"
            throw specError(
                key, "\(kernel.image) is not signed, and Secure Boot firmware starts only signed kernels",
                hint: "use a kernel signed for Secure Boot (Debian's linux-image-amd64 is), or set "
                    + "`boot: {secure-boot: false}` and switch Secure Boot off in the firmware")
        }
    }

    /// The key being rotated out must exist: a typo would otherwise cut off every node that
    /// still signs with it.
    private func previousKeyFile() throws -> String? {
        guard let file = spec.cluster.previousKeyFile.map(spec.resolve) else { return nil }
        guard FileManager.default.fileExists(atPath: file) else {
            throw specError(
                "cluster.previous-key-file", "\(file) does not exist",
                hint: "name the key file the running nodes were built with, or remove the setting")
        }
        return file
    }

    private func specError(_ key: String, _ message: String, hint: String? = nil) -> SpecError {
        spec.error(key, message, hint: hint)
    }

    /// zstd when the kernel can unpack it (CONFIG_RD_ZSTD), else gzip, which every kernel
    /// with an initramfs can. Without a kernel config we cannot know: gzip is the safe bet.
    private func chooseCompression(config: KernelConfig?) throws -> ImageCompression {
        func supports(_ option: String) -> Bool { config?[option] == .builtin }
        switch spec.compression {
        case .auto: return supports("CONFIG_RD_ZSTD") ? .zstd : .gzip
        case .none: return .none
        case .gzip, .zstd, .xz:
            let chosen = ImageCompression(rawValue: spec.compression.rawValue) ?? .gzip
            let option = "CONFIG_RD_\(chosen.rawValue.uppercased())"
            if let config, config[option] != .builtin {
                throw specError(
                    "compression", "the kernel cannot unpack a \(chosen.rawValue) initramfs (\(option) is not set in \(config.file))",
                    hint: "use `compression: auto`, or a kernel built with \(option)=y")
            }
            return chosen
        }
    }

    /// Reads the module index from the spec's modules directory (which need not be under
    /// /lib/modules: a user's own MOSIX kernel tree works the same).
    private func loadModuleIndex(_ kernel: ResolvedKernel) throws -> ModuleIndex {
        let dir = kernel.modulesDir
        func read(_ name: String, required: Bool) throws -> [UInt8] {
            if let data = FileManager.default.contents(atPath: dir + "/" + name) { return [UInt8](data) }
            if required {
                throw specError(
                    "kernel.modules", "cannot read \(dir)/\(name)",
                    hint: "point kernel.modules at /lib/modules/<version> of this kernel (run depmod if modules.dep is missing)")
            }
            return []
        }
        do {
            return try ModuleIndex(
                dep: read("modules.dep", required: true), alias: read("modules.alias", required: false),
                builtin: read("modules.builtin", required: false), softdep: read("modules.softdep", required: false),
                directory: dir, release: kernel.version)
        } catch let error as SpecError {
            throw error
        } catch {
            throw specError("kernel.modules", "bad module index: \(error)", hint: "regenerate it with depmod \(kernel.version)")
        }
    }

    /// Each name is checked on its own first, so every unknown one is reported at its own
    /// place in the spec.
    private func selectDrivers(_ index: ModuleIndex) throws -> [KernelModule] {
        var problems: [SpecDiagnostic] = []
        for (key, names) in [("drivers.include", spec.drivers.include), ("drivers.exclude", spec.drivers.exclude)] {
            for (i, name) in names.enumerated() {
                do {
                    _ = try DriverSelection.select([name], from: index)
                } catch let error as KernelError {
                    problems.append(spec.diagnostic("\(key)[\(i)]", error.message, hint: error.hint))
                }
            }
        }
        if !problems.isEmpty { throw SpecError(diagnostics: problems) }
        do {
            return try DriverSelection.select(spec.drivers.include, excluding: spec.drivers.exclude, from: index).modules
        } catch let error as KernelError {
            throw specError("drivers.exclude", error.message, hint: error.hint)
        }
    }

    /// The agent runs before anything else exists: it must be one static binary.
    private func staticAgent() throws -> String {
        let path = spec.agent.map(spec.resolve) ?? resources.agent(environment: request.environment)
        let key = "agent"
        guard FileManager.default.fileExists(atPath: path) else {
            throw specError(key, "the drone agent \(path) does not exist", hint: "build it: scripts/quickstart, or set `agent:`")
        }
        let elf = try ELFFile(bytes: readFile(path), path: path)
        if elf.interpreter != nil {
            throw specError(
                key, "the drone agent \(path) is dynamically linked; /init must be static",
                hint: "build it with -static-executable (scripts/lib.sh clump_build)")
        }
        return path
    }

    private func existingFile(_ path: String, key: String, hint: String) throws -> String {
        let resolved = spec.resolve(path)
        guard FileManager.default.isReadableFile(atPath: resolved) else {
            throw specError(key, "\(resolved): no such file", hint: hint)
        }
        return resolved
    }

    /// The applet links busybox itself declares (`--list-full`: `bin/ls`, `sbin/halt`, ...).
    private func busyboxApplets(_ busybox: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: busybox)
        process.arguments = ["--list-full"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw specError("busybox", "cannot run \(busybox) --list-full: \(error)", hint: "use Debian's busybox-static")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let applets = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { $0.contains("/") && !$0.hasPrefix("/") }
        guard process.terminationStatus == 0, applets.contains("bin/sh") else {
            throw specError("busybox", "\(busybox) does not list a bin/sh applet", hint: "use Debian's busybox-static")
        }
        return applets
    }

    /// Shared libraries a dynamic binary needs, as image entries (none for static ones).
    private func closureEntries(for binary: String, key: String) throws -> [ImageEntry] {
        let needs: [SharedLibraryClosure.Entry]
        do {
            needs = try SharedLibraryClosure.resolve(binary: binary, root: request.root)
        } catch {
            throw specError(key, "\(binary): \(error)", hint: "install the missing library, or drop the file")
        }
        return needs.map { item in
            let path = String(item.pathInImage.drop { $0 == "/" })
            if let target = item.symlinkTarget {
                return ImageEntry(path: path, content: .symlink(target: target), mode: 0o777)
            }
            return ImageEntry(path: path, content: .file(.host(path: item.hostPath)), mode: 0o755)
        }
    }

    private func extraFiles() throws -> [ImageEntry] {
        var entries: [ImageEntry] = []
        for (i, file) in spec.files.enumerated() {
            let key = "files[\(i)]"
            let source = spec.resolve(file.source)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isDir), !isDir.boolValue else {
                throw specError(key, "\(source): no such file", hint: "files copies single files; use overlays for directories")
            }
            let mode = file.mode ?? UInt32(((try? FileManager.default.attributesOfItem(atPath: source))?[.posixPermissions] as? Int) ?? 0o644)
            let target = String(file.target.drop { $0 == "/" })
            entries.append(ImageEntry(path: target, content: .file(.host(path: source)), mode: mode))
            entries += try closureEntries(for: source, key: key)
        }
        return entries
    }

    private func overlays() throws -> [ImageEntry] {
        var entries = try OverlayWalker.entries(of: resources.rootfs)
        for (i, dir) in spec.overlays.enumerated() {
            let path = spec.resolve(dir)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                throw specError("overlays[\(i)]", "\(path): no such directory")
            }
            entries += try OverlayWalker.entries(of: path)
        }
        return entries
    }
}

/// A directory tree as image entries: modes kept, owners dropped (everything is root's
/// in the drone), symlinks kept as links.
enum OverlayWalker {
    static func entries(of dir: String) throws -> [ImageEntry] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else {
            throw ImageBuilderError.io("read overlay", path: dir, hint: "check that it exists and is readable")
        }
        var entries: [ImageEntry] = []
        while let relative = walker.nextObject() as? String {
            let path = dir + "/" + relative
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = UInt32((attributes[.posixPermissions] as? Int) ?? 0o644)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                entries.append(ImageEntry(path: relative, content: .directory, mode: mode))
            case .typeSymbolicLink?:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
                entries.append(ImageEntry(path: relative, content: .symlink(target: target), mode: 0o777))
            case .typeRegular?:
                entries.append(ImageEntry(path: relative, content: .file(.host(path: path)), mode: mode))
            default:
                throw ImageBuilderError.io(
                    "overlay holds a special file", path: path,
                    hint: "device nodes come from the builder; remove it from the overlay")
            }
        }
        return entries
    }
}
