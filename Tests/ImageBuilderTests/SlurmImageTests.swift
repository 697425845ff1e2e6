import DroneProtocol
import ImageSpec
import Testing

@testable import ImageBuilder

@Suite struct SlurmImageTests {
    static func entries() -> [ImageEntry] {
        var settings = Spec.Slurm()
        settings.controller = SlurmController(host: "10.69.0.1")
        settings.features = ["clump"]
        return SlurmImage.entries(
            settings: settings, programs: [("/usr/sbin/slurmd", "/host/slurmd-wlm")],
            libraries: [.symlink("lib64/ld-linux-x86-64.so.2", to: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")],
            keyFile: "/keys/munge.key", passwd: "root:x:0:0:root:/root:/bin/sh\n", group: "root:x:0:\n")
    }

    @Test func theKeyIsTheMungeUsersAndNobodyElses() throws {
        let key = try #require(Self.entries().first { $0.path == "etc/munge/munge.key" })
        #expect(key.mode == 0o400)
        #expect(key.uid == SlurmNode.mungeUser.id && key.gid == SlurmNode.mungeUser.id)
        #expect(key.content == .file(.host(path: "/keys/munge.key")))
        let directory = try #require(Self.entries().first { $0.path == "etc/munge" })
        #expect(directory.uid == SlurmNode.mungeUser.id && directory.mode == 0o700)
    }

    @Test func theImageDefinesTheMungeAndSlurmUsers() throws {
        let passwd = try #require(Self.entries().first { $0.path == "etc/passwd" })
        #expect(
            passwd.content
                == .file(
                    .bytes(
                        Array(
                            "root:x:0:0:root:/root:/bin/sh\nmunge:x:990:990::/var/lib/munge:/bin/false\n"
                                .appending("slurm:x:64030:64030::/var/lib/slurm:/bin/false\n").utf8))))
        #expect(
            SlurmImage.extend("munge:x:5:5::/:/bin/false", with: [SlurmNode.mungeUser.passwdLine])
                == "munge:x:5:5::/:/bin/false\n")
    }

    @Test func theAgentFindsTheControllerAndFeatures() throws {
        let settings = try #require(Self.entries().first { $0.path == SlurmImage.settingsPath })
        let text =
            "engine=slurm\ncontroller=10.69.0.1\nfeatures=clump\npartition=drones\n"
            + "munge-socket=/run/munge/munge.socket.2\nmunge-uid=990\n"
        #expect(settings.content == .file(.bytes(Array(text.utf8))))
    }

    @Test func programsGoWhereSlurmdLooksForThem() throws {
        let slurmd = try #require(Self.entries().first { $0.path == "usr/sbin/slurmd" })
        #expect(slurmd.content == .file(.host(path: "/host/slurmd-wlm")) && slurmd.mode == 0o755)
        #expect(Self.entries().contains { $0.path == "var/spool/slurmd" && $0.content == .directory })
        #expect(SlurmNode.plugins.allSatisfy { $0.hasPrefix(SlurmNode.pluginDirectory + "/") && $0.hasSuffix(".so") })
    }

    @Test func jobsRunAsTheMastersRegularUsersAndNobodyWithoutTheirPasswords() {
        let passwd = """
            root:x:0:0:root:/root:/bin/bash
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            alice:$6$hash:1000:1000:Alice,,,:/home/alice:/bin/bash
            +netgroup::::::
            broken:x:1001
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
            svc:x:60001:60001::/:/bin/false

            """
        let group = "root:x:0:\nalice:x:1000:\nstaff:x:50:alice\nnogroup:x:65534:\n"
        let accounts = SlurmImage.jobAccounts(passwd: passwd, group: group)
        #expect(
            accounts.passwd == [
                "alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh", "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh",
            ])
        #expect(accounts.group == ["alice:x:1000:", "nogroup:x:65534:"])
    }

    @Test func everyDroneRegistersWithTheFeatureThePartitionTakes() {
        var settings = Spec.Slurm()
        #expect(SlurmImage.features(settings) == ["clump"])
        settings.features = ["gpu", "clump"]
        #expect(SlurmImage.features(settings) == ["clump", "gpu"])
    }
}
