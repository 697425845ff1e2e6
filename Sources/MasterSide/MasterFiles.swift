import ImageSpec

/// Every generated text file of the master directory, by relative path: a pure function of the plan.
///
/// Boot loaders and images are copies, handled by `Generator`; everything here is rendered, so the
/// generator can tell by content what changed and rewrite only that.
public enum MasterFiles {
    /// The rendered files, path -> content.
    public static func render(_ plan: MasterPlan) -> [String: String] {
        var files = shared(plan)
        for node in plan.inventory.nodes { files.merge(self.node(plan, node)) { $1 } }
        return files
    }

    /// The files every node shares: boot menus for unknown machines and the DHCP servers' configurations.
    public static func shared(_ plan: MasterPlan) -> [String: String] {
        [
            "tftp/pxelinux.cfg/default": BootConfigs.pxelinuxDefault(plan),
            "tftp/\(MasterLayout.ipxeScript)": BootConfigs.ipxeDefault(plan),
            "tftp/boot.txt": plan.menu.displayText(version: plan.version),
            MasterLayout.grubConfig: BootConfigs.grubDefault(plan),
            MasterLayout.dnsmasq: DHCPConfigs.dnsmasq(plan),
            MasterLayout.dnsmasqProxy: DHCPConfigs.dnsmasqProxy(plan),
            MasterLayout.dhcpd: DHCPConfigs.dhcpd(plan),
            MasterLayout.kea: DHCPConfigs.kea(plan),
        ]
    }

    /// One node's own files: its dnsmasq host file, and a pxelinux config, an iPXE script and a GRUB
    /// menu per card.
    public static func node(_ plan: MasterPlan, _ node: Inventory.Node) -> [String: String] {
        var files = [MasterLayout.dnsmasqHost(node): DHCPConfigs.dnsmasqHost(node)]
        let pxelinux = BootConfigs.pxelinuxNode(plan, node)
        let ipxe = BootConfigs.ipxeNode(plan, node)
        let grub = BootConfigs.grubNode(plan, node)
        for mac in node.macs {
            files[MasterLayout.pxelinuxConfig(mac)] = pxelinux
            files[MasterLayout.ipxeNodeScript(mac)] = ipxe
            files[MasterLayout.grubNodeConfig(mac)] = grub
        }
        return files
    }

    /// The paths `node(_:_:)` writes, without rendering them.
    public static func paths(of node: Inventory.Node) -> [String] {
        [MasterLayout.dnsmasqHost(node)]
            + node.macs.flatMap {
                [MasterLayout.pxelinuxConfig($0), MasterLayout.ipxeNodeScript($0), MasterLayout.grubNodeConfig($0)]
            }
    }

    /// What a node's files depend on besides the node: the menu, the image generation and the version
    /// all show in the default boot configs.
    public static func nodeContext(_ plan: MasterPlan) -> String {
        BootConfigs.pxelinuxDefault(plan) + BootConfigs.ipxeDefault(plan)
    }

    /// A node's entry as a text that changes whenever one of its files would.
    public static func fingerprintText(of node: Inventory.Node) -> String {
        let macs = node.macs.map(\.description).joined(separator: ",")
        return "\(macs) \(node.address) \(node.name) \(node.boot.rawValue) \(node.kernelArgs.joined(separator: " "))"
    }
}
