internal import ELF

/// One firmware file an image must carry.
public struct FirmwareFile: Hashable, Sendable, CustomStringConvertible {
    /// The name modules ask for (`rtl_nic/rtl8168d-1.fw`).
    public let name: String
    /// `/lib/firmware/<name>`, with `.xz` or `.zst` appended when only a compressed copy exists.
    public let pathInImage: String
    /// The file to copy (symlinks inside the root resolved).
    public let hostPath: String
    /// The shipped modules that reference it, in order.
    public let modules: [String]

    public var description: String { "\(pathInImage) (for \(modules.joined(separator: ", ")))" }
}

/// A firmware name referenced by a shipped module but absent from the root.
public struct MissingFirmware: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let modules: [String]

    public var description: String { "\(name) (for \(modules.joined(separator: ", ")))" }
}

/// Firmware for shipped modules: each module's `firmware=` entries (its `.modinfo`), looked
/// up under `<root>/lib/firmware` the way the kernel's loader does (drivers/base/firmware_loader:
/// the plain name first, then `.xz` / `.zst` copies when CONFIG_FW_LOADER_COMPRESS allows).
public enum Firmware {
    public struct Resolution: Sendable {
        public let files: [FirmwareFile]
        /// Not an error: many drivers list firmware for chip revisions the user does not have,
        /// and Debian keeps non-free firmware in separate packages (firmware-realtek, ...).
        public let missing: [MissingFirmware]
    }

    /// Suffixes tried after the plain name, in the kernel's order.
    public static let suffixes = ["", ".xz", ".zst"]

    /// Reads the `.modinfo` of every module in `modules` (files located through `index`) and
    /// looks up what they reference under `root`.
    public static func resolve(for modules: [KernelModule], in index: ModuleIndex, root: String = "/") throws
        -> Resolution
    {
        var order: [String] = []
        var users: [String: [String]] = [:]
        for module in modules {
            for name in try ModuleInfo.read(path: index.hostPath(of: module)).firmware {
                if users[name] == nil { order.append(name) }
                if users[name]?.contains(module.name) != true { users[name, default: []].append(module.name) }
            }
        }
        return try lookup(order.map { ($0, users[$0] ?? []) }, root: root)
    }

    /// Looks up firmware names (with the modules that want them) under `<root>/lib/firmware`.
    public static func lookup(_ wanted: [(name: String, modules: [String])], root: String = "/") throws -> Resolution {
        let fs = RootedFileSystem(root: root)
        var files: [FirmwareFile] = []
        var missing: [MissingFirmware] = []
        for (name, modules) in wanted {
            var found: FirmwareFile?
            for suffix in suffixes {
                let path = "/lib/firmware/" + name + suffix
                let real: String?
                do {
                    real = try fs.realPath(path)
                } catch let error as ELFError {
                    throw KernelError(.io, error.message, file: fs.host(path), errno: error.errno)
                }
                guard let real, try Files.size(fs.host(real)) != nil else { continue }
                found = FirmwareFile(name: name, pathInImage: path, hostPath: fs.host(real), modules: modules)
                break
            }
            if let found { files.append(found) } else { missing.append(MissingFirmware(name: name, modules: modules)) }
        }
        return Resolution(files: files, missing: missing)
    }
}
