import BootMenus
import ImageSpec

/// The TFTP tree's boot loader configuration: the default drone for every machine, and a file per
/// known card with that node's own kernel arguments.
public enum BootConfigs {
    /// `pxelinux.cfg/default`: the default drone.
    public static func pxelinuxDefault(_ plan: MasterPlan) -> String {
        plan.menu.syslinuxConfig(
            kernel: kernel(plan, from: ""), initrd: initrd(plan, from: ""), display: "boot.txt", bootInterface: true)
    }

    /// `pxelinux.cfg/01-<mac>`: the node's menu (paths are relative to the TFTP root for pxelinux).
    public static func pxelinuxNode(_ plan: MasterPlan, _ node: Inventory.Node) -> String {
        "# \(node.name) (\(node.address))\n"
            + menu(plan, node).syslinuxConfig(
                kernel: kernel(plan, from: ""), initrd: initrd(plan, from: ""), display: "boot.txt",
                bootInterface: true)
    }

    /// `boot.ipxe`: a known card chains its node's script; any other machine gets the default drone.
    public static func ipxeDefault(_ plan: MasterPlan) -> String {
        let menu = plan.menu.ipxeScript(kernel: kernel(plan, from: ""), initrd: initrd(plan, from: ""), version: plan.version)
        return [
            "#!ipxe",
            "# A known card has its node's script; a missing one (an unknown machine) boots the default drone.",
            "chain --autofree nodes/${netX/mac:hexhyp}.ipxe || goto clump-default",
            ":clump-default",
        ].joined(separator: "\n") + "\n" + menu.dropFirst("#!ipxe\n".count)
    }

    /// `nodes/<mac>.ipxe`: the node's menu; iPXE resolves paths against this script's own URI.
    public static func ipxeNode(_ plan: MasterPlan, _ node: Inventory.Node) -> String {
        let menu = menu(plan, node).ipxeScript(
            kernel: kernel(plan, from: "../"), initrd: initrd(plan, from: "../"), version: plan.version)
        return "#!ipxe\n# \(node.name) (\(node.address))\n" + menu.dropFirst("#!ipxe\n".count)
    }

    /// `grub/grub.cfg` for UEFI clients: a known card runs its node's menu; any other machine gets
    /// the default drone. Paths are absolute on the TFTP server GRUB was loaded from.
    public static func grubDefault(_ plan: MasterPlan) -> String {
        plan.menu.grubConfig(
            kernel: kernel(plan, from: "/"), initrd: initrd(plan, from: "/"), version: plan.version, bootInterface: true,
            nodeConfigs: MasterLayout.grubNodeConfigs)
    }

    /// `grub/nodes/<mac>.cfg`: the node's menu.
    public static func grubNode(_ plan: MasterPlan, _ node: Inventory.Node) -> String {
        "# \(node.name) (\(node.address))\n"
            + menu(plan, node).grubConfig(
                kernel: kernel(plan, from: "/"), initrd: initrd(plan, from: "/"), version: plan.version,
                bootInterface: true)
    }

    /// A node's menu: the spec's with its own kernel arguments; an NFS-root node boots `nfsroot` by
    /// default, with its root and tree on the command line (the other modes stay in the menu).
    static func menu(_ plan: MasterPlan, _ node: Inventory.Node) -> BootMenu {
        guard node.boot == .nfsroot else { return plan.menu.adding(kernelArgs: node.kernelArgs) }
        var menu = plan.menu.adding(kernelArgs: NFSRootFiles.kernelArgs(plan, node) + node.kernelArgs)
        menu.modes = [.nfsroot] + menu.modes.filter { $0 != .nfsroot }
        menu.defaultMode = .nfsroot
        return menu
    }

    private static func kernel(_ plan: MasterPlan, from prefix: String) -> String {
        "\(prefix)images/\(plan.generation)/vmlinuz"
    }

    private static func initrd(_ plan: MasterPlan, from prefix: String) -> String {
        "\(prefix)images/\(plan.generation)/initrd.img"
    }
}
