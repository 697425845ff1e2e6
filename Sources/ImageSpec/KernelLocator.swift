import Foundation

/// The kernel an image is built from, every part found.
public struct ResolvedKernel: Sendable, Equatable {
    /// Path of the kernel image (vmlinuz).
    public var image: String
    /// Path of its `/lib/modules/<version>` directory.
    public var modulesDir: String
    /// Path of its `.config`, when there is one.
    public var config: String?
    /// The kernel release, as `uname -r` prints it on the drone.
    public var version: String

    /// A resolved kernel from its parts.
    public init(image: String, modulesDir: String, config: String?, version: String) {
        self.image = image
        self.modulesDir = modulesDir
        self.config = config
        self.version = version
    }
}

/// Fills in the parts of `kernel:` that the spec left empty, from `<root>/boot` and `<root>/lib/modules`.
public struct KernelLocator: Sendable {
    /// The file system root to search (tests point it at a fixture tree).
    public var root: String

    /// A locator searching under `root`.
    public init(root: String = "/") {
        self.root = root
    }

    /// Versions that have both `boot/vmlinuz-<version>` and `lib/modules/<version>`, newest first.
    public func installedVersions() -> [String] {
        imageVersions().filter { isDirectory(modulesDirectory($0)) }.sorted { VersionOrder.compare($0, $1) > 0 }
    }

    /// The kernel `spec` asks for; errors name the `kernel.*` key and where the spec set it.
    public func locate(_ spec: Spec) throws(SpecError) -> ResolvedKernel {
        let image = spec.kernel.image.map(spec.resolve)
        let modules = spec.kernel.modules.map(spec.resolve)
        let config = spec.kernel.config.map(spec.resolve)

        var problems: [SpecDiagnostic] = []
        if let image, let problem = missing(image, directory: false) {
            problems.append(spec.diagnostic("kernel.image", problem, hint: "set kernel.image to a vmlinuz file"))
        }
        if let modules, let problem = missing(modules, directory: true) {
            problems.append(
                spec.diagnostic(
                    "kernel.modules", problem, hint: "set kernel.modules to a /lib/modules/<version> directory"))
        }
        if let config, let problem = missing(config, directory: false) {
            problems.append(
                spec.diagnostic(
                    "kernel.config", problem, hint: "set kernel.config to the kernel's .config, or remove it"))
        }
        guard problems.isEmpty else { throw SpecError(diagnostics: problems) }

        let version: String
        if let modules {
            version = Path.lastComponent(of: modules)
        } else if let image {
            let name = Path.lastComponent(of: image)
            guard name.hasPrefix("vmlinuz-"), name.count > "vmlinuz-".count else {
                throw spec.error(
                    "kernel.image", "cannot tell the kernel version from the name \(name.debugDescription)",
                    hint: "set kernel.modules to the /lib/modules/<version> directory built with this kernel")
            }
            version = String(name.dropFirst("vmlinuz-".count))
        } else {
            version = try newestVersion(spec)
        }

        let modulesDir = modules ?? modulesDirectory(version)
        if modules == nil, !isDirectory(modulesDir) {
            throw spec.error(
                "kernel.image", "no modules for kernel \(version): \(modulesDir) is missing",
                hint: "install the modules built with this kernel, or set kernel.modules")
        }
        let imagePath = image ?? imageFile(version)
        if image == nil, !isFile(imagePath) {
            throw spec.error(
                "kernel.image", "no kernel image for the modules of \(version): \(imagePath) is missing",
                hint: "set kernel.image to the vmlinuz built with these modules")
        }
        // A kernel unpacked somewhere keeps its config beside it; an installed one has it in /boot.
        let configCandidates = [
            Path.join(Path.directory(of: imagePath), "config-\(version)"), bootFile("config-\(version)"),
        ]
        let configPath = config ?? configCandidates.first(where: isFile)
        return ResolvedKernel(image: imagePath, modulesDir: modulesDir, config: configPath, version: version)
    }

    private func newestVersion(_ spec: Spec) throws(SpecError) -> String {
        if let newest = installedVersions().first { return newest }
        let hint = "install a kernel (`apt-get install linux-image-amd64`), or set kernel.image and kernel.modules"
        let orphans = imageVersions().sorted { VersionOrder.compare($0, $1) > 0 }
        if let orphan = orphans.first {
            let message =
                "no kernel in \(bootFile("")) has its modules: "
                + "found vmlinuz-\(orphan), but no \(modulesDirectory(orphan))"
            throw spec.error("kernel.image", message, hint: hint)
        }
        throw spec.error("kernel.image", "no kernel found: \(bootFile("vmlinuz-<version>")) does not exist", hint: hint)
    }

    private func imageVersions() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: bootFile(""))) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") && $0.count > "vmlinuz-".count }
            .map { String($0.dropFirst("vmlinuz-".count)) }
            .filter { isFile(imageFile($0)) }
    }

    private func bootFile(_ name: String) -> String { Path.join(Path.join(root, "boot"), name) }
    private func imageFile(_ version: String) -> String { bootFile("vmlinuz-\(version)") }
    private func modulesDirectory(_ version: String) -> String {
        Path.join(Path.join(root, "lib/modules"), version)
    }

    private func missing(_ path: String, directory: Bool) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            return directory ? "no such directory: \(path)" : "no such file: \(path)"
        }
        if isDir.boolValue != directory {
            return directory ? "\(path) is a file, not a directory" : "\(path) is a directory, not a file"
        }
        return nil
    }

    private func isFile(_ path: String) -> Bool { missing(path, directory: false) == nil }
    private func isDirectory(_ path: String) -> Bool { missing(path, directory: true) == nil }
}
