import Kernel

/// Which modules to load for the devices present: the pure half of driver probing.
///
/// Like `modprobe -b $MODALIAS` run by udev for each device: every module whose
/// modules.alias pattern matches the device's modalias (fnmatch rules, `Glob`), with its
/// modules.dep closure and `softdep pre:`/`post:` modules, dependencies first. Built-in modules
/// have nothing to load; modules in `loaded` (present in `/sys/module`) or `tried` (an earlier
/// round tried them already, loaded or failed) are left out, so repeated rounds converge.
public struct DriverPlan: Equatable, Sendable {
    /// The modules to load, in order.
    public var modules: [KernelModule]
    /// For each module matched directly, the devices that asked for it (for `--dry-run`).
    public var reasons: [String: [String]]

    public init(
        devices: [BusDevice], index: ModuleIndex, loaded: Set<String> = [], tried: Set<String> = []
    ) throws {
        var wanted: [String] = []
        var reasons: [String: [String]] = [:]
        for device in devices {
            for name in index.match(modalias: device.modalias) {
                // A filtered modules.alias can name modules that are built in or were left out of the image.
                guard !index.isBuiltin(name), index.module(named: name) != nil else { continue }
                if reasons[name] == nil { wanted.append(name) }
                reasons[name, default: []].append(device.path)
            }
        }
        let skip = loaded.union(tried)
        let closure = try index.closure(of: wanted.filter { !skip.contains($0) })
        let chosen = closure.filter { !skip.contains($0.name) }
        modules = chosen
        self.reasons = reasons.filter { entry in chosen.contains { $0.name == entry.key } }
    }

    /// Names of the modules the kernel has now: `<root>/sys/module/*` (also built-ins that have
    /// parameters, which is harmless: they need no loading either).
    public static func loadedModules(root: String = "/") -> Set<String> {
        Set((try? Files.list(Files.join(root, "sys/module"))) ?? [])
    }
}
