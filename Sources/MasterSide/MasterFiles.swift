import ImageSpec

/// Every generated text file of the master directory, by relative path: a pure function of the plan.
///
/// Boot loaders and images are copies, handled by `Generator`; everything here is rendered, so the
/// generator can tell by content what changed and rewrite only that.
public enum MasterFiles {
    /// The rendered files, path -> content.
    public static func render(_ plan: MasterPlan) -> [String: String] {
        var files: [String: String] = [
            "tftp/pxelinux.cfg/default": BootConfigs.pxelinuxDefault(plan),
            "tftp/\(MasterLayout.ipxeScript)": BootConfigs.ipxeDefault(plan),
            "tftp/boot.txt": plan.menu.displayText(version: plan.version),
            MasterLayout.grubConfig: BootConfigs.grubDefault(plan),
            MasterLayout.dnsmasq: DHCPConfigs.dnsmasq(plan),
            MasterLayout.dnsmasqProxy: DHCPConfigs.dnsmasqProxy(plan),
            MasterLayout.dhcpd: DHCPConfigs.dhcpd(plan),
            MasterLayout.kea: DHCPConfigs.kea(plan),
        ]
        files.reserveCapacity(files.count + plan.inventory.nodes.count * 6)
        for node in plan.inventory.nodes {
            files[MasterLayout.dnsmasqHost(node)] = DHCPConfigs.dnsmasqHost(node)
            let pxelinux = BootConfigs.pxelinuxNode(plan, node)
            let ipxe = BootConfigs.ipxeNode(plan, node)
            let grub = BootConfigs.grubNode(plan, node)
            for mac in node.macs {
                files[MasterLayout.pxelinuxConfig(mac)] = pxelinux
                files[MasterLayout.ipxeNodeScript(mac)] = ipxe
                files[MasterLayout.grubNodeConfig(mac)] = grub
            }
        }
        return files
    }
}
