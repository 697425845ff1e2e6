import DroneProtocol
import Yams

/// One setting of `clump.yaml`: its key, its default, what it means, how it reads.
struct Setting<Value: Sendable>: Sendable {
    let key: String
    let keyPath: WritableKeyPath<Spec, Value> & Sendable
    let `default`: Value
    let type: ValueType<Value>
    let help: String

    init(
        _ key: String, _ keyPath: WritableKeyPath<Spec, Value> & Sendable, default: Value, _ type: ValueType<Value>,
        help: String
    ) {
        self.key = key
        self.keyPath = keyPath
        self.default = `default`
        self.type = type
        self.help = help
    }
}

/// A setting with its value type erased, so the table can be one list.
struct AnySetting: Sendable {
    let key: String
    let help: String
    let renderDefault: @Sendable () -> String
    let apply: @Sendable (inout Spec, Node, inout Decoding) -> Void

    init<Value>(_ setting: Setting<Value>) {
        key = setting.key
        help = setting.help
        renderDefault = { setting.type.render(setting.default) }
        apply = { spec, node, decoding in
            if let value = setting.type.decode(node, setting.key, &decoding) {
                spec[keyPath: setting.keyPath] = value
            }
        }
    }
}

/// Every setting of the spec, declared once with its default and help (after mkosi's SETTINGS table).
///
/// `Spec`'s stored properties take their initial values from here, the parser walks `all`,
/// and `StarterSpec` prints it, so adding a setting is one entry here plus one property.
enum SpecTable {
    static let kernelImage = Setting(
        "kernel.image", \.kernel.image, default: nil, .optionalPath,
        help: "Kernel image (vmlinuz). Empty: the newest /boot/vmlinuz-<version> that has a /lib/modules/<version>.")
    static let kernelModules = Setting(
        "kernel.modules", \.kernel.modules, default: nil, .optionalPath,
        help: "The kernel's modules directory, /lib/modules/<version>. Empty: the one matching the image.")
    static let kernelConfig = Setting(
        "kernel.config", \.kernel.config, default: nil, .optionalPath,
        help: "The kernel's .config, to check the kernel and pick the compression. Empty: /boot/config-<version>.")
    static let kernelBuild = Setting(
        "kernel.build", \.kernel.build, default: nil, .kernelBuild,
        help: "Build the kernel from source with `clumpbuild kernel` (cached) instead of image/modules/config: "
            + "{source, base, fragments, patches, builtin, timestamp, user, host}. Empty: no build. "
            + "E.g. {fragments: [drone-minimal], patches: [patches/banner.patch]}.")

    static let driversInclude = Setting(
        "drivers.include", \.drivers.include, default: ["ethernet"], .driverNames,
        help: "Driver groups and module names to put in the image; the drone loads what its hardware needs. "
            + "`ethernet` is every ethernet driver of the kernel (PCI, USB, virtio; no wireless); `nfsroot` the "
            + "NFSv4 client and overlayfs, for `boot: nfsroot` nodes (0.6 MiB more in the RAM disk).")
    static let driversExclude = Setting(
        "drivers.exclude", \.drivers.exclude, default: [], .moduleNames,
        help: "Module names to leave out, even when a group includes them.")
    static let driversStrip = Setting(
        "drivers.strip", \.drivers.strip, default: true, .bool,
        help: "Drop what a drone never uses from the shipped modules (BTF type info, ~14 % of their size, ORC "
            + "unwind tables, so an oops inside one has a shorter backtrace, and local symbols no relocation needs) "
            + "and their then-invalid signatures; loading one taints the kernel (E). Set false to ship them as "
            + "they are, signed, as "
            + "CONFIG_MODULE_SIG_FORCE or Secure Boot lockdown requires.")

    static let files = Setting(
        "files", \.files, default: [], .files,
        help: "Extra host files or binaries for the image; binaries bring the shared libraries they need.\n"
            + "Each is a path, copied to the same path, or {source: PATH, target: /PATH, mode: \"0755\"}, e.g.\n"
            + "files: [/usr/bin/htop, {source: tools/probe, target: /usr/local/bin/probe, mode: \"0755\"}]")
    static let overlays = Setting(
        "overlays", \.overlays, default: [], .paths,
        help: "Extra directories copied over the image root, after the repository's rootfs/.")

    static let bootModes = Setting(
        "boot.modes", \.boot.modes, default: BootMode.imageModes, .bootModes,
        help: "Boot menu entries, in menu order: auto (find the network, join the cluster, show the view), "
            + "expert (a shell), safe (no autoconfiguration).")
    static let bootDefault = Setting(
        "boot.default", \.boot.defaultMode, default: .auto, .choice("boot mode", among: BootMode.imageModes),
        help: "The mode started when the menu times out; one of boot.modes.")
    static let bootTimeout = Setting(
        "boot.timeout", \.boot.timeout, default: 5, .seconds(0...3600),
        help: "Seconds the boot menu waits before starting the default mode (0 to 3600).")
    static let bootKernelArgs = Setting(
        "boot.kernel-args", \.boot.kernelArgs, default: [], .kernelArgs,
        help: "Extra kernel command line arguments, one per item.")
    static let bootQuiet = Setting(
        "boot.quiet", \.boot.quiet, default: true, .bool,
        help: "Boot the kernel with `quiet`, so the console shows clump rather than kernel messages.")
    static let bootSerial = Setting(
        "boot.serial", \.boot.serial, default: Spec.SerialConsole(port: 0, speed: 115_200), .serial,
        help: "Serial console for the boot loader and the kernel, as ttyS<N>,<baud>, or false for none.")
    static let bootSecureBoot = Setting(
        "boot.secure-boot", \.boot.secureBoot, default: false, .bool,
        help: "Boot UEFI PCs that have Secure Boot on: the CD/USB boots through Debian's signed shim and GRUB "
            + "(about 5 MiB more in the ISO). Needs a kernel signed for Secure Boot (Debian's are) and "
            + "`drivers: {strip: false}`, since a locked-down kernel loads only signed modules.")

    static let compression = Setting(
        "compression", \.compression, default: .auto, .choice("compression"),
        help: "Initramfs compression: auto (zstd if the kernel has CONFIG_RD_ZSTD=y, else gzip), "
            + "zstd, gzip, xz or none.")
    static let label = Setting(
        "label", \.label, default: "CLUMP", .volumeLabel,
        help: "ISO volume label: 1 to 32 characters of A-Z, 0-9 and _.")

    static let clusterKeyFile = Setting(
        "cluster.key-file", \.cluster.keyFile, default: "cluster.key", .path,
        help: "File with the key that authenticates the nodes' announcements; generated when missing.")
    static let clusterPreviousKeyFile = Setting(
        "cluster.previous-key-file", \.cluster.previousKeyFile, default: nil, .optionalPath,
        help: "While rotating the key of open images (cluster.join: open): the key being replaced, which nodes still "
            + "accept (never sign with). Build and boot images with the new key-file and this set, then drop it once "
            + "every node runs them. Joining drones need none: serve's key epochs rotate their keys.")

    static let clusterJoin = Setting(
        "cluster.join", \.cluster.join, default: .approve, .choice("join policy"),
        help: "How a drone gets the cluster's keys, which are never in the image: approve (an unknown machine "
            + "waits, showing a code, until `clumpbuild approve CODE` or `serve --enrol`), known-macs (approve, and "
            + "a machine whose MAC is in the inventory joins by itself: MACs can be copied), or open (the keys are "
            + "in the image, as in the original Clump/OS: anyone who reads it joins; isolated networks only). "
            + "Without cluster.network there is no master to approve: the build is open.")
    static let clusterKeyEpoch = Setting(
        "cluster.key-epoch", \.cluster.keyEpoch, default: 86_400, .seconds(600...2_592_000),
        help: "Seconds an announcement key lives (joined drones only): serve makes a new one this often, and at once "
            + "on `clumpbuild revoke`, and hands it to the joined drones over their sessions; no image changes.")
    static let clusterJoinKeyFile = Setting(
        "cluster.join-key-file", \.cluster.joinKeyFile, default: "join.key", .path,
        help: "The master's private join key (the image carries its public half, which drones pin); generated "
            + "when missing. Lost or leaked: delete it, build again, and boot every drone from the new image.")

    static let clusterNetwork = Setting(
        "cluster.network", \.cluster.network, default: nil, .optionalNetwork,
        help: "The cluster's network, e.g. 10.0.2.0/24. Set: a drone with several cards numbers itself by the card "
            + "on this network, and `clumpbuild generate` writes DHCP and TFTP configuration for it. Empty: each "
            + "drone uses the network of its first card's lease.")
    static let clusterDHCPRange = Setting(
        "cluster.dhcp-range", \.cluster.dhcpRange, default: nil, .optionalRange,
        help: "Addresses the master hands to machines not in the inventory, as FIRST-LAST inside cluster.network. "
            + "Empty: the last quarter of the network (10.0.2.192-10.0.2.254 on a /24).")
    static let clusterMaster = Setting(
        "cluster.master", \.cluster.master, default: nil, .optionalAddress,
        help: "The master's address on cluster.network: the TFTP server named in ISC dhcpd and Kea configuration. "
            + "Empty: the network's first address (10.0.2.1 on 10.0.2.0/24).")
    static let clusterNodes = Setting(
        "cluster.nodes", \.cluster.nodes, default: "nodes.yaml", .path,
        help: "The node inventory: a YAML list of the known machines (MACs, address, name, boot kind). A missing "
            + "file means no known nodes: every PXE client boots the default drone. `clumpbuild serve --enrol` "
            + "adds the machines it sees booting.")

    static let outputsISO = Setting(
        "outputs.iso", \.outputs.iso, default: "clump.iso", .output("a file name", example: "clump.iso"),
        help: "Bootable ISO (it also boots written to a USB stick), in the output directory; false to skip it.")
    static let outputsPXE = Setting(
        "outputs.pxe", \.outputs.pxe, default: "tftpboot", .output("a directory name", example: "tftpboot"),
        help: "PXE tree (kernel, initramfs, pxelinux files) in the output directory; false to skip it.")

    static let nfsrootRoot = Setting(
        "nfsroot.root", \.nfsroot.root, default: "/srv/clump/root", .string("a directory", check: PathCheck.exportPath),
        help: "The root every `boot: nfsroot` node mounts read-only over NFS, on the master: a Debian tree made "
            + "with debootstrap, or any root with an /sbin/init. A node's `root:` in the inventory overrides it.")
    static let nfsrootWritable = Setting(
        "nfsroot.writable", \.nfsroot.writable, default: ["/var/log", "/home"], .writableDirectories,
        help: "Directories each NFS-root node keeps on the master, in its own tree (the HOWTO mounts /var/log "
            + "from the master); everything else it writes stays in RAM until it reboots.")
    static let nfsrootReadableSecrets = Setting(
        "nfsroot.allow-readable-secrets", \.nfsroot.allowReadableSecrets, default: false, .bool,
        help: "Export a root even when it holds password hashes or private keys a client can read: with sec=sys "
            + "any PC that takes a node's address can claim any user or group but root. Off: generate refuses "
            + "such a root and names the files.")

    static let agent = Setting(
        "agent", \.agent, default: nil, .optionalPath,
        help: "The static clumpnode binary, the drone's /init. Empty: the one next to clumpbuild.")
    static let busybox = Setting(
        "busybox", \.busybox, default: "/bin/busybox", .path,
        help: "A static busybox for the expert-mode shell (Debian: busybox-static).")
    static let sourceDateEpoch = Setting(
        "source-date-epoch", \.sourceDateEpoch, default: nil, .epoch,
        help: "Timestamp of every file in the image, for reproducible builds. "
            + "Empty: $SOURCE_DATE_EPOCH, else a fixed date.")

    static let slurmController = Setting(
        "engine.slurm.controller", \.engine.slurm.controller, default: nil, .optionalController,
        help: "The configless slurmctld (Slurm 22.05) the drones join as dynamic nodes, as HOST or HOST:PORT. "
            + "Set: the image gets slurmd and munged and each drone runs `slurmd -Z --conf-server HOST`. "
            + "Empty: no engine.")
    static let slurmMungeKeyFile = Setting(
        "engine.slurm.munge-key-file", \.engine.slurm.mungeKeyFile, default: "/etc/munge/munge.key", .path,
        help: "The cluster's MUNGE key, the controller's own; copied into the image (mode 0400, user munge).")
    static let slurmMungeSocket = Setting(
        "engine.slurm.munge-socket", \.engine.slurm.mungeSocket, default: "/run/munge/munge.socket.2",
        .string("a path", check: PathCheck.imagePath),
        help: "The MUNGE socket the controller's slurm.conf names (AuthInfo=socket=); the drone's munged "
            + "answers there too.")
    static let slurmFeatures = Setting(
        "engine.slurm.features", \.engine.slurm.features, default: [], .slurmFeatures,
        help: "Features the drones register with, for `sbatch --constraint`.")
    static let slurmPartition = Setting(
        "engine.slurm.partition", \.engine.slurm.partition, default: "drones",
        .string("a partition name", check: SlurmName.check("partition name")),
        help: "The partition of the drones in the controller's slurm.conf (`clumpbuild generate`).")

    /// Section help, printed above each section of the starter spec.
    static let sections: [String: String] = [
        "kernel": "The drone's kernel. Leave a key empty to find it automatically.",
        "drivers": "Kernel modules in the image.",
        "boot": "The boot menu (CD and PXE) and the kernel command line.",
        "cluster": "Cluster membership and the master's network.",
        "outputs": "What clumpbuild writes into the output directory.",
        "engine": "The batch system the drones join and take jobs from; off unless a controller is set.",
        "nfsroot": "Diskless nodes on one shared NFS root (inventory `boot: nfsroot`).",
    ]

    /// The table, in the order the starter spec shows it.
    static let all: [AnySetting] = [
        AnySetting(kernelImage), AnySetting(kernelModules), AnySetting(kernelConfig), AnySetting(kernelBuild),
        AnySetting(driversInclude), AnySetting(driversExclude), AnySetting(driversStrip),
        AnySetting(files), AnySetting(overlays),
        AnySetting(bootModes), AnySetting(bootDefault), AnySetting(bootTimeout), AnySetting(bootKernelArgs),
        AnySetting(bootQuiet), AnySetting(bootSerial), AnySetting(bootSecureBoot),
        AnySetting(compression), AnySetting(label),
        AnySetting(clusterKeyFile), AnySetting(clusterPreviousKeyFile),
        AnySetting(clusterNetwork), AnySetting(clusterDHCPRange), AnySetting(clusterMaster), AnySetting(clusterNodes),
        AnySetting(clusterJoin), AnySetting(clusterJoinKeyFile), AnySetting(clusterKeyEpoch),
        AnySetting(outputsISO), AnySetting(outputsPXE),
        AnySetting(slurmController), AnySetting(slurmMungeKeyFile), AnySetting(slurmMungeSocket),
        AnySetting(slurmFeatures), AnySetting(slurmPartition),
        AnySetting(nfsrootRoot), AnySetting(nfsrootWritable), AnySetting(nfsrootReadableSecrets),
        AnySetting(agent), AnySetting(busybox), AnySetting(sourceDateEpoch),
    ]

    static let byKey: [String: AnySetting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// Section key paths (`boot`), i.e. every proper prefix of a setting's key.
    static let sectionKeys: Set<String> = Set(
        all.flatMap { setting -> [String] in
            let parts = setting.key.split(separator: ".")
            return (1..<max(1, parts.count)).map { parts[..<$0].joined(separator: ".") }
        })

    /// The keys allowed directly under `path` ("" for the top level), in table order.
    static func children(of path: String) -> [String] {
        let prefix = path.isEmpty ? "" : path + "."
        var seen: Set<String> = []
        return all.compactMap { setting in
            guard setting.key.hasPrefix(prefix) else { return nil }
            let child = String(setting.key.dropFirst(prefix.count).prefix { $0 != "." })
            return seen.insert(child).inserted ? child : nil
        }
    }
}
