import Testing

@testable import NodeAgent

@Suite struct KernelCommandLineTests {
    typealias P = KernelCommandLine.Parameter

    @Test(arguments: [
        ("", [P]()),
        ("quiet", [P(key: "quiet")]),
        ("clump.mode=expert\n", [P(key: "clump.mode", value: "expert")]),
        ("  a=1 \t b  c=  \n", [P(key: "a", value: "1"), P(key: "b"), P(key: "c", value: "")]),
        (
            "root=/dev/ram0 console=tty0 console=ttyS0,115200n8",
            [
                P(key: "root", value: "/dev/ram0"), P(key: "console", value: "tty0"),
                P(key: "console", value: "ttyS0,115200n8"),
            ]
        ),
        // the value splits at the first "="
        ("ip=a=b=c", [P(key: "ip", value: "a=b=c")]),
        // quotes group spaces and are dropped like the kernel's next_arg() drops them
        ("msg=\"hello world\" x", [P(key: "msg", value: "hello world"), P(key: "x")]),
        ("\"msg=hello world\"", [P(key: "msg", value: "hello world")]),
        ("\"two words\"", [P(key: "two words")]),
        ("a=\"\" b", [P(key: "a", value: ""), P(key: "b")]),
        // a quote inside a value stays, as in the kernel
        ("a=x\"y z\"", [P(key: "a", value: "x\"y z\"")]),
    ])
    func splitsLikeTheKernel(text: String, expected: [P]) {
        let commandLine = KernelCommandLine(parsing: text)
        #expect(commandLine.parameters == expected)
        #expect(commandLine.initArguments.isEmpty)
    }

    @Test func wordsAfterDoubleDashAreInitArguments() {
        let commandLine = KernelCommandLine(parsing: "quiet clump.mode=safe -- single \"x=a b\" clump.mode=auto\n")
        #expect(commandLine.parameters == [P(key: "quiet"), P(key: "clump.mode", value: "safe")])
        #expect(commandLine.initArguments == ["single", "x=a b", "clump.mode=auto"])
        #expect(BootOptions(commandLine: commandLine).mode == .safe)
    }

    @Test func onlyABareDoubleDashSeparates() {
        let commandLine = KernelCommandLine(parsing: "--=x --foo a")
        #expect(commandLine.parameters == [P(key: "--", value: "x"), P(key: "--foo"), P(key: "a")])
    }

    @Test func lastValueWins() {
        let commandLine = KernelCommandLine(parsing: "clump.mode=auto quiet clump.mode=expert")
        #expect(commandLine.value("clump.mode") == .some("expert"))
        #expect(commandLine.value("quiet") == .some(nil))
        #expect(commandLine.value("absent") == nil)
        #expect(commandLine.contains("quiet"))
    }

    @Test func clumpOptionsDropThePrefixAndTreatDashesAsUnderscores() {
        let commandLine = KernelCommandLine(
            parsing: "clump.mode=safe clump.boot-wait=5 clump.debug other.key=1 clumpy=2")
        #expect(commandLine.clumpOptions == ["mode": "safe", "boot_wait": "5", "debug": ""])
    }

    @Test func readsProcCmdlineUnderRoot() throws {
        let tree = try TemporaryTree(files: ["proc/cmdline": "BOOT_IMAGE=/vmlinuz clump.mode=expert quiet\n"])
        let commandLine = try KernelCommandLine.read(root: tree.path)
        #expect(commandLine.value("clump.mode") == .some("expert"))
        #expect(throws: AgentError.self) { try KernelCommandLine.read(root: tree.path + "/missing") }
    }
}

@Suite struct BootOptionsTests {
    @Test(arguments: [
        ("", BootMode.auto, 0),
        ("quiet", .auto, 0),
        ("clump.mode=auto", .auto, 0),
        ("clump.mode=expert", .expert, 0),
        ("clump.mode=safe", .safe, 0),
        ("clump.mode=Expert", .expert, 0),
        ("clump.mode=expert clump.mode=safe", .safe, 0),
        // unknown or empty: safe, with a warning on the console
        ("clump.mode=exprt", .safe, 1),
        ("clump.mode", .safe, 1),
        ("clump.mode=", .safe, 1),
    ])
    func mode(text: String, expected: BootMode, warnings: Int) {
        let options = BootOptions(commandLine: KernelCommandLine(parsing: text))
        #expect(options.mode == expected)
        #expect(options.warnings.count == warnings)
    }

    @Test func warningNamesTheValueAndTheChoice() {
        let options = BootOptions(commandLine: KernelCommandLine(parsing: "clump.mode=bogus"))
        #expect(
            options.warnings == ["clump: unknown clump.mode=bogus (expected one of auto, expert, safe); booting safe"])
    }
}
