import Testing

@testable import ImageSpec

@Suite struct KernelBuildSpecTests {
    @Test("kernel.build reads every key; what it leaves out keeps its default")
    func reads() throws {
        let spec = try parse(
            """
            kernel:
              build:
                source: src/linux
                fragments: [drone, site.config]
                patches: [patches/0001-banner.patch]
                builtin: [E1000, CONFIG_VIRTIO_NET]
                user: lab
            """)
        let build = try #require(spec.kernel.build)
        #expect(build.source == "src/linux")
        #expect(build.base == nil)
        #expect(build.fragments == ["drone", "site.config"])
        #expect(build.patches == ["patches/0001-banner.patch"])
        #expect(build.builtin == ["E1000", "CONFIG_VIRTIO_NET"])
        #expect(build.user == "lab" && build.host == "clump" && build.timestamp == nil)
        #expect(spec.resolve(build.patches[0]) == "/srv/clump/patches/0001-banner.patch")
    }

    @Test("no kernel.build, or an empty one, builds nothing")
    func absent() throws {
        #expect(try parse("label: CLUMP\n").kernel.build == nil)
        #expect(try parse("kernel:\n  build:\n").kernel.build == nil)
    }

    @Test(
        "mistakes name the key and line",
        arguments: [
            ("kernel:\n  build:\n    patchs: [a.patch]\n", "kernel.build.patchs", 3),
            ("kernel:\n  build:\n    builtin: [e1000-e]\n", "kernel.build.builtin[0]", 3),
            ("kernel:\n  build: drone\n", "kernel.build", 2),
            ("kernel:\n  build:\n    fragments: drone\n", "kernel.build.fragments", 3),
        ])
    func mistakes(yaml: String, keyPath: String, line: Int) {
        let found = diagnostics(yaml)
        #expect(found.map(\.keyPath) == [keyPath], "\(found)")
        #expect(found.first?.location?.line == line)
    }
}
