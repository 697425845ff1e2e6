import AgentSupport
import BootMenus
import ImageSpec

/// Every generated text file of the master directory, by relative path: a pure function of the plan.
///
/// Boot loaders and images are copies, handled by `Generator`; everything here is rendered, so the
/// generator can tell by content what changed and rewrite only that.
public enum MasterFiles {
    /// The rendered files, path -> content.
    public static func render(_ plan: MasterPlan) -> [String: String] {
        var files = shared(plan).mapValues { String(decoding: $0, as: UTF8.self) }
        for node in plan.inventory.nodes { files.merge(self.node(plan, node)) { $1 } }
        return files
    }

    /// The files every node shares: boot menus for unknown machines and the DHCP servers' configurations.
    /// The two that list every node are rendered as bytes, which is how they are hashed and written.
    public static func shared(_ plan: MasterPlan) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [
            "tftp/pxelinux.cfg/default": Array(BootConfigs.pxelinuxDefault(plan).utf8),
            "tftp/\(MasterLayout.ipxeScript)": Array(BootConfigs.ipxeDefault(plan).utf8),
            "tftp/boot.txt": Array(plan.menu.displayText(version: plan.version).utf8),
            MasterLayout.grubConfig: Array(BootConfigs.grubDefault(plan).utf8),
            MasterLayout.dnsmasq: Array(DHCPConfigs.dnsmasq(plan).utf8),
            MasterLayout.dnsmasqProxy: Array(DHCPConfigs.dnsmasqProxy(plan).utf8),
            MasterLayout.dhcpd: DHCPConfigs.dhcpd(plan),
            MasterLayout.kea: DHCPConfigs.kea(plan),
        ]
        if let slurm = plan.slurm {
            files[SlurmConfig.slurmConf] = Array(slurm.slurmConf().utf8)
            files[SlurmConfig.cgroupConf] = Array(slurm.cgroupConf().utf8)
        }
        // The exports exist once there is a node to export to.
        if plan.inventory.nodes.contains(where: { $0.boot == .nfsroot }) {
            files[MasterLayout.exports] = Array(NFSRootFiles.exports(plan).utf8)
            files[MasterLayout.ganesha] = Array(NFSRootFiles.ganesha(plan).utf8)
        }
        return files
    }

    /// One node's own files: its dnsmasq host file, and a pxelinux config, an iPXE script and a GRUB
    /// menu per card.
    public static func node(_ plan: MasterPlan, _ node: Inventory.Node) -> [String: String] {
        var files = Dictionary(bootFiles(plan, node) + hostFiles(plan, node)) { $1 }
        files[MasterLayout.dnsmasqHost(node)] = DHCPConfigs.dnsmasqHost(node)
        return files
    }

    /// A node's files besides its dnsmasq host file that follow its host fingerprint: an NFS-root
    /// node's tree.
    static func hostFiles(_ plan: MasterPlan, _ node: Inventory.Node) -> [(String, String)] {
        node.boot == .nfsroot ? NFSRootFiles.node(plan, node) : []
    }

    /// How many boot files `bootFiles` makes for each card.
    static let filesPerCard = 3

    /// A node's pxelinux config, iPXE script and GRUB menu for each of its cards.
    public static func bootFiles(_ plan: MasterPlan, _ node: Inventory.Node) -> [(String, String)] {
        let pxelinux = BootConfigs.pxelinuxNode(plan, node)
        let ipxe = BootConfigs.ipxeNode(plan, node)
        let grub = BootConfigs.grubNode(plan, node)
        return node.macs.flatMap {
            [
                (MasterLayout.pxelinuxConfig($0), pxelinux), (MasterLayout.ipxeNodeScript($0), ipxe),
                (MasterLayout.grubNodeConfig($0), grub),
            ]
        }
    }

    /// What a node's files depend on besides the node, hashed: the version for its host file; the
    /// menu, the image generation and the version, which all show in the default boot configs, for
    /// its boot files. A new image rewrites every boot file but no host file.
    struct FingerprintSeeds {
        var host: UInt64
        var boot: UInt64
        /// What an NFS-root node's tree and boot arguments depend on besides the node.
        var nfsroot: UInt64

        init(_ plan: MasterPlan) {
            host = FNV1a.hash(Array(plan.version.utf8))
            var hash = FNV1a(seed: host)
            hash.add("\(plan.network) \(plan.master) \(plan.directory) \(plan.nfsroot.root)")
            for directory in plan.nfsroot.writable { hash.add(directory) }
            nfsroot = hash.value
            boot = FNV1a.hash(
                Array((BootConfigs.pxelinuxDefault(plan) + BootConfigs.ipxeDefault(plan) + BootConfigs.grubDefault(plan)).utf8))
        }
    }

    /// Changes whenever the node's host file would: hashed from the parts, not from a text of them,
    /// which at 10,000 nodes cost a tenth of the time of adding one.
    static func hostFingerprint(of node: Inventory.Node, seeds: FingerprintSeeds) -> UInt64 {
        var hash = FNV1a(seed: seeds.host)
        hash.add(node.macs)
        hash.add(UInt64(node.address.value))
        hash.add(node.name)
        hash.addNFSRoot(of: node, seed: seeds.nfsroot)
        return hash.value
    }

    /// Changes whenever one of the node's boot files would.
    static func bootFingerprint(of node: Inventory.Node, seeds: FingerprintSeeds) -> UInt64 {
        var hash = FNV1a(seed: seeds.boot)
        hash.addNFSRoot(of: node, seed: seeds.nfsroot)
        hash.add(node.macs)
        hash.add(UInt64(node.address.value))
        hash.add(node.name)
        hash.add(node.boot.rawValue)
        for argument in node.kernelArgs { hash.add(argument) }
        return hash.value
    }
}


extension FNV1a {
    /// An NFS-root node's root and the settings its tree follows; nothing for a drone, whose
    /// fingerprints stay what they were.
    mutating func addNFSRoot(of node: Inventory.Node, seed: UInt64) {
        guard node.boot == .nfsroot else { return }
        add(seed)
        add(node.root ?? "")
    }
}
