import DroneProtocol
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
            options.warnings == ["clump: unknown clump.mode=bogus (expected one of auto, expert, safe, nfsroot); booting safe"])
    }
}

/// `clump.network=` and `BOOTIF=`: which card is the primary. A malformed value is named on
/// the console with what is expected, and ignored (the next rule decides).
@Suite struct PrimaryHintsOptionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var commandLine: String
        var network: String?
        var bootMAC: String?
        /// The start of the one warning expected, or nil for none.
        var warning: String?
        var testDescription: String { commandLine }
    }

    @Test(arguments: [
        Case(commandLine: "quiet"),
        Case(commandLine: "clump.network=10.0.2.0/24", network: "10.0.2.0/24"),
        Case(commandLine: "clump.network=10.0.0.0/8 clump.network=192.168.1.0/24", network: "192.168.1.0/24"),
        Case(commandLine: "BOOTIF=01-52-54-00-12-34-56", bootMAC: "52:54:00:12:34:56"),
        Case(commandLine: "BOOTIF=01-AA-BB-CC-DD-EE-0F", bootMAC: "aa:bb:cc:dd:ee:0f"),
        Case(
            commandLine: "initrd=initrd.img clump.network=10.88.0.0/16 BOOTIF=01-52-54-00-00-00-11 quiet",
            network: "10.88.0.0/16", bootMAC: "52:54:00:00:00:11"),
        Case(
            commandLine: "clump.network=10.0.2.15/24",
            warning: "clump: clump.network=10.0.2.15/24 is not a network (10.0.2.15/24 has host bits set"),
        Case(commandLine: "clump.network=10.0.2.0", warning: "clump: clump.network=10.0.2.0 is not a network ("),
        Case(commandLine: "clump.network=10.0.2.0/33", warning: "clump: clump.network=10.0.2.0/33 is not a network ("),
        Case(commandLine: "clump.network", warning: "clump: clump.network= is not a network ("),
        Case(
            commandLine: "BOOTIF=01-52-54-00-12-34",
            warning: "clump: BOOTIF=01-52-54-00-12-34 is not a boot card: expected "),
        Case(
            commandLine: "BOOTIF=06-52-54-00-12-34-56",
            warning: "clump: BOOTIF=06-52-54-00-12-34-56 is not a boot card: expected 01-aa-bb-cc-dd-ee-ff"),
        Case(
            commandLine: "BOOTIF=01-52-54-00-12-34-5g",
            warning: "clump: BOOTIF=01-52-54-00-12-34-5g is not a boot card"),
        Case(commandLine: "BOOTIF", warning: "clump: BOOTIF= is not a boot card"),
    ])
    func hints(_ test: Case) throws {
        let options = BootOptions(commandLine: KernelCommandLine(parsing: test.commandLine))
        #expect(options.hints.clusterNetwork?.description == test.network)
        #expect(options.hints.bootMAC == test.bootMAC)
        #expect(options.mode == .auto, "a bad hint does not change the mode")
        if let warning = test.warning {
            #expect(options.warnings.count == 1)
            #expect(options.warnings.first?.hasPrefix(warning) == true, "\(options.warnings)")
            #expect(options.warnings.first?.hasSuffix("the primary card is chosen without it") == true)
        } else {
            #expect(options.warnings.isEmpty)
        }
    }

    @Test(arguments: [
        ("01-52-54-00-12-34-56", "52:54:00:12:34:56"),
        ("52-54-00-12-34-56", "52:54:00:12:34:56"),
        ("52:54:00:12:34:56", "52:54:00:12:34:56"),
        ("01:52:54:00:12:34:56", "52:54:00:12:34:56"),
        ("01-52-54-00-12-34-56-78", nil),
        ("5-54-00-12-34-56", nil),
        ("52-54-00-12-34-56-", nil),
        ("", nil),
    ] as [(String, String?)])
    func bareBootMAC(text: String, expected: String?) {
        #expect(BootOptions.bootMAC(text, bare: true) == expected)
        // BOOTIF= itself always carries the hardware type.
        #expect(BootOptions.bootMAC(text) == (text.hasPrefix("01") ? expected : nil))
    }
}
