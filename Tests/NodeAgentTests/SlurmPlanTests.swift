import ClusterState
import DroneProtocol
import Glibc
import Testing

@testable import NodeAgent

@Suite struct SlurmPlanTests {
    static let settingsText = """
        engine=slurm
        controller=10.69.0.1:6817
        features=clump,x86
        partition=drones
        munge-socket=/tmp/m/munge.sock
        munge-uid=990

        """

    @Test func theImageSettingsParse() throws {
        let settings = try #require(EngineSettings.parse(Self.settingsText))
        #expect(settings.controller == "10.69.0.1:6817")
        #expect(settings.features == ["clump", "x86"])
        #expect(settings.mungeSocket == "/tmp/m/munge.sock")
        #expect(settings.mungeUID == 990)
        #expect(EngineSettings.parse("engine=slurm\n") == nil)
        #expect(EngineSettings.parse("controller=x\n") == nil)
    }

    @Test func slurmdRegistersAsADynamicNodeWithItsAddressAndFeatures() throws {
        let settings = try #require(EngineSettings.parse(Self.settingsText))
        #expect(
            SlurmPlan.slurmd(settings, name: "node11", address: "10.69.0.11") == [
                "/usr/sbin/slurmd", "-D", "-vv", "-Z", "--conf-server", "10.69.0.1:6817", "-N", "node11", "--conf",
                "NodeAddr=10.69.0.11 Feature=clump,x86",
            ])
        var plain = settings
        plain.features = []
        #expect(SlurmPlan.slurmd(plain, name: "n", address: "a").last == "NodeAddr=a")
        #expect(SlurmPlan.munged(socket: EngineSettings.defaultMungeSocket).contains("--foreground"))
    }

    @Test(arguments: [
        ("slurmd-node11: debug:  _handle_node_reg_resp: slurmctld sent back 8 TRES.", SlurmPlan.Event.registered),
        (
            "slurmd: error: _fetch_child: failed to fetch remote configs: Unable to contact slurm controller (connect failure)",
            .problem("controller unreachable")
        ),
        (
            "slurmd: error: _fetch_child: failed to fetch remote configs: Protocol authentication error",
            .problem("the controller rejected this node's MUNGE credential: is the munge key the controller's?")
        ),
        (
            "slurmd: error: _fetch_child: failed to fetch remote configs: Zero Bytes were transmitted or received",
            .problem(
                "the controller closed the connection unanswered, as it does for a MUNGE credential it cannot decode: "
                    + "is the munge key the controller's?")
        ),
        (
            "slurmd-node11: fatal: Unable to initialize cgroup plugin",
            .problem("fatal: Unable to initialize cgroup plugin")
        ),
    ])
    func logLinesSayWhatHappened(line: String, event: SlurmPlan.Event) {
        #expect(SlurmPlan.event(in: line) == event)
    }

    @Test func otherLogLinesSayNothing() {
        #expect(SlurmPlan.event(in: "slurmd-node11: debug:  CPUs:2 Boards:1 Sockets:1 CoresPerSocket:2") == nil)
    }

    @Test func aRegisteredNodeIsDrainedAndRemovedBeforeEveryoneIsKilled() {
        let steps = ShutdownPlan.steps(for: .powerOff, mounted: MountPlan.standard, drain: "node11")
        let drain = ShutdownStep.run(
            ["/usr/bin/scontrol", "update", "nodename=node11", "state=drain", "reason=clump: poweroff"],
            milliseconds: ShutdownPlan.engineMilliseconds)
        let delete = ShutdownStep.run(
            ["/usr/bin/scontrol", "delete", "nodename=node11"], milliseconds: ShutdownPlan.engineMilliseconds)
        let drainAt = try? #require(steps.firstIndex(of: drain))
        let deleteAt = steps.firstIndex(of: delete)
        let killAt = steps.firstIndex(of: .signalAll(SIGTERM))
        #expect(drainAt != nil && deleteAt != nil && killAt != nil)
        if let drainAt, let deleteAt, let killAt { #expect(drainAt < deleteAt && deleteAt < killAt) }
        #expect(ShutdownPlan.steps(for: .powerOff, mounted: []).contains(drain) == false)
    }

    @Test func onlyARegisteredNodeIsDrained() throws {
        let tree = try TemporaryTree()
        #expect(EngineDrain.node(root: tree.path) == nil)
        try tree.write(EngineState.path, EngineState(state: "starting", name: "node11", controller: "m").text)
        #expect(EngineDrain.node(root: tree.path) == nil)
        try tree.write(
            EngineState.path, EngineState(state: "idle", name: "node11", controller: "m", registered: true).text)
        #expect(EngineDrain.node(root: tree.path) == "node11")
        // slurmd restarting, or down after the controller had it: the controller still lists the node.
        try tree.write(
            EngineState.path,
            EngineState(state: "down", name: "node11", reason: "slurmd ended", registered: true).text)
        #expect(EngineDrain.node(root: tree.path) == "node11")
        try tree.write(
            EngineState.path, EngineState(state: "down", name: "node11", reason: "controller unreachable").text)
        #expect(EngineDrain.node(root: tree.path) == nil)
    }

    @Test func aProblemBeforeRegisteringIsDownAfterItOnlySaid() {
        var progress = SlurmPlan.Progress(controller: "10.69.0.1", name: "node11")
        let unreachable = SlurmPlan.Event.problem("controller unreachable")
        #expect(
            progress.apply(unreachable)
                == .init(
                    line: "clump: slurm not registered with 10.69.0.1: controller unreachable", state: "down",
                    reason: "controller unreachable"))
        #expect(progress.apply(unreachable) == .init(), "a reason is said once")
        #expect(
            progress.apply(.registered)
                == .init(line: "clump: slurm registered with 10.69.0.1 as node11", state: "idle"))
        #expect(progress.registered)
        #expect(progress.apply(.registered) == .init())
        // A message slurmd could not deliver (and retries) does not make a registered node down.
        #expect(
            progress.apply(unreachable)
                == .init(line: "clump: slurm: controller unreachable (registered as node11; slurmd retries)"))
        #expect(progress.apply(unreachable) == .init())
    }

    @Test func theEngineStateFileRoundTrips() {
        let state = EngineState(state: "alloc", name: "node12", controller: "10.69.0.1", reason: nil)
        #expect(EngineState.parse(state.text) == state)
        #expect(state.text == "state=alloc\nname=node12\ncontroller=10.69.0.1\n")
        let registered = EngineState(state: "down", name: "node12", reason: "slurmd ended", registered: true)
        #expect(EngineState.parse(registered.text) == registered)
        #expect(registered.text.hasSuffix("registered=yes\n"))
    }
}
