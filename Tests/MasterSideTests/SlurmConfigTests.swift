import Foundation
import ImageSpec
import TestSupport
import Testing

@testable import MasterSide

/// The controller's configuration, checked by slurmctld itself: it must start on it, configless,
/// with the drones' partition and room for dynamic nodes.
@Suite(.serialized) struct SlurmConfigTests {
    static func config() -> SlurmConfig {
        var settings = Spec.Slurm()
        settings.controller = SlurmController(host: "10.69.0.1")
        return SlurmConfig(
            controllerName: "master", controllerAddress: "10.69.0.1", settings: settings, maxNodeCount: 254)
    }

    @Test func theConfigurationIsConfiglessAndTakesDynamicNodes() {
        let text = Self.config().slurmConf()
        for line in [
            "SlurmctldHost=master(10.69.0.1)", "SlurmctldParameters=enable_configless", "MaxNodeCount=254",
            "NodeSet=clumpdrones Feature=clump", "DisableRootJobs=YES",
            "PartitionName=drones Nodes=clumpdrones Default=YES MaxTime=INFINITE State=UP",
            "AuthInfo=socket=/run/munge/munge.socket.2", "SlurmdSpoolDir=/var/spool/slurmd",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(line) in\n\(text)")
        }
        #expect(Self.config().cgroupConf().contains("CgroupPlugin=cgroup/v2\nIgnoreSystemd=yes\n"))
    }

    @Test func slurmctldStartsOnItAndShowsTheDronesPartition() throws {
        let harness = try SlurmControllerHarness(network: "10.69.1", config: Self.config())
        defer { harness.remove() }
        try harness.start()
        let sinfo = try harness.run(["sinfo", "--noheader", "--format=%P %a %D"])
        #expect(sinfo.status == 0 && sinfo.output.contains("drones* up 0"), "\(sinfo.output)\n\(harness.log)")
        let show = try harness.run(["scontrol", "show", "config"])
        #expect(show.output.contains("enable_configless"), "\(show.output)")
        #expect(show.output.contains("MaxNodeCount            = 254"), "\(show.output)")
        #expect(show.output.contains("DisableRootJobs         = Yes"), "\(show.output)")
        let partition = try harness.run(["scontrol", "show", "partition", "drones"])
        #expect(partition.output.contains("NodeSets=clumpdrones"), "\(partition.output)")
    }
}

/// A namespace of its own (only loopback and a veth pair with the controller's address) holding a
/// `SlurmMaster` on the configuration under test.
final class SlurmControllerHarness {
    let namespace = "clumpslurmctl\(getpid() % 100_000)"
    let master: SlurmMaster
    let config: SlurmConfig

    init(network: String, config: SlurmConfig) throws {
        _ = try? Spawn.run(["ip", "netns", "del", namespace])
        try Spawn.run(["ip", "netns", "add", namespace])
        var settings = config.settings
        let directory = NSTemporaryDirectory() + "clump-slurmctl-\(getpid())"
        do {
            try Spawn.run(["ip", "-n", namespace, "link", "set", "lo", "up"])
            // A veth pair inside the namespace (this kernel has no dummy driver): the card the address sits on.
            try Spawn.run(["ip", "-n", namespace, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"])
            try Spawn.run(["ip", "-n", namespace, "addr", "add", "\(config.controllerAddress)/24", "dev", "lan0"])
            try Spawn.run(["ip", "-n", namespace, "link", "set", "lan0", "up"])
            try Spawn.run(["ip", "-n", namespace, "link", "set", "lan1", "up"])
            master = try SlurmMaster(namespace: namespace, directory: directory)
        } catch {
            _ = try? Spawn.run(["ip", "netns", "del", namespace])
            throw error
        }
        settings.mungeSocket = master.socket
        var local = config
        local.settings = settings
        // slurmctld accepts only the host it runs on as SlurmctldHost.
        local.controllerName =
            ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        self.config = local
    }

    func start() throws { try master.start(slurmConf: config.slurmConf(), cgroupConf: config.cgroupConf()) }

    func run(_ argv: [String]) throws -> (status: Int32, output: String) { try master.run(argv) }

    var log: String { master.log }

    func remove() {
        master.stop()
        _ = try? Spawn.run(["ip", "netns", "del", namespace])
        try? FileManager.default.removeItem(atPath: master.directory)
    }
}
