import Kernel

extension NICProbe {
    /// Loads the named modules and their `modules.dep` closure, in load order, with the same loader
    /// as the NIC drivers: what a step needs beyond the network (the NFS client, overlayfs).
    /// Built-in ones need nothing. Returns the names of the modules it loaded.
    @discardableResult
    public func load(modules names: [String]) throws -> [String] {
        let closure: [KernelModule]
        do {
            closure = try index.closure(of: names)
        } catch {
            throw DHCPError(
                .invalid("cannot find \(names.joined(separator: ", ")) in the image's modules: \(error)"),
                hint: "boot with the image's nfsroot.img beside it (the nfsroot entries of `clumpbuild generate` load it), "
                    + "or build the image with them (drivers.include: [ethernet, nfsroot])")
        }
        var loaded: [String] = []
        for module in closure where try loader.load(module) == .loaded { loaded.append(module.name) }
        return loaded
    }
}
