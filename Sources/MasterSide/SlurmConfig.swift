import DroneProtocol
import ImageSpec

/// The controller's part of `engine.slurm`: slurm.conf and cgroup.conf for a configless slurmctld
/// (Slurm 22.05) that takes the drones as dynamic nodes. Rendered, never read back: the master's
/// administrator copies them to /etc/slurm/ (or points SLURM_CONF at them).
///
/// The drones fetch both files from the controller (`slurmd --conf-server`), so the plugins named
/// here are the ones the image ships (`SlurmNode.plugins`); change one and the other follows.
public struct SlurmConfig: Sendable, Equatable {
    /// The master's host name, as slurmctld checks it against SlurmctldHost.
    public var controllerName: String
    /// The master's address on the cluster network, where the drones reach slurmctld.
    public var controllerAddress: String
    /// The drones' settings from the spec.
    public var settings: Spec.Slurm
    /// How many dynamic nodes the controller makes room for: every address of the cluster network.
    public var maxNodeCount: Int

    /// A configuration for the controller `controllerName` at `controllerAddress`.
    public init(controllerName: String, controllerAddress: String, settings: Spec.Slurm, maxNodeCount: Int) {
        self.controllerName = controllerName
        self.controllerAddress = controllerAddress
        self.settings = settings
        self.maxNodeCount = maxNodeCount
    }

    /// Where the files go inside the master directory.
    public static let slurmConf = "slurm/slurm.conf"
    public static let cgroupConf = "slurm/cgroup.conf"

    /// slurm.conf(5).
    public func slurmConf() -> String {
        let port = settings.controller?.port.map { "SlurmctldPort=\($0)\n" } ?? ""
        return """
            # slurm.conf for the clump drones: a configless controller (the drones run
            # `slurmd -Z --conf-server \(settings.controller?.description ?? controllerAddress)` and fetch this file)
            # that accepts them as dynamic nodes. Written by `clumpbuild generate`.
            ClusterName=clump
            SlurmctldHost=\(controllerName)(\(controllerAddress))
            \(port)SlurmctldParameters=enable_configless
            # Dynamic nodes (22.05): room for every address of the cluster network; a flat tree,
            # since the controller cannot route through nodes it did not configure.
            MaxNodeCount=\(maxNodeCount)
            TreeWidth=65533
            AuthType=auth/munge
            AuthInfo=socket=\(settings.mungeSocket)
            CredType=cred/munge
            SlurmUser=\(SlurmNode.slurmUser.name)
            StateSaveLocation=/var/lib/slurm/slurmctld
            SlurmctldLogFile=/var/log/slurm/slurmctld.log
            SlurmdSpoolDir=/var/spool/slurmd
            SlurmdPidFile=/run/slurmd.pid
            # A drone is a RAM disk: no accounting, no energy or profile gathering, no cgroup
            # confinement (see cgroup.conf); the image ships exactly these plugins.
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            JobCompType=jobcomp/none
            SwitchType=switch/none
            MpiDefault=none
            SelectType=select/cons_tres
            SchedulerType=sched/backfill
            MailProg=/bin/true
            # A drone that comes back after a reboot is usable again at once.
            ReturnToService=2
            # Root's jobs are refused here (jobs run as the master's regular users, which the image
            # carries); whoever holds the MUNGE key can still act as any user, root included.
            DisableRootJobs=YES
            # The drones: dynamic nodes join the partition as they register, by the feature every
            # drone has (a NodeSet by feature, 22.05), not any node that registers (Nodes=ALL).
            NodeSet=clumpdrones Feature=\(SlurmNode.droneFeature)
            PartitionName=\(settings.partition) Nodes=clumpdrones Default=YES MaxTime=INFINITE State=UP

            """
    }

    /// cgroup.conf(5): slurmd initialises its cgroup plugin whatever ProctrackType says; cgroup v2,
    /// which the drone mounts at /sys/fs/cgroup, without asking a systemd the drone does not run.
    public func cgroupConf() -> String {
        """
        # cgroup.conf for the clump drones (fetched with slurm.conf). Written by `clumpbuild generate`.
        CgroupPlugin=cgroup/v2
        IgnoreSystemd=yes

        """
    }
}
