/// What a drone's Slurm side is made of, which the controller's configuration from `clumpbuild
/// generate` must match: the plugins the image ships (slurm.conf may ask for no other), the
/// accounts it has (`SlurmUser=`), and the feature every drone registers with (the partition's
/// NodeSet). The image builder and the master's generator both read them from here.
public enum SlurmNode {
    /// Where Debian's slurm-wlm keeps its plugins (the binaries' RUNPATH).
    public static let pluginDirectory = "/usr/lib/x86_64-linux-gnu/slurm-wlm"

    /// The plugins slurmd and slurmstepd dlopen() on a dynamic node under the generated slurm.conf,
    /// as seen in their /proc/PID/maps on a drone running a job: authentication and credentials
    /// (MUNGE), the k12 hash of 22.05's credentials, cgroup v2 (slurmd initialises it whatever
    /// ProctrackType says), prep/script (slurmd's default PrEpPlugins), and the `none` choice of every
    /// other plugin type.
    public static let plugins = [
        "auth_munge", "cred_munge", "hash_k12", "cgroup_v2", "proctrack_linuxproc", "task_none", "switch_none",
        "jobacct_gather_none", "acct_gather_energy_none", "acct_gather_profile_none",
        "acct_gather_interconnect_none", "acct_gather_filesystem_none", "job_container_none", "core_spec_none",
        "mpi_none", "route_default", "topology_none", "select_cons_tres",
        // PrEpPlugins' default: slurmd refuses to start without it, though the drones run no prolog.
        "prep_script",
    ].map { "\(pluginDirectory)/\($0).so" }

    /// The MUNGE daemon's user and group in the image (munged refuses a key others can read, and
    /// drops to this user).
    public static let mungeUser = Account(name: "munge", id: 990, home: "/var/lib/munge")
    /// SlurmUser of the generated slurm.conf: slurmd looks the name up even though it runs as root.
    /// 64030 is the id Debian's slurm-wlm packages fix for it.
    public static let slurmUser = Account(name: "slurm", id: 64030, home: "/var/lib/slurm")

    /// A system account: same user and group id.
    public struct Account: Sendable, Equatable {
        public var name: String
        public var id: UInt32
        public var home: String
        /// The /etc/passwd line.
        public var passwdLine: String { "\(name):x:\(id):\(id)::\(home):/bin/false" }
        /// The /etc/group line.
        public var groupLine: String { "\(name):x:\(id):" }
    }

    /// Every drone registers with this feature: the controller's partition takes the nodes that have
    /// it (a NodeSet by feature, where `Nodes=ALL` would take any node that registers).
    public static let droneFeature = "clump"
}
