import AutoMap
import BootMenus
import ImageSpec

/// Everything the master's configuration is rendered from: a pure value, so rendering is a function.
public struct MasterPlan: Sendable {
    /// The cluster network, its DHCP range for unknown machines and the master's address on it.
    public var network: IPv4Network
    public var range: AddressRange
    public var master: IPv4Address
    /// The known nodes.
    public var inventory: Inventory
    /// The drone's boot menu, as the spec asks for it.
    public var menu: BootMenu
    /// The boot image generation every config points at (`images/<generation>/`).
    public var generation: String
    /// Absolute path of the master directory (`out/master`), which the daemons' configs name.
    public var directory: String
    /// The version shown in the boot menu.
    public var version: String
    /// The controller's configuration when the spec has `engine.slurm`.
    public var slurm: SlurmConfig?
    /// The shared root and writable directories of NFS-root nodes.
    public var nfsroot = Spec.NFSRoot()
    /// The cluster network's class-C map (the same lines for every node on it), for NFS-root nodes'
    /// trees; derived once rather than per node (a /16's map and hosts took 9 ms a node).
    public var clusterMap: ClusterMap?
    /// The master's interface on the cluster network, which the Kea configuration names; nil when
    /// none was found (Kea then listens on every one, and generate says so).
    public var interface: String?

    public init(
        network: IPv4Network, range: AddressRange, master: IPv4Address, inventory: Inventory, menu: BootMenu,
        generation: String, directory: String, version: String
    ) {
        self.network = network
        self.range = range
        self.master = master
        self.inventory = inventory
        self.menu = menu
        self.generation = generation
        self.directory = directory
        self.version = version
    }

    /// The plan for a spec and its inventory, or the spec's error when it lacks a network.
    public static func make(
        spec: Spec, inventory: Inventory, generation: String, directory: String, version: String,
        hostName: String = "master"
    ) throws -> MasterPlan {
        guard let network = spec.cluster.network, let range = spec.cluster.effectiveDHCPRange,
            let master = spec.cluster.effectiveMaster
        else {
            throw spec.error(
                "cluster.network", "the master's configuration needs the cluster network",
                hint: "set `network:` under `cluster:`, e.g. `network: 10.0.2.0/24`")
        }
        var plan = MasterPlan(
            network: network, range: range, master: master, inventory: inventory, menu: BootMenu(spec: spec),
            generation: generation, directory: directory, version: version)
        if spec.engine.isOn {
            let hosts = network.hosts.map { Int($0.upperBound.value - $0.lowerBound.value) + 1 } ?? 1
            plan.slurm = SlurmConfig(
                controllerName: hostName, controllerAddress: master.description, settings: spec.engine.slurm,
                maxNodeCount: hosts)
        }
        plan.nfsroot = spec.nfsroot
        if inventory.nodes.contains(where: { $0.boot == .nfsroot }) {
            let template = Lease(interface: "eth0", mac: "02:00:00:00:00:00", address: master, prefix: network.prefix)
            plan.clusterMap = try? derive(leases: [template], hints: PrimaryHints(clusterNetwork: network)).map
            if let (first, second, apart) = NFSRootFiles.ganeshaClash(plan) {
                throw MasterSideError(
                    "NFS-root nodes \(first.name) (\(first.address)) and \(second.name) (\(second.address)) would share "
                        + "an nfs-ganesha export id: ganesha has 65,535, and on a /16 node numbers \(apart) apart meet",
                    subject: inventory.file,
                    hint: "give one of them another address (`address:` in the inventory), or serve NFS with the kernel "
                        + "server (nfs/exports), which needs no ids")
            }
        }
        return plan
    }
}

/// Where each generated file lives inside the master directory.
public enum MasterLayout {
    /// The TFTP root.
    public static let tftp = "tftp"
    /// Boot image generations inside the TFTP root: `images/<generation>/vmlinuz`.
    public static let images = "tftp/images"
    /// dnsmasq's configuration for full DHCP, and for proxy DHCP beside another server.
    public static let dnsmasq = "dnsmasq/dnsmasq.conf"
    public static let dnsmasqProxy = "dnsmasq/proxy.conf"
    /// dnsmasq's `dhcp-hostsdir`: one file per node, read without a restart.
    public static let dnsmasqHosts = "dnsmasq/hosts"
    /// ISC dhcpd and Kea configurations.
    public static let dhcpd = "dhcpd/dhcpd.conf"
    public static let kea = "kea/kea-dhcp4.conf"
    /// The NFS exports of the NFS-root nodes, for the kernel server and for nfs-ganesha.
    public static let exports = "nfs/exports"
    public static let ganesha = "nfs/ganesha.conf"
    /// The NFS-root nodes' descriptions (`NodeTree`), one directory per node name.
    public static let nfsrootNodes = "nfsroot/nodes"
    /// The NFS-root nodes' data: their writable directories, one directory per node name.
    public static let nfsrootDataTrees = "nfsroot/data"
    /// An NFS-root node's description.
    public static func nfsrootTree(name: String) -> String { "\(nfsrootNodes)/\(name)" }
    /// An NFS-root node's data.
    public static func nfsrootData(name: String) -> String { "\(nfsrootDataTrees)/\(name)" }

    /// What the last generation wrote, for incremental updates.
    public static let manifest = ".generated"

    /// The boot file for BIOS PXE ROMs.
    public static let biosLoader = "pxelinux.0"
    /// The boot file for x86-64 UEFI clients (client architectures 7 and 9, RFC 4578 section 2.1):
    /// Debian's signed shim, which loads the signed network GRUB beside it (`grubx64.efi`), so a PC
    /// boots with Secure Boot on or off; GRUB reads `grub/grub.cfg` from the TFTP root.
    public static let efiLoader = "bootx64.efi"
    /// The UEFI chain's files, copied from the built PXE tree: shim, GRUB, and shim's MokManager.
    public static let efiLoaderFiles = [efiLoader, "grubx64.efi", "mmx64.efi"]
    /// GRUB's menu, and the directory of per-card menus it runs when the card has one.
    public static let grubConfig = "tftp/grub/grub.cfg"
    public static let grubNodeConfigs = "/grub/nodes"
    /// The script iPXE clients run (user class `iPXE`, RFC 3004).
    public static let ipxeScript = "boot.ipxe"

    /// A node card's pxelinux config: pxelinux asks for `01-<mac>` before `default` (ARP type 1).
    public static func pxelinuxConfig(_ mac: MACAddress) -> String { "tftp/pxelinux.cfg/01-\(mac.hyphenated)" }
    /// A node card's iPXE script, chained from `boot.ipxe` by `${netX/mac:hexhyp}`.
    public static func ipxeNodeScript(_ mac: MACAddress) -> String { "tftp/nodes/\(mac.hyphenated).ipxe" }
    /// A node card's GRUB menu, run by `grub/grub.cfg` for that card.
    public static func grubNodeConfig(_ mac: MACAddress) -> String { "tftp\(grubNodeConfigs)/\(mac.hyphenated).cfg" }
    /// A node's dnsmasq host file.
    public static func dnsmasqHost(_ node: Inventory.Node) -> String { dnsmasqHost(name: node.name) }
    public static func dnsmasqHost(name: String) -> String { "\(dnsmasqHosts)/\(name)" }

    /// Whose file a path is when it is a node's own: the inverse of the three above.
    enum NodeFileOwner {
        case name(String)
        case card(MACAddress)
    }

    static func nodeFileOwner(_ path: String) -> NodeFileOwner? {
        let hosts = dnsmasqHosts + "/"
        if path.hasPrefix(hosts) {
            let name = String(path.dropFirst(hosts.count))
            return dnsmasqHost(name: name) == path && !name.contains("/") ? .name(name) : nil
        }
        let trees = nfsrootNodes + "/"
        if path.hasPrefix(trees) {
            let name = path.dropFirst(trees.count).prefix { $0 != "/" }
            return name.isEmpty ? nil : .name(String(name))
        }
        let file = path.split(separator: "/").last.map(String.init) ?? ""
        for text in [
            String(file.dropFirst("01-".count)), String(file.dropLast(".ipxe".count)), String(file.dropLast(".cfg".count)),
        ] {
            if let mac = MACAddress(parsing: text),
                pxelinuxConfig(mac) == path || ipxeNodeScript(mac) == path || grubNodeConfig(mac) == path
            {
                return .card(mac)
            }
        }
        return nil
    }
}
