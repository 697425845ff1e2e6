import AgentSupport
import AutoMap
import Glibc
import NetProbe

/// The files a configured drone writes, and the conversions from what NetProbe found to what
/// AutoMap derives from.
public enum NodeFiles {
    /// The map files: `/etc/mosix.map` for MOSIX, `/etc/hpc.map` for openMosix (HOWTO 5.4.2).
    public static let mosixMap = "/etc/mosix.map"
    public static let hpcMap = "/etc/hpc.map"

    /// AutoMap's view of a lease; `card` gives the bus address that orders the cards.
    public static func lease(_ lease: DHCPLease, card: NetworkInterface?) -> Lease {
        Lease(
            interface: lease.interface, busAddress: card?.busAddress, mac: lease.mac.description,
            address: IPv4Address(lease.address.value), prefix: lease.prefixLength,
            router: lease.router.map { IPv4Address($0.value) }, hostname: lease.hostName)
    }

    /// The paths and texts to write under the root, in order.
    public static func plan(_ derived: Derived) -> [(path: String, text: String)] {
        [
            (mosixMap, derived.mosixMap),
            (hpcMap, derived.hpcMap),
            ("/etc/hostname", derived.hostname + "\n"),
            ("/etc/hosts", derived.hosts),
        ]
    }

    /// Writes the files of `derived` under `root`; with `setHostname`, also tells the kernel.
    public static func write(_ derived: Derived, root: String, setHostname: Bool) throws {
        for (path, text) in plan(derived) {
            try SystemFile.writeAtomically(Array(text.utf8), to: rooted(root, path))
        }
        if setHostname {
            let name = derived.hostname
            try syscall("sethostname", path: name) { sethostname(name, name.utf8.count) }
        }
    }

    /// Writes `<root>/run/clump/status`.
    public static func write(_ status: NodeStatus, root: String) throws {
        try SystemFile.writeAtomically(Array(status.rendered().utf8), to: rooted(root, NodeStatus.path))
    }
}

/// Applies the map to a MOSIX or openMosix kernel, as Clump/OS did: `setpe -w -f <map>`
/// (HOWTO 5.4.2 and chapter 7), when the kernel has it and the image carries `setpe`.
public enum MosixHook {
    /// What to run, or nil when the kernel has no MOSIX: `/proc/hpc/admin` (openMosix) reads
    /// `/etc/hpc.map`, `/proc/mosix/admin` (MOSIX) `/etc/mosix.map`. `setpe` is looked for in
    /// the usual directories under `root`; nil path means the kernel has MOSIX but no setpe is there.
    public static func plan(root: String) -> (kernel: String, argv: [String]?)? {
        let kernels = [("/proc/hpc/admin", "openMosix", NodeFiles.hpcMap), ("/proc/mosix/admin", "MOSIX", NodeFiles.mosixMap)]
        guard let (_, kernel, map) = kernels.first(where: { exists(rooted(root, $0.0)) }) else { return nil }
        let setpe = ["/sbin/setpe", "/bin/setpe", "/usr/sbin/setpe", "/usr/bin/setpe"].first { exists(rooted(root, $0)) }
        return (kernel, setpe.map { [rooted(root, $0), "-w", "-f", map] })
    }

    /// Runs the plan; returns the console line.
    public static func apply(root: String) -> String? {
        guard let (kernel, argv) = plan(root: root) else { return nil }
        guard let argv else { return "clump: the kernel has \(kernel) but the image has no setpe; the map is not applied" }
        let line = argv.joined(separator: " ")
        do {
            let status = try run(argv)
            return status.exitCode == 0 ? "clump: \(kernel): \(line)" : "clump: \(line) failed (\(status))"
        } catch {
            return "clump: \(line) failed: \(error)"
        }
    }

    static func run(_ argv: [String]) throws -> ExitStatus {
        var pid: pid_t = 0
        let arguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in arguments { free(pointer) } }
        try syscall("posix_spawn", path: argv[0]) {
            let code = posix_spawn(&pid, argv[0], nil, nil, arguments, environ)
            if code == 0 { return 0 }
            errno = code
            return -1
        }
        var status: Int32 = 0
        try syscall("waitpid", path: argv[0]) { waitpid(pid, &status, 0) }
        return ExitStatus(raw: status)
    }

    private static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
