import Foundation
import Testing

@testable import Kernel

@Suite struct KernelConfigTests {
    typealias Value = KernelConfig.Value

    @Test(arguments: [
        ("CONFIG_A=y", Value.builtin),
        ("CONFIG_A=m", .module),
        ("CONFIG_A=n", .notSet),
        ("# CONFIG_A is not set", .notSet),
        ("CONFIG_A=250", .number("250")),
        ("CONFIG_A=-1", .number("-1")),
        ("CONFIG_A=0xffff888000000000", .number("0xffff888000000000")),
        ("CONFIG_A=\"\"", .string("")),
        ("CONFIG_A=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"", .string("gcc-12 (Debian 12.2.0-14) 12.2.0")),
        ("CONFIG_A=\"say \\\"hi\\\" \\\\ # not a comment\"", .string("say \"hi\" \\ # not a comment")),
        ("  CONFIG_A=y  \r", .builtin),
    ])
    func values(_ line: String, _ expected: Value) throws {
        let config = try KernelConfig(parsing: line)
        #expect(config["CONFIG_A"] == expected)
        #expect(config["A"] == expected)
        #expect(config.entry("A")?.line == 1)
    }

    @Test func absentOptionsAreNotSet() throws {
        let config = try KernelConfig(parsing: "CONFIG_A=y\n")
        #expect(config["CONFIG_B"] == .notSet)
        #expect(config.entry("CONFIG_B") == nil)
    }

    @Test func commentsAboveAnOptionAreItsWhy() throws {
        let text = """
            # Header, separated by a blank line.
            # clump: optional

            # The first reason,
            # on two lines.
            CONFIG_A=y
            CONFIG_B=m # a trailing reason
            # CONFIG_C is not set

            # orphan comment

            CONFIG_D=y
            CONFIG_A=m
            """
        let config = try KernelConfig(parsing: text, file: "f.config")
        #expect(config.directives == ["optional"])
        #expect(config.entries.map(\.name) == ["CONFIG_A", "CONFIG_B", "CONFIG_C", "CONFIG_D"])
        // The last CONFIG_A wins, as in Kconfig; it has no comment of its own.
        #expect(config.entry("A")?.value == .module)
        #expect(config.entry("A")?.line == 13)
        #expect(config.entry("B")?.why == "a trailing reason")
        #expect(config.entry("C")?.why == nil)
        #expect(config.entry("D")?.why == nil)
        let first = try KernelConfig(parsing: text.replacingOccurrences(of: "CONFIG_A=m", with: ""))
        #expect(first.entry("A")?.why == "The first reason, on two lines.")
    }

    @Test(arguments: [
        ("CONFIG_A=y\nwhat is this\n", "<config>:2:1: expected CONFIG_NAME=value or '# CONFIG_NAME is not set'"),
        ("A=y", "<config>:1:1: 'A' is not an option name (CONFIG_ followed by letters, digits, _)"),
        ("CONFIG_A-B=y", "<config>:1:1: 'CONFIG_A-B' is not an option name (CONFIG_ followed by letters, digits, _)"),
        ("CONFIG_A=yes", "<config>:1:10: unexpected value 'yes' (want y, m, n, a number or a quoted string)"),
        ("CONFIG_A=\"open", "<config>:1:10: the string has no closing quote"),
        ("CONFIG_A=y m", "<config>:1:10: unexpected text after the value: 'm'"),
        ("CONFIG_A=0xZZ", "<config>:1:10: unexpected value '0xZZ' (want y, m, n, a number or a quoted string)"),
    ])
    func syntaxErrorsHaveLineAndColumn(_ text: String, _ expected: String) {
        let error = expectKernelError(.syntax) { _ = try KernelConfig(parsing: text) }
        #expect(error?.description == expected)
    }

    @Test func loadsBootConfigOfARelease() throws {
        let config = try KernelConfig.load(release: "6.1.0-test", root: fixtureRoot())
        #expect(config.file.hasSuffix("/root/boot/config-6.1.0-test"))
        #expect(config["CONFIG_HZ"] == .number("250"))
        #expect(config["CONFIG_LOCALVERSION"] == .string(""))
        #expect(config["CONFIG_RD_XZ"] == .notSet)
        let error = expectKernelError(.io) { _ = try KernelConfig.load(release: "9.9.9", root: fixtureRoot()) }
        #expect(error?.errno == 2)
    }
}
