/// Which modules go into a drone image: named groups (what users type in the image spec)
/// and plain module names, minus exclusions, plus everything they need. Pure over an index.
public enum DriverSelection {
    /// A named set of modules.
    public struct Group: Hashable, Sendable {
        public let name: String
        public let summary: String
    }

    /// The groups, in the order `clumpbuild` lists them.
    public static let groups: [Group] = [
        Group(
            name: "ethernet",
            summary: "wired NIC drivers a PC can probe (PCI, USB, virtio), and the USB and virtio buses they sit on"),
        Group(name: "usb-host", summary: "USB host controllers (xHCI, EHCI, OHCI, UHCI), so USB devices appear"),
        Group(name: "virtio", summary: "the virtio PCI transport, so virtio devices appear in VMs"),
        Group(name: "nfsroot", summary: "the NFSv4 client and overlayfs, so `boot: nfsroot` nodes mount their root"),
    ]
    /// What an NFS-root node loads: the NFSv4 client (with sunrpc, lockd and the rest by modules.dep)
    /// and overlayfs for its RAM layer.
    static let nfsrootModules = ["nfsv4", "overlay"]

    /// Module directories whose drivers are wired NICs. Never drivers/net/wireless: a drone
    /// cannot join a network it has no credentials for.
    static let ethernetDirectories = ["kernel/drivers/net/ethernet/", "kernel/drivers/net/usb/"]
    /// Paravirtual NICs that live outside those directories: virtio (QEMU/KVM) and VMware's
    /// vmxnet3 (drivers/net/vmxnet3), the default NIC of many VMware VMs.
    static let ethernetExtras = ["virtio_net", "vmxnet3"]
    /// Only buses a PC enumerates by itself. Drivers with only `of:`, `platform:` or `acpi:`
    /// aliases serve SoC or embedded devices that can never be probed on a PC.
    static let probeableBuses = ["pci", "usb", "virtio"]
    static let usbHostControllers = ["xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd"]
    static let virtioTransports = ["virtio_pci"]

    /// What a selection resolved to.
    public struct Result: Sendable {
        /// Module names picked directly (groups expanded, exclusions removed), sorted.
        public let selected: [String]
        /// Requested names that are built into the kernel: nothing to ship.
        public let builtin: [String]
        /// `selected` with all their dependencies, in load order: what the image ships.
        public let modules: [KernelModule]
    }

    /// Expands `names` (groups or module names, `-` and `_` alike), removes `excluding`
    /// (also groups or names), and closes over dependencies. An unknown name is an error that
    /// lists the nearest names; excluding a module that a selected one needs is an error too.
    public static func select(_ names: [String], excluding: [String] = [], from index: ModuleIndex) throws -> Result {
        var selected: Set<String> = []
        var builtin: Set<String> = []
        for name in names {
            let (modules, builtins) = try expand(name, in: index)
            selected.formUnion(modules)
            builtin.formUnion(builtins)
        }
        var excluded: Set<String> = []
        for name in excluding {
            let (modules, builtins) = try expand(name, in: index)
            excluded.formUnion(modules)
            excluded.formUnion(builtins)
        }
        selected.subtract(excluded)
        builtin.subtract(excluded)

        let ordered = selected.sorted()
        let closure = try index.closure(of: ordered, excluding: excluded)
        if let clash = closure.first(where: { excluded.contains($0.name) }) {
            let needers = closure.filter { $0.dependencies.contains(clash.name) && !excluded.contains($0.name) }
            throw KernelError(
                .inconsistentSelection,
                "\(clash.name) is excluded, but "
                    + needers.map(\.name).sorted().joined(separator: ", ") + " need\(needers.count == 1 ? "s" : "") it",
                hint: "exclude those modules too, or stop excluding \(clash.name)")
        }
        return Result(selected: ordered, builtin: builtin.sorted(), modules: closure)
    }

    /// The module names one group or name stands for, and the built-in ones among them.
    static func expand(_ name: String, in index: ModuleIndex) throws -> (modules: [String], builtin: [String]) {
        switch name {
        case "ethernet":
            let nics = ethernetDrivers(in: index)
            let buses = present(usbHostControllers + virtioTransports, in: index)
            return (nics + buses, [])
        case "usb-host":
            return (present(usbHostControllers, in: index), [])
        case "virtio":
            return (present(virtioTransports, in: index), [])
        case "nfsroot":
            return (present(nfsrootModules, in: index), nfsrootModules.filter(index.isBuiltin))
        default:
            let normal = ModuleIndex.moduleName(path: name)
            if index.module(named: normal) != nil { return ([normal], []) }
            if index.isBuiltin(normal) { return ([], [normal]) }
            let nearest = nearestNames(to: normal, in: index.modules.map(\.name) + groups.map(\.name))
            throw KernelError(
                .unknownName,
                "there is no module or group called \(name)" + (index.release.map { " in kernel \($0)" } ?? ""),
                hint: (nearest.isEmpty ? "" : "did you mean " + nearest.joined(separator: ", ") + "? ")
                    + "groups: " + groups.map(\.name).joined(separator: ", "))
        }
    }

    /// Every module under the ethernet directories (and virtio_net, vmxnet3) with a PCI, USB or
    /// virtio alias.
    public static func ethernetDrivers(in index: ModuleIndex) -> [String] {
        var probeable: Set<String> = []
        for bus in probeableBuses { probeable.formUnion(index.modules(onBus: bus)) }
        return index.modules.filter { module in
            (ethernetExtras.contains(module.name) || ethernetDirectories.contains { module.path.hasPrefix($0) })
                && probeable.contains(module.name)
        }.map(\.name)
    }

    /// Those of `names` that are loadable modules in `index` (built-in ones need nothing).
    private static func present(_ names: [String], in index: ModuleIndex) -> [String] {
        names.filter { index.module(named: $0) != nil }
    }
}
