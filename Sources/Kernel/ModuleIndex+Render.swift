/// Writing the indexes back for an image, containing exactly the modules it ships, so that
/// the drone's matcher and busybox modprobe in expert mode see a consistent world.
extension ModuleIndex {
    /// The path a module gets when shipped xz-compressed: `e1000e.ko` -> `e1000e.ko.xz`.
    public static func compressedPath(_ path: String) -> String {
        path.hasSuffix(".ko") ? path + ".xz" : path
    }

    /// modules.dep for exactly `shipped`, in this index's order, each path passed through
    /// `rename` (e.g. `ModuleIndex.compressedPath`). Every dependency of a shipped module
    /// must be shipped too.
    public func renderDep(shipping shipped: [KernelModule], rename: (String) -> String = { $0 }) throws -> String {
        let names = try shippedNames(shipped)
        var text = ""
        for module in modules where names.contains(module.name) {
            text += rename(module.path) + ":"
            for dependency in module.dependencies {
                guard names.contains(dependency), let found = self.module(named: dependency) else {
                    throw KernelError(
                        .inconsistentSelection, "\(module.name) needs \(dependency), which is not shipped",
                        hint: "ship the closure of the selection (ModuleIndex.closure), not the selection alone")
                }
                text += " " + rename(found.path)
            }
            text += "\n"
        }
        return text
    }

    /// modules.alias with the aliases of `shipped` only, in this index's order.
    public func renderAlias(shipping shipped: [KernelModule]) throws -> String {
        let names = try shippedNames(shipped)
        var text = "# Aliases extracted from modules themselves.\n"
        for alias in aliases where names.contains(alias.module) {
            text += "alias \(alias.pattern) \(alias.module)\n"
        }
        return text
    }

    /// modules.builtin unchanged: what is built in stays built in, whatever the image ships,
    /// and modprobe needs it to answer "builtin" instead of "not found".
    public func renderBuiltin() -> String {
        builtinPaths.map { $0 + "\n" }.joined()
    }

    /// modules.softdep for shipped modules, keeping only targets that resolve to something
    /// shipped or built in (modprobe would only complain about the others).
    public func renderSoftdep(shipping shipped: [KernelModule]) throws -> String {
        let names = try shippedNames(shipped)
        func available(_ target: String) -> Bool {
            if isBuiltin(target) || names.contains(ModuleIndex.normalize(target)) { return true }
            return match(modalias: target).contains { names.contains($0) }
        }
        var text = "# Soft dependencies extracted from modules themselves.\n"
        for softdep in softDependencies where names.contains(softdep.module) {
            let pre = softdep.pre.filter(available)
            let post = softdep.post.filter(available)
            if pre.isEmpty && post.isEmpty { continue }
            text += "softdep \(softdep.module)"
            if !pre.isEmpty { text += " pre: " + pre.joined(separator: " ") }
            if !post.isEmpty { text += " post: " + post.joined(separator: " ") }
            text += "\n"
        }
        return text
    }

    private func shippedNames(_ shipped: [KernelModule]) throws -> Set<String> {
        var names: Set<String> = []
        for module in shipped {
            guard self.module(named: module.name) != nil else { throw unknown(module.name) }
            names.insert(module.name)
        }
        return names
    }
}
