import Testing

@testable import ImageSpec

@Suite struct EngineSpecTests {
    @Test func theEngineIsOffByDefault() throws {
        let spec = try parse("")
        #expect(spec.engine.isOn == false)
        #expect(spec.engine.slurm.mungeKeyFile == "/etc/munge/munge.key")
        #expect(spec.engine.slurm.partition == "drones")
    }

    @Test func aSlurmSectionReadsEveryKey() throws {
        let spec = try parse(
            """
            engine:
              slurm:
                controller: master.lan:6900
                munge-key-file: keys/munge.key
                munge-socket: /run/clump-munge/socket
                features: [clump, x86-64]
                partition: batch
            """)
        #expect(spec.engine.isOn)
        #expect(spec.engine.slurm.controller == SlurmController(host: "master.lan", port: 6900))
        #expect(spec.engine.slurm.controller?.description == "master.lan:6900")
        #expect(spec.resolve(spec.engine.slurm.mungeKeyFile) == "/srv/clump/keys/munge.key")
        #expect(spec.engine.slurm.mungeSocket == "/run/clump-munge/socket")
        #expect(spec.engine.slurm.features == ["clump", "x86-64"])
        #expect(spec.engine.slurm.partition == "batch")
    }

    @Test(arguments: [
        ("10.0.2.1", SlurmController(host: "10.0.2.1")),
        ("10.0.2.1:6817", SlurmController(host: "10.0.2.1", port: 6817)),
        ("head-node", SlurmController(host: "head-node")),
    ])
    func controllersParse(text: String, expected: SlurmController) throws {
        #expect(try SlurmController.parse(text).get() == expected)
    }

    @Test(arguments: [
        ("engine:\n  slurm:\n    controller: \"10.0.2.1:99999\"\n", "3:17", "engine.slurm.controller", "is not a port"),
        ("engine:\n  slurm:\n    controller: \"-bad-\"\n", "3:17", "engine.slurm.controller", "not a host name"),
        ("engine:\n  slurm:\n    controller: \"a:b:c\"\n", "3:17", "engine.slurm.controller", "more than one"),
        ("engine:\n  slurm:\n    features: [\"a b\"]\n", "3:16", "engine.slurm.features[0]", "not a Slurm feature"),
        ("engine:\n  slurm:\n    partition: \"x=y\"\n", "3:16", "engine.slurm.partition", "not a Slurm partition"),
        ("engine:\n  slurm:\n    munge-socket: run/x\n", "3:19", "engine.slurm.munge-socket", "not an absolute path"),
        ("engine:\n  slurm:\n    contoller: x\n", "3:5", "engine.slurm.contoller", "unknown key"),
    ])
    func badValuesAreReportedWhereTheyAre(yaml: String, at: String, keyPath: String, message: String) {
        let found = diagnostics(yaml)
        #expect(found.count == 1, "\(found)")
        #expect(Expected(at, keyPath, message).matches(found[0]), "\(found)")
        #expect(found.first?.hint != nil)
    }

    @Test func theStarterSpecNestsTheSlurmSectionAndParsesBack() throws {
        let text = StarterSpec.render()
        #expect(text.contains("engine:\n  slurm:\n"))
        #expect(text.contains("\n    partition: drones\n"))
        #expect(try parse(text) == Spec(baseDirectory: "/srv/clump"))
    }
}
