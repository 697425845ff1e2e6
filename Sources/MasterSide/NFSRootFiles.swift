import AutoMap
import DroneProtocol
import ImageSpec

/// What an NFS-root node gets from the master besides its boot files (HOWTO 10.2, done with one
/// shared root): a tree of its own with only what differs from node to node, and the exports of
/// the shared root and of that tree. Pure renderers over the plan.
///
/// The HOWTO copied the master's root to `/tftpboot/<node-ip>/` for every node (300-500 MB each)
/// and exported everything `*(rw,no_root_squash)`, so any machine could rewrite any node's root.
/// Here the root is one read-only tree with root squashed, and a node has two trees of its own,
/// each exported to that node's address only and with root squashed: its description (a few
/// kilobytes: host name, hosts, fstab, network and cluster map, the list of its writable
/// directories) read-only, and its data (the writable directories) read-write. Whoever takes a
/// node's address while it is off can write the data as any user but root, and nothing else.
public enum NFSRootFiles {
    /// The files laid over the shared root, under the node tree's `files/`.
    static let overlayFiles = [
        "etc/hostname", "etc/hosts", "etc/fstab", "etc/network/interfaces", "etc/mosix.map", "etc/hpc.map",
    ]

    /// The node's root directory on the master: its own `root:` or the spec's `nfsroot.root`.
    public static func root(_ plan: MasterPlan, _ node: Inventory.Node) -> String {
        node.root ?? plan.nfsroot.root
    }

    /// The node's description on the master, which it mounts read-only.
    public static func tree(_ plan: MasterPlan, _ node: Inventory.Node) -> String {
        "\(plan.directory)/\(MasterLayout.nfsrootTree(name: node.name))"
    }

    /// The node's data on the master (its writable directories), which it mounts read-write.
    public static func data(_ plan: MasterPlan, _ node: Inventory.Node) -> String {
        "\(plan.directory)/\(MasterLayout.nfsrootData(name: node.name))"
    }

    /// The kernel arguments of an NFS-root node's boot entry: where its root and its trees are.
    /// The agent reads them after DHCP (see `NFSRootMode` in the agent).
    public static func kernelArgs(_ plan: MasterPlan, _ node: Inventory.Node) -> [String] {
        [
            BootArgument.root.with("\(plan.master):\(root(plan, node))"),
            BootArgument.node.with("\(plan.master):\(tree(plan, node))"),
            BootArgument.data.with("\(plan.master):\(data(plan, node))"),
        ]
    }

    /// The node tree's files, relative to the master directory: what the agent lays over the shared
    /// root (`files/...`) and the list of writable directories it mounts from `writable/`.
    public static func node(_ plan: MasterPlan, _ node: Inventory.Node) -> [(String, String)] {
        // The map as a drone on this network writes it; only the header names the node.
        let map =
            plan.clusterMap?.rendered(header: [
                "cluster map written by clumpbuild generate for \(node.name); format: node-id address range-size|ALIAS "
                    + "(openMosix HOWTO 5.4.2)",
                "network \(plan.network): node id = host number in the network; this node is node \(node.number)",
            ]) ?? ""
        // Its own name and the master's; the others' names come from the cluster's DNS, so a new node
        // changes no other node's files.
        let hosts = """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            \(node.address)\t\(node.name)
            \(plan.master)\tmaster

            """
        let root = root(plan, node)
        let writable = plan.nfsroot.writable
        let writableLines = writable.map {
            "#   \($0)  \(plan.master):\(data(plan, node))\($0) (this node's own, nosuid,nodev)"
        }
        let fstab = """
            # \(node.name): mounted by the clump agent before /sbin/init, nothing for mount -a to do:
            #   /  overlay of \(plan.master):\(root) (read-only, shared) and RAM
            \(writableLines.joined(separator: "\n"))
            proc /proc proc defaults 0 0

            """
        let interfaces = """
            # \(node.name) \(node.address)/\(plan.network.prefix): the clump agent configured the card from DHCP
            # before /sbin/init; its root is on NFS through it, so nothing here takes it down or up again.
            auto lo
            iface lo inet loopback

            """
        let texts = [
            node.name + "\n", hosts, fstab, interfaces, map, map,
        ]
        return Array(zip(paths(name: node.name), texts + [writable.joined(separator: "\n") + "\n"]))
    }

    /// The generated files of the tree of the node called `name`, in the order `node` renders them.
    static func paths(name: String) -> [String] {
        let base = MasterLayout.nfsrootTree(name: name)
        return overlayFiles.map { "\(base)/\(NodeTree.files)/\($0)" } + ["\(base)/\(NodeTree.writableList)"]
    }

    /// How many files `node` renders.
    static let filesPerNode = overlayFiles.count + 1

    /// The NFS-root nodes, in inventory order.
    static func nodes(_ plan: MasterPlan) -> [Inventory.Node] {
        plan.inventory.nodes.filter { $0.boot == .nfsroot }
    }

    /// Each root in first-use order, with the addresses of the nodes that boot it.
    static func roots(_ plan: MasterPlan, _ nodes: [Inventory.Node]) -> [(String, [IPv4Address])] {
        var clients: [String: [IPv4Address]] = [:]
        var order: [String] = []
        for node in nodes {
            let root = root(plan, node)
            if clients[root] == nil { order.append(root) }
            clients[root, default: []].append(node.address)
        }
        return order.map { ($0, clients[$0] ?? []) }
    }

    /// `/etc/exports` for the kernel NFS server (exports(5)): each root read-only with root squashed
    /// to the NFS-root nodes that use it, by address; each node's tree read-write to that node only.
    /// Never `*`. A node adds one line and one address here.
    public static func exports(_ plan: MasterPlan) -> String {
        var out = """
            # clump: NFS exports for the NFS-root nodes; generated, do not edit. Install with
            #   cp \(plan.directory)/\(MasterLayout.exports) /etc/exports.d/clump.exports && exportfs -ra
            # Shared roots: read-only, root squashed, to the nodes that boot them.

            """
        let nodes = nodes(plan)
        for (root, clients) in roots(plan, nodes) {
            out += exportPath(root) + " "
            out += clients.map { "\($0)(ro,root_squash,no_subtree_check,sec=sys)" }.joined(separator: " ")
            out += "\n"
        }
        out += "# Each node's own trees, to that node's address only, root squashed: its description read-only,\n"
        out += "# its data (writable directories) read-write.\n"
        for node in nodes {
            out += "\(exportPath(tree(plan, node))) \(node.address)(ro,root_squash,no_subtree_check,sec=sys)\n"
            out += "\(exportPath(data(plan, node))) \(node.address)(rw,root_squash,no_subtree_check,sec=sys)\n"
        }
        return out
    }

    /// exports(5) writes a space in a path as `\040`.
    static func exportPath(_ path: String) -> String {
        path.replacing(" ", with: "\\040")
    }

    /// The nfs-ganesha configuration (the user-space server, for a master whose kernel has no nfsd):
    /// NFSv4 only, so no rpcbind and no mountd; each root read-only with root squashed to its nodes,
    /// each node's description read-only and its data read-write to its address, root squashed. The
    /// pseudo path is the real path, so a node mounts `SERVER:PATH` from either server alike. Export
    /// ids (`ganeshaIDs`) are stable when nodes come and go.
    public static func ganesha(_ plan: MasterPlan) -> String {
        var out = """
            # clump: nfs-ganesha configuration for the NFS-root nodes; generated, do not edit.
            # Run: ganesha.nfsd -F -f \(plan.directory)/\(MasterLayout.ganesha) -L LOGFILE -p PIDFILE
            NFS_CORE_PARAM {
                # NFSv4 only (RFC 7530, RFC 8881): one TCP port, no rpcbind, no mountd, no NLM.
                Protocols = 4;
                Enable_NLM = false;
                Enable_RQUOTA = false;
            }
            NFSV4 {
                # Nodes boot at once after a restart: no 90 s grace period for state they never had.
                Graceless = true;
                Only_Numeric_Owners = true;
            }
            NFS_KRB5 {
                Active_krb5 = false;
            }
            EXPORT_DEFAULTS {
                Access_Type = None;
                Squash = root_squash;
                # Squashed root is nobody, as with the kernel server (whose writable directories
                # generate makes owned by it).
                Anonymous_Uid = \(NodeTree.anonymousID);
                Anonymous_Gid = \(NodeTree.anonymousID);
                SecType = sys;
                Protocols = 4;
                Transports = TCP;
            }

            """
        let nodes = nodes(plan)
        let roots = roots(plan, nodes)
        for (index, (root, clients)) in roots.enumerated() {
            out += export(id: index + 1, path: root, clients: clients, access: "RO", squash: "root_squash")
        }
        for node in nodes {
            let ids = ganeshaIDs(number: Int(node.number), roots: roots.count)
            out += export(
                id: ids.description, path: tree(plan, node), clients: [node.address], access: "RO", squash: "root_squash")
            out += export(id: ids.data, path: data(plan, node), clients: [node.address], access: "RW", squash: "root_squash")
        }
        return out
    }

    /// A node's two export ids under ganesha, whose ids are 16 bits (0 is its pseudo root): roots
    /// take 1 and up; node number n takes 65536 - 2m for its description and one less for its data,
    /// m = n up to `ganeshaSlots` (32,766 with one root: every number of a /17) and n folded into
    /// them beyond, on a /16, whose numbers go to 65534 (two ids each do not fit). A node's ids
    /// depend only on its number and the count of roots, so they stay when other nodes come and go:
    /// ganesha puts the export id into every file handle, and a changed id makes every handle a
    /// running node holds stale.
    static func ganeshaIDs(number: Int, roots: Int) -> (description: Int, data: Int) {
        let m = (number - 1) % ganeshaSlots(roots: roots) + 1
        return (65536 - 2 * m, 65535 - 2 * m)
    }

    /// How many nodes' pairs of ids fit above `roots` roots' ids.
    static func ganeshaSlots(roots: Int) -> Int { max((65534 - roots) / 2, 1) }

    /// Two NFS-root nodes whose ganesha export ids would be the same (only on a /16, numbers
    /// `ganeshaSlots` apart), or nil, with that distance.
    static func ganeshaClash(_ plan: MasterPlan) -> (first: Inventory.Node, second: Inventory.Node, apart: Int)? {
        let nodes = nodes(plan)
        let roots = roots(plan, nodes).count
        var owner: [Int: Inventory.Node] = [:]
        for node in nodes {
            let id = ganeshaIDs(number: Int(node.number), roots: roots).description
            if let other = owner[id] { return (other, node, ganeshaSlots(roots: roots)) }
            owner[id] = node
        }
        return nil
    }

    private static func export(
        id: Int, path: String, clients: [IPv4Address], access: String, squash: String
    ) -> String {
        """
        EXPORT {
            Export_Id = \(id);
            Path = "\(path)";
            Pseudo = "\(path)";
            FSAL { Name = VFS; }
            CLIENT {
                Clients = \(clients.map(\.description).joined(separator: ", "));
                Access_Type = \(access);
                Squash = \(squash);
                Protocols = 4;
            }
        }

        """
    }
}
