/// One group of kernel requirements: a `kernel-config/<name>.config` fragment.
///
/// `=y` means the option must be built in, `=m` that built in or module is fine, `# ... is not
/// set` that it must be off, a string or number that it must be exactly that. The comment
/// lines above an option say why, and are printed when it is not met. A `# clump: required`
/// or `# clump: optional` line says whether a drone can boot without the group.
public struct ConfigFragment: Sendable {
    /// The file name without `.config`: "required", "nic", "nfsroot", "mosix".
    public let name: String
    public let isOptional: Bool
    public let config: KernelConfig

    public var requirements: [KernelConfig.Entry] { config.entries }

    public init(name: String, text: String, file: String) throws {
        self.name = name
        config = try KernelConfig(parsing: text, file: file)
        var optional: Bool?
        for directive in config.directives {
            switch directive {
            case "required": optional = false
            case "optional": optional = true
            default:
                throw KernelError(
                    .syntax, "unknown directive '# clump: \(directive)'", file: file,
                    hint: "use '# clump: required' or '# clump: optional'")
            }
        }
        guard let optional else {
            throw KernelError(
                .syntax, "the fragment does not say whether it is required", file: file,
                hint: "add a '# clump: required' or '# clump: optional' line")
        }
        isOptional = optional
    }

    /// Every `*.config` in `directory` (a host path), required groups first, then by name.
    public static func load(directory: String) throws -> [ConfigFragment] {
        guard let names = try Files.list(directory) else {
            throw KernelError(
                .io, "the fragment directory does not exist", file: directory, syscall: "opendir", errno: 2,
                hint: "point it at the kernel-config/ directory of the clump sources")
        }
        var fragments: [ConfigFragment] = []
        for name in names where name.hasSuffix(".config") {
            let path = Files.join(directory, name)
            fragments.append(
                try ConfigFragment(
                    name: String(name.dropLast(".config".count)),
                    text: String(decoding: Files.readAll(path), as: UTF8.self), file: path))
        }
        return fragments.sorted { ($0.isOptional ? 1 : 0, $0.name) < ($1.isOptional ? 1 : 0, $1.name) }
    }
}

/// How the initramfs is compressed; the kernel needs the matching CONFIG_RD_* decompressor.
public enum InitramfsCompression: String, CaseIterable, Sendable {
    case none, gzip, bzip2, lzma, xz, lzo, lz4, zstd

    /// The option that lets the kernel unpack it (init/Kconfig, "Initial RAM filesystem").
    public var option: String? {
        switch self {
        case .none: return nil
        case .gzip: return "CONFIG_RD_GZIP"
        case .bzip2: return "CONFIG_RD_BZIP2"
        case .lzma: return "CONFIG_RD_LZMA"
        case .xz: return "CONFIG_RD_XZ"
        case .lzo: return "CONFIG_RD_LZO"
        case .lz4: return "CONFIG_RD_LZ4"
        case .zstd: return "CONFIG_RD_ZSTD"
        }
    }
}

/// Checks a kernel config against the fragments, and compares a master's config with a node's.
public enum KernelCheck {
    /// How one requirement fares.
    public struct Finding: Hashable, Sendable {
        public enum Status: Hashable, Sendable {
            case ok
            /// Not set at all.
            case missing
            /// Set, but not as required (m where y is needed, on where it must be off, another string).
            case wrongValue
        }

        public let option: String
        public let expected: KernelConfig.Value
        public let actual: KernelConfig.Value
        public let status: Status
        public let why: String?
        /// `file:line` of the requirement.
        public let source: String
    }

    /// One fragment's findings.
    public struct GroupReport: Sendable {
        public let name: String
        public let isOptional: Bool
        public let findings: [Finding]

        public var problems: [Finding] { findings.filter { $0.status != .ok } }
        public var isSatisfied: Bool { problems.isEmpty }
    }

    /// The result of `check`.
    public struct Report: Sendable {
        /// The checked config's file.
        public let config: String
        public let compression: InitramfsCompression
        public let groups: [GroupReport]
        /// Which ways of booting an NFS-root node the kernel supports.
        public var nfsroot = NFSRootSupport(initramfs: false, kernelOnly: false, detail: "")

        /// True when every required group is satisfied.
        public var isBootable: Bool { groups.allSatisfy { $0.isOptional || $0.isSatisfied } }

        /// Human-readable text, one line per group and one per unmet requirement; `verbose`
        /// adds one line per met requirement too.
        public func render(verbose: Bool = false) -> String {
            var text = "kernel config \(config) (initramfs: \(compression.rawValue))\n"
            for group in groups {
                let label = group.name + (group.isOptional ? " (optional)" : "")
                if group.isSatisfied {
                    text += "  \(label): ok, \(group.findings.count) options\n"
                } else {
                    text += "  \(label): \(group.problems.count) of \(group.findings.count) not met\n"
                }
                for finding in group.findings where verbose && finding.status == .ok {
                    text += "    \(finding.option)=\(finding.actual) ok [\(finding.source)]\n"
                }
                for finding in group.problems {
                    let state =
                        finding.status == .missing
                        ? "not set" : "is \(finding.actual)"
                    text += "    \(finding.option) \(state), want \(wanted(finding.expected))"
                    if let why = finding.why { text += ": \(why)" }
                    text += " [\(finding.source)]\n"
                }
            }
            text += nfsroot.render()
            text += isBootable ? "  => a drone can boot this kernel\n" : "  => a drone cannot boot this kernel\n"
            return text
        }

        private func wanted(_ value: KernelConfig.Value) -> String {
            switch value {
            case .builtin: return "y (built in)"
            case .module: return "y or m"
            case .notSet: return "not set"
            default: return "\(value)"
            }
        }
    }

    /// Checks `config` against `fragments`. The RD_* option of `compression` is added to the
    /// first required group (or a group "initramfs" if no fragment is required).
    public static func check(config: KernelConfig, fragments: [ConfigFragment], compression: InitramfsCompression)
        -> Report
    {
        var groups: [GroupReport] = []
        var compressionAdded = compression.option == nil
        for fragment in fragments {
            var findings = fragment.requirements.map { requirement in
                finding(
                    requirement.name, expected: requirement.value, why: requirement.why,
                    source: "\(fragment.config.file):\(requirement.line)", in: config)
            }
            if !fragment.isOptional && !compressionAdded, let option = compression.option {
                findings.append(compressionFinding(option, compression, in: config))
                compressionAdded = true
            }
            groups.append(GroupReport(name: fragment.name, isOptional: fragment.isOptional, findings: findings))
        }
        if !compressionAdded, let option = compression.option {
            groups.insert(
                GroupReport(
                    name: "initramfs", isOptional: false,
                    findings: [compressionFinding(option, compression, in: config)]), at: 0)
        }
        var report = Report(config: config.file, compression: compression, groups: groups)
        report.nfsroot = NFSRootSupport(
            config: config, kernelOnlyGroup: groups.first { $0.name == NFSRootSupport.fragment })
        return report
    }

    private static func compressionFinding(
        _ option: String, _ compression: InitramfsCompression, in config: KernelConfig
    )
        -> Finding
    {
        var why =
            "the initramfs is \(compression.rawValue)-compressed; without this decompressor the kernel cannot unpack it"
        if compression == .xz { why += " (the kernel's unxz knows only CRC32 checks: xz --check=crc32)" }
        return finding(option, expected: .builtin, why: why, source: "initramfs compression", in: config)
    }

    private static func finding(
        _ option: String, expected: KernelConfig.Value, why: String?, source: String, in config: KernelConfig
    ) -> Finding {
        let actual = config[option]
        let ok: Bool
        switch expected {
        case .builtin: ok = actual == .builtin
        case .module: ok = actual.isEnabled
        default: ok = actual == expected
        }
        let status: Finding.Status = ok ? .ok : (actual == .notSet ? .missing : .wrongValue)
        return Finding(option: option, expected: expected, actual: actual, status: status, why: why, source: source)
    }

    // MARK: - Master against node

    /// An option whose value differs between two kernels in a way that breaks migration.
    public struct Difference: Hashable, Sendable, CustomStringConvertible {
        public let option: String
        public let master: KernelConfig.Value
        public let node: KernelConfig.Value
        public let reason: String

        public var description: String { "\(option): master \(master), node \(node): \(reason)" }
    }

    static let topologyReason =
        "migration fails with \"Process migration failed: incompatible topology\"; Clump/OS nodes are built"
        + " without CONFIG_MOSIX_TOPOLOGY, so rebuild the master without it (MOSIX HOWTO 7.5)"
    static let mosixReason =
        "MOSIX/openMosix options must be the same on every node (\"run the same openMosix version AND"
        + " configuration on each of your cluster nodes\", HOWTO 5.4.2); differently configured kernels make"
        + " migrating processes fail with \"Network Unreachable\" (HOWTO 7.5)"

    /// Options outside MOSIX that must agree for a process to continue on another node, and why.
    /// A migrated process keeps its registers, address space and kernel-side accounting, so
    /// anything that changes the user ABI, the address-space layout or the units of state sent
    /// between nodes counts. Drivers, file systems and tuning do not: they never travel.
    public static let migrationOptions: [(option: String, reason: String)] = [
        ("CONFIG_64BIT", "word size: a process's registers and pointers only make sense on the same width"),
        ("CONFIG_X86_64", "instruction set and system-call ABI of the migrated process"),
        ("CONFIG_X86_32", "instruction set and system-call ABI of the migrated process"),
        ("CONFIG_IA32_EMULATION", "32-bit processes can only migrate to kernels that can run 32-bit code"),
        ("CONFIG_X86_X32_ABI", "x32 processes can only migrate to kernels with the x32 system-call ABI"),
        ("CONFIG_X86_X32", "x32 processes can only migrate to kernels with the x32 system-call ABI (pre-5.18 name)"),
        (
            "CONFIG_X86_5LEVEL",
            "user address-space size (47 or 56 bits): a mapping valid at home may not fit on the node"
        ),
        ("CONFIG_X86_PAE", "page-table format and the physical addresses a 32-bit process's memory may use"),
        ("CONFIG_NOHIGHMEM", "the 32-bit memory model (and with it the user/kernel split)"),
        ("CONFIG_HIGHMEM4G", "the 32-bit memory model (and with it the user/kernel split)"),
        ("CONFIG_HIGHMEM64G", "the 32-bit memory model (PAE) (and with it the user/kernel split)"),
        (
            "CONFIG_VMSPLIT_3G",
            "the user/kernel split (TASK_SIZE): a process using addresses above the node's split cannot run there"
        ),
        ("CONFIG_VMSPLIT_3G_OPT", "the user/kernel split (TASK_SIZE)"),
        ("CONFIG_VMSPLIT_2G", "the user/kernel split (TASK_SIZE)"),
        ("CONFIG_VMSPLIT_2G_OPT", "the user/kernel split (TASK_SIZE)"),
        ("CONFIG_VMSPLIT_1G", "the user/kernel split (TASK_SIZE)"),
        (
            "CONFIG_PAGE_OFFSET",
            "the user/kernel split (TASK_SIZE): a process using addresses above the node's split cannot run there"
        ),
        (
            "CONFIG_SMP",
            "MOSIX-era kernels ship kernel-side process state between nodes, and its layout changes with SMP"
        ),
        (
            "CONFIG_HZ",
            "process times and timeouts travel between home and remote node in jiffies; another HZ rescales them"
        ),
        ("CONFIG_HZ_100", "the tick rate (see CONFIG_HZ)"),
        ("CONFIG_HZ_250", "the tick rate (see CONFIG_HZ)"),
        ("CONFIG_HZ_300", "the tick rate (see CONFIG_HZ)"),
        ("CONFIG_HZ_1000", "the tick rate (see CONFIG_HZ)"),
    ]

    /// The openMosix options of the HOWTO's example that do not start with CONFIG_MOSIX.
    static let openMosixExtras: Set<String> = ["CONFIG_QKERNEL_EXT", "CONFIG_QOS_JID"]

    static func isMosixOption(_ name: String) -> Bool {
        name.hasPrefix("CONFIG_MOSIX") || name.hasPrefix("CONFIG_OPENMOSIX") || openMosixExtras.contains(name)
    }

    /// Options that differ between `master` and `node` and break process migration: every
    /// MOSIX/openMosix option (CONFIG_MOSIX_TOPOLOGY first), then `migrationOptions`.
    /// An absent option and `is not set` are the same.
    public static func compare(master: KernelConfig, node: KernelConfig) -> [Difference] {
        var differences: [Difference] = []
        let mosix = Set((master.entries + node.entries).map(\.name).filter(isMosixOption))
        let ordered = mosix.sorted { a, b in
            (a == "CONFIG_MOSIX_TOPOLOGY" ? 0 : 1, a) < (b == "CONFIG_MOSIX_TOPOLOGY" ? 0 : 1, b)
        }
        for option in ordered where master[option] != node[option] {
            differences.append(
                Difference(
                    option: option, master: master[option], node: node[option],
                    reason: option == "CONFIG_MOSIX_TOPOLOGY" ? topologyReason : mosixReason))
        }
        for (option, reason) in migrationOptions where master[option] != node[option] {
            differences.append(Difference(option: option, master: master[option], node: node[option], reason: reason))
        }
        return differences
    }

    /// Human-readable text for `compare`'s result.
    public static func render(_ differences: [Difference], master: KernelConfig, node: KernelConfig) -> String {
        var text = "master \(master.file) vs node \(node.file)\n"
        if differences.isEmpty {
            return text + "  no differences that break process migration\n"
        }
        for difference in differences {
            text += "  \(difference.option): master \(difference.master), node \(difference.node)\n"
            text += "    \(difference.reason)\n"
        }
        text +=
            "  => \(differences.count) difference\(differences.count == 1 ? "" : "s") that break process migration\n"
        return text
    }
}


/// The two ways an NFS-root node can boot: the agent mounts the root from the initramfs with the
/// NFSv4 client and overlayfs (modules are enough: Debian's stock kernel), or the kernel mounts it
/// itself (`root=/dev/nfs`, `kernel-config/nfsroot.config`: all built in, no initramfs).
public struct NFSRootSupport: Sendable, Equatable {
    /// The fragment that describes the kernel-only way.
    public static let fragment = "nfsroot"
    /// Options the initramfs way needs, built in or as modules.
    public static let initramfsOptions = ["CONFIG_NFS_FS", "CONFIG_NFS_V4", "CONFIG_OVERLAY_FS"]

    public var initramfs: Bool
    public var kernelOnly: Bool
    /// The options' values, for the line.
    public var detail: String

    public init(initramfs: Bool, kernelOnly: Bool, detail: String) {
        self.initramfs = initramfs
        self.kernelOnly = kernelOnly
        self.detail = detail
    }

    /// From a config and the report of the `nfsroot` fragment (nil when there is no such fragment).
    public init(config: KernelConfig, kernelOnlyGroup: KernelCheck.GroupReport?) {
        initramfs = Self.initramfsOptions.allSatisfy { config[$0].isEnabled }
        kernelOnly = kernelOnlyGroup?.isSatisfied ?? (config["CONFIG_ROOT_NFS"] == .builtin)
        detail = Self.initramfsOptions.map { "\($0.dropFirst("CONFIG_".count))=\(config[$0])" }.joined(separator: " ")
    }

    /// `  nfsroot ways: ...`, one line.
    public func render() -> String {
        let first = initramfs ? "yes" : "no"
        let second = kernelOnly ? "yes" : "no, see the nfsroot group"
        return "  nfsroot ways: agent in the initramfs (\(detail)): \(first); "
            + "kernel only (ROOT_NFS, no initramfs): \(second)\n"
    }
}
