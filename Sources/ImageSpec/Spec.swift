import AutoMap
import DroneProtocol

/// The validated image spec: what `clump.yaml` asks `clumpbuild` to make.
///
/// Every default lives in `SpecTable`; the stored properties only point there, so the
/// starter spec, the parser and this type cannot disagree about a default.
public struct Spec: Sendable {
    /// The drone's kernel; nil parts are found by `KernelLocator`.
    public var kernel = Kernel()
    /// Which kernel modules go into the image.
    public var drivers = Drivers()
    /// Extra host files and binaries copied into the image.
    public var files: [File] = SpecTable.files.default
    /// Extra directories copied over the image root, after the repository's `rootfs/`.
    public var overlays: [String] = SpecTable.overlays.default
    /// The boot menu and kernel command line.
    public var boot = Boot()
    /// How the initramfs is compressed.
    public var compression: Compression = SpecTable.compression.default
    /// The ISO9660 volume id.
    public var label: String = SpecTable.label.default
    /// Cluster membership settings.
    public var cluster = Cluster()
    /// Which outputs are written, and their names inside the output directory.
    public var outputs = Outputs()
    /// The batch system the drones join (off by default).
    public var engine = Engine()
    /// The shared root and writable directories of NFS-root nodes.
    public var nfsroot = NFSRoot()
    /// Path of the static `clumpnode` binary; nil means the one next to `clumpbuild`.
    public var agent: String? = SpecTable.agent.default
    /// Path of the static busybox for expert mode.
    public var busybox: String = SpecTable.busybox.default
    /// Timestamp for every archive entry; nil falls back to SOURCE_DATE_EPOCH, then a fixed epoch.
    public var sourceDateEpoch: Int? = SpecTable.sourceDateEpoch.default

    /// Directory relative paths in the spec resolve against (the spec file's directory).
    public var baseDirectory: String
    /// The spec file as the user named it, for diagnostics.
    public var file: String
    /// Where each key path was written; defaults have no entry.
    var locations: [String: SourceLocation] = [:]

    /// A spec with every default, resolving relative paths against `baseDirectory`.
    public init(baseDirectory: String, file: String = "clump.yaml") {
        self.baseDirectory = baseDirectory
        self.file = file
    }

    /// Where the spec wrote `keyPath` (e.g. `drivers.include[1]`); nil for defaults.
    public func location(of keyPath: String) -> SourceLocation? {
        locations[keyPath]
    }

    /// Every key path the spec wrote, with its location.
    public var writtenKeyPaths: [String: SourceLocation] { locations }

    /// A path from the spec made absolute against `baseDirectory`, lexically normalised.
    public func resolve(_ path: String) -> String {
        Path.normalize(path.hasPrefix("/") ? path : Path.join(baseDirectory, path))
    }

    /// A diagnostic about `keyPath`, located at it or, for defaults, at the nearest section the file wrote.
    public func diagnostic(_ keyPath: String, _ message: String, hint: String? = nil) -> SpecDiagnostic {
        SpecDiagnostic(
            file: file, location: nearestLocation(of: keyPath), keyPath: keyPath, message: message, hint: hint)
    }

    /// A one-diagnostic error about `keyPath`; see `diagnostic(_:_:hint:)`.
    public func error(_ keyPath: String, _ message: String, hint: String? = nil) -> SpecError {
        SpecError(diagnostics: [diagnostic(keyPath, message, hint: hint)])
    }

    /// The location of `keyPath` or of its closest written ancestor (`files[2].mode` -> `files[2]` -> `files`).
    public func nearestLocation(of keyPath: String) -> SourceLocation? {
        var path = Substring(keyPath)
        while !path.isEmpty {
            if let location = locations[String(path)] { return location }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = path[..<cut]
        }
        return nil
    }
}

extension Spec: Equatable {
    /// Equal when the settings and the directory they resolve against are; where they were written does not matter.
    public static func == (lhs: Spec, rhs: Spec) -> Bool {
        lhs.kernel == rhs.kernel && lhs.drivers == rhs.drivers && lhs.files == rhs.files
            && lhs.overlays == rhs.overlays && lhs.boot == rhs.boot && lhs.compression == rhs.compression
            && lhs.label == rhs.label && lhs.cluster == rhs.cluster && lhs.outputs == rhs.outputs
            && lhs.agent == rhs.agent && lhs.busybox == rhs.busybox && lhs.sourceDateEpoch == rhs.sourceDateEpoch
            && lhs.engine == rhs.engine && lhs.baseDirectory == rhs.baseDirectory
    }
}

extension Spec {
    /// `kernel:` in the spec; each nil part is found automatically.
    public struct Kernel: Sendable, Equatable {
        /// Path of the kernel image (vmlinuz).
        public var image: String? = SpecTable.kernelImage.default
        /// Path of the `/lib/modules/<version>` directory.
        public var modules: String? = SpecTable.kernelModules.default
        /// Path of the kernel's `.config`.
        public var config: String? = SpecTable.kernelConfig.default
        /// Build the kernel from source instead (`kernel.build:`); nil: take image/modules/config.
        public var build: KernelBuild? = SpecTable.kernelBuild.default

        /// All parts automatic.
        public init() {}
    }

    /// `drivers:` in the spec.
    public struct Drivers: Sendable, Equatable {
        /// Group names (see `groups`) and module names to include.
        public var include: [String] = SpecTable.driversInclude.default
        /// Module names never to include, even when a group names them.
        public var exclude: [String] = SpecTable.driversExclude.default
        /// Whether shipped modules lose their BTF sections and signatures (see the setting's help).
        public var strip: Bool = SpecTable.driversStrip.default

        /// The defaults.
        public init() {}

        /// Driver groups `include` understands, with what each expands to (resolved by the builder).
        public static let groups: [String: String] = [
            "ethernet": "every ethernet driver of the kernel: PCI, USB and virtio, no wireless",
            "nfsroot": "the NFSv4 client and overlayfs, for nodes that boot `nfsroot`",
        ]
    }

    /// One entry of `files:`.
    public struct File: Sendable, Equatable {
        /// Host path to copy from (relative paths resolve against the spec's directory).
        public var source: String
        /// Absolute path inside the image.
        public var target: String
        /// Permission bits; nil keeps the host file's mode.
        public var mode: UInt32?

        /// An entry copying `source` to `target` (default: the same path).
        public init(source: String, target: String? = nil, mode: UInt32? = nil) {
            self.source = source
            self.target = target ?? source
            self.mode = mode
        }
    }

    /// A serial console: `ttyS<port>,<speed>`.
    public struct SerialConsole: Sendable, Equatable, CustomStringConvertible {
        /// The `N` in `ttyS<N>`.
        public var port: Int
        /// Baud rate.
        public var speed: Int

        /// Speeds the 8250 driver and the boot loaders agree on.
        public static let speeds = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600]

        /// A console on `ttyS<port>` at `speed` baud.
        public init(port: Int, speed: Int) {
            self.port = port
            self.speed = speed
        }

        /// The kernel's `console=` form, `ttyS0,115200`.
        public var description: String { "ttyS\(port),\(speed)" }

        /// Parses `ttyS<N>,<baud>`; nil when malformed or the speed is not standard.
        public init?(_ text: String) {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].hasPrefix("ttyS") else { return nil }
            let digits = parts[0].dropFirst(4)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let port = Int(digits), port <= 255,
                parts[1].allSatisfy(\.isASCIIDigit), let speed = Int(parts[1]), Self.speeds.contains(speed)
            else { return nil }
            self.init(port: port, speed: speed)
        }
    }

    /// `boot:` in the spec.
    public struct Boot: Sendable, Equatable {
        /// Modes the boot menu offers, in menu order (`BootMode.imageModes` at most).
        public var modes: [BootMode] = SpecTable.bootModes.default
        /// The mode started when the menu times out; one of `modes`.
        public var defaultMode: BootMode = SpecTable.bootDefault.default
        /// Seconds the menu waits.
        public var timeout: Int = SpecTable.bootTimeout.default
        /// Extra kernel command line arguments.
        public var kernelArgs: [String] = SpecTable.bootKernelArgs.default
        /// Whether the kernel boots with `quiet`.
        public var quiet: Bool = SpecTable.bootQuiet.default
        /// The serial console; nil for none.
        public var serial: SerialConsole? = SpecTable.bootSerial.default
        /// Whether the CD/USB boots through the signed chain (shim, GRUB) for Secure Boot.
        public var secureBoot: Bool = SpecTable.bootSecureBoot.default

        /// The defaults.
        public init() {}
    }

    /// Initramfs compression.
    public enum Compression: String, Sendable, Equatable, CaseIterable {
        /// zstd when the kernel config has CONFIG_RD_ZSTD=y, else gzip (decided by the builder).
        case auto
        /// zstd (kernel needs CONFIG_RD_ZSTD).
        case zstd
        /// gzip, which every kernel can unpack.
        case gzip
        /// xz (kernel needs CONFIG_RD_XZ).
        case xz
        /// Uncompressed.
        case none
    }

    /// `cluster:` in the spec.
    public struct Cluster: Sendable, Equatable {
        /// The cluster key file; generated by the builder when missing.
        public var keyFile: String = SpecTable.clusterKeyFile.default
        /// During a key rotation, the key being replaced: accepted, never used to sign.
        public var previousKeyFile: String? = SpecTable.clusterPreviousKeyFile.default
        /// The cluster's network; nil when the spec leaves it to each drone's lease.
        public var network: IPv4Network? = SpecTable.clusterNetwork.default
        /// Addresses for unknown DHCP clients; nil derives them from `network` (see `effectiveDHCPRange`).
        public var dhcpRange: AddressRange? = SpecTable.clusterDHCPRange.default
        /// The master's address on the cluster network; nil means the network's first host address.
        public var master: IPv4Address? = SpecTable.clusterMaster.default
        /// The node inventory file (relative to the spec); a missing file means no known nodes.
        public var nodes: String = SpecTable.clusterNodes.default
        /// Who may join: the master approves drones, which then get the cluster's secrets.
        public var join: JoinPolicy = SpecTable.clusterJoin.default
        /// The master's private join key; generated by the builder when missing.
        public var joinKeyFile: String = SpecTable.clusterJoinKeyFile.default
        /// Seconds an announcement key lives before serve makes the next one (`KeyEpochs`).
        public var keyEpoch: Int = SpecTable.clusterKeyEpoch.default

        /// The defaults.
        public init() {}
    }

    /// `cluster.join`: how a drone earns the cluster's secrets (the announcement key, MUNGE's).
    public enum JoinPolicy: String, Sendable, Equatable, CaseIterable {
        /// An unknown machine waits until an operator approves its code (or `serve --enrol`'s window does).
        case approve
        /// As `approve`, and a machine whose MAC is in the inventory joins without anyone: MACs can be copied.
        case knownMACs = "known-macs"
        /// The secrets are in the image, as in the original Clump/OS: for isolated networks only.
        case open
    }

    /// `outputs:` in the spec.
    public struct Outputs: Sendable, Equatable {
        /// ISO file name inside the output directory; nil to skip the ISO.
        public var iso: String? = SpecTable.outputsISO.default
        /// PXE tree directory inside the output directory; nil to skip it.
        public var pxe: String? = SpecTable.outputsPXE.default

        /// The defaults.
        public init() {}
    }
}

extension Spec.Cluster {
    /// The DHCP range for unknown clients: the spec's, or the last quarter of the network's host addresses,
    /// so low node numbers stay free for the inventory (nil without a network, or for /31 and /32).
    public var effectiveDHCPRange: AddressRange? {
        if let dhcpRange { return dhcpRange }
        guard let network, let hosts = network.hosts else { return nil }
        let count = hosts.upperBound.value - hosts.lowerBound.value + 1
        let first = hosts.upperBound.value - max(count / 4, 1) + 1
        return AddressRange(first: IPv4Address(first), last: hosts.upperBound)
    }

    /// The policy the build really uses: with no master (no `network`) nobody can approve, so the
    /// image carries its secrets whatever `join` says.
    public var effectiveJoin: Spec.JoinPolicy { effectiveMaster == nil ? .open : join }

    /// The master's address: the spec's, or the network's first host address.
    public var effectiveMaster: IPv4Address? {
        master ?? network?.hosts?.lowerBound
    }
}

/// An inclusive range of IPv4 addresses, `FIRST-LAST`.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The first address handed out.
    public var first: IPv4Address
    /// The last address handed out.
    public var last: IPv4Address

    /// A range from `first` to `last`; callers check `first <= last`.
    public init(first: IPv4Address, last: IPv4Address) {
        self.first = first
        self.last = last
    }

    /// Whether `address` lies within the range.
    public func contains(_ address: IPv4Address) -> Bool { first <= address && address <= last }

    /// `10.0.2.192-10.0.2.254`, the form the spec takes.
    public var description: String { "\(first)-\(last)" }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Lexical path helpers: the spec names paths that may not exist yet, so nothing here touches the disk.
enum Path {
    static func join(_ base: String, _ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if base.isEmpty { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// Removes `.`, empty and `..` components without following symlinks, as `realpath -s` does.
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
            default: parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func lastComponent(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func hasParentReference(_ path: String) -> Bool {
        path.split(separator: "/").contains("..")
    }
}
