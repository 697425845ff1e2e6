import Testing

@testable import ImageBuilder

@Suite struct InitramfsPlanTests {
    static let inputs = InitramfsInputs(
        kernelVersion: "6.1.0-9-amd64", agent: "/build/clumpnode", busybox: "/bin/busybox",
        applets: ["bin/sh", "bin/ls", "sbin/poweroff", "bin/busybox", "etc/hostname"],
        modules: [.init(path: "lib/modules/6.1.0-9-amd64/kernel/drivers/net/e1000.ko.xz", host: "/c/e1000.xz", mode: 0o644)],
        moduleIndexFiles: ["modules.dep": "kernel/drivers/net/e1000.ko.xz:\n"],
        firmware: [],
        files: [],
        overlay: [
            ImageEntry(path: "etc", content: .directory, mode: 0o755),
            ImageEntry(path: "etc/hostname", content: .file(.bytes(Array("drone\n".utf8))), mode: 0o644),
            ImageEntry(path: "init", content: .file(.bytes([1])), mode: 0o755),
        ],
        clusterKey: Array("k".utf8), imageInfo: "version=1\n")

    @Test func sortedUniqueAndComplete() {
        let entries = InitramfsPlan.entries(Self.inputs)
        let paths = entries.map(\.path)
        #expect(paths == paths.sorted())
        #expect(Set(paths).count == paths.count)
        for path in ["init", "bin/busybox", "bin/sh", "sbin/poweroff", "dev/console", "etc/clump/cluster.key", "tmp"] {
            #expect(paths.contains(path), "\(path)")
        }
        #expect(paths.contains("lib/modules/6.1.0-9-amd64/modules.dep"))
    }

    @Test func theAgentIsInitEvenIfAnOverlayShipsOne() {
        let initEntry = InitramfsPlan.entries(Self.inputs).first { $0.path == "init" }
        #expect(initEntry?.content == .file(.host(path: "/build/clumpnode")))
        #expect(initEntry?.mode == 0o755)
    }

    @Test func appletsNeverShadowRealFiles() {
        let entries = InitramfsPlan.entries(Self.inputs)
        let hostname = entries.first { $0.path == "etc/hostname" }
        #expect(hostname?.content == .file(.bytes(Array("drone\n".utf8))))
        #expect(entries.first { $0.path == "bin/busybox" }?.content == .file(.host(path: "/bin/busybox")))
        #expect(entries.first { $0.path == "bin/ls" }?.content == .symlink(target: "/bin/busybox"))
    }

    /// During a key rotation the key being replaced goes where the announcer looks for it.
    @Test func thePreviousKeyIsThereOnlyDuringARotation() {
        #expect(!InitramfsPlan.entries(Self.inputs).contains { $0.path == "etc/clump/cluster.key.previous" })
        var inputs = Self.inputs
        inputs.previousClusterKey = Array("old key, 32 hex digits or more..".utf8)
        let previous = InitramfsPlan.entries(inputs).first { $0.path == "etc/clump/cluster.key.previous" }
        #expect(previous?.content == .file(.bytes(Array("old key, 32 hex digits or more..".utf8))))
        #expect(previous?.mode == 0o600)
    }

    @Test func secretsAndDevicesHaveTheirModes() {
        let entries = InitramfsPlan.entries(Self.inputs)
        #expect(entries.first { $0.path == "etc/clump/cluster.key" }?.mode == 0o600)
        #expect(entries.first { $0.path == "dev/console" }?.content == .characterDevice(major: 5, minor: 1))
        #expect(entries.first { $0.path == "tmp" }?.mode == 0o1777)
    }

    @Test(arguments: [
        ("init", BudgetCategory.agent), ("bin/busybox", .busybox), ("bin/ls", .other),
        ("lib/modules/6.1/kernel/e1000.ko.xz", .modules), ("lib/firmware/rtl_nic/rtl8168h-2.fw", .firmware),
    ])
    func budgetCategories(path: String, category: BudgetCategory) {
        #expect(InitramfsPlan.category(of: path) == category)
    }
}
