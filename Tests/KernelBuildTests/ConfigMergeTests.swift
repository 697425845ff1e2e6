import Kernel
import Testing

@testable import KernelBuild

@Suite struct ConfigMergeTests {
    static let base = """
        CONFIG_64BIT=y
        # CONFIG_NET is not set
        CONFIG_LOG_BUF_SHIFT=14
        CONFIG_MODULES=y
        """

    func fragment(_ text: String, _ name: String) throws -> KernelConfig {
        try KernelConfig(parsing: text, file: name)
    }

    @Test("a fragment's option replaces the base's line and is appended, as merge_config.sh does")
    func replacesBaseLine() throws {
        let result = ConfigMerge.merge(base: Self.base, fragments: [try fragment("CONFIG_NET=y\n", "net.config")])
        #expect(
            result.text == """
                CONFIG_64BIT=y
                CONFIG_LOG_BUF_SHIFT=14
                CONFIG_MODULES=y
                CONFIG_NET=y

                """)
        #expect(result.redefinitions == ["CONFIG_NET: not set -> y (net.config:1)"])
    }

    @Test("the last fragment wins; not-set, numbers and strings are written back as .config has them")
    func lastWins() throws {
        let first = try fragment("CONFIG_E1000=m\nCONFIG_LOG_BUF_SHIFT=17\nCONFIG_CMDLINE=\"a \\\"b\\\"\"\n", "a.config")
        let second = try fragment("CONFIG_E1000=y\n# CONFIG_MODULES is not set\n", "b.config")
        let result = ConfigMerge.merge(base: Self.base, fragments: [first, second])
        #expect(
            result.text.split(separator: "\n").suffix(4) == [
                "CONFIG_E1000=y", "CONFIG_LOG_BUF_SHIFT=17", "CONFIG_CMDLINE=\"a \\\"b\\\"\"",
                "# CONFIG_MODULES is not set",
            ])
        #expect(result.requests.map(\.file) == ["b.config", "a.config", "a.config", "b.config"])
        #expect(result.redefinitions.contains("CONFIG_E1000: m -> y (b.config:1)"))
        #expect(result.redefinitions.contains("CONFIG_MODULES: y -> not set (b.config:2)"))
        // The same value again is no redefinition.
        let same = ConfigMerge.merge(base: Self.base, fragments: [try fragment("CONFIG_64BIT=y\n", "c.config")])
        #expect(same.redefinitions.isEmpty)
    }

    @Test(
        "what Kconfig did not honour is dropped; m met by y is honoured",
        arguments: [
            ("CONFIG_A=y", "CONFIG_A=y", false),
            ("CONFIG_A=m", "CONFIG_A=y", false),
            ("CONFIG_A=y", "CONFIG_A=m", true),
            ("CONFIG_A=y", "# CONFIG_A is not set", true),
            ("CONFIG_A=y", "", true),
            ("# CONFIG_A is not set", "", false),
            ("# CONFIG_A is not set", "CONFIG_A=y", true),
            ("CONFIG_A=\"x\"", "CONFIG_A=\"y\"", true),
        ])
    func dropped(asked: String, final: String, isDropped: Bool) throws {
        let merged = ConfigMerge.merge(base: "", fragments: [try fragment(asked, "f.config")])
        let result = ConfigMerge.droppedOptions(merged.requests, final: try KernelConfig(parsing: final))
        #expect(result.map(\.name) == (isDropped ? ["CONFIG_A"] : []))
    }
}
