import Testing

@testable import NodeAgent

@Suite struct ConsoleListTests {
    @Test(arguments: [
        ("tty0 ttyS0\n", ["tty0", "ttyS0"]),
        ("tty1\n", ["tty1"]),
        ("ttyS0\n", ["ttyS0"]),
        ("ttyS1 tty1 hvc0\n", ["ttyS1", "tty1", "hvc0"]),
        // tty0 and tty1 are the same VT for a shell: keep the first
        ("tty0 tty1\n", ["tty0"]),
        ("", []),
        ("\n", []),
    ])
    func parse(text: String, names: [String]) {
        #expect(ConsoleList.parse(text).map(\.name) == names)
    }

    @Test func devConsoleIsTheLastListed() {
        // console=tty0 console=ttyS0,115200: the kernel lists "tty0 ttyS0" and /dev/console is ttyS0
        #expect(ConsoleList.primary(of: ConsoleList.parse("tty0 ttyS0\n"))?.name == "ttyS0")
        #expect(ConsoleList.primary(of: []) == nil)
    }

    @Test(arguments: [
        ("tty0", true, "linux", "tty0", "tty1"),
        ("tty1", true, "linux", "tty1", "tty1"),
        ("tty12", true, "linux", "tty12", "tty12"),
        ("ttyS0", false, "vt102", "ttyS0", "ttyS0"),
        ("ttyAMA0", false, "vt102", "ttyAMA0", "ttyAMA0"),
        ("hvc0", false, "vt102", "hvc0", "hvc0"),
        ("tty", false, "vt102", "tty", "tty"),
        ("console", false, "vt102", "console", "console"),
    ])
    func consoleKinds(name: String, virtual: Bool, term: String, output: String, shell: String) {
        let console = Console(name: name)
        #expect(console.isVirtualTerminal == virtual)
        #expect(console.terminalType == term)
        #expect(console.outputDevice == output)
        #expect(console.shellDevice == shell)
    }

    @Test func readsSysfsUnderRoot() throws {
        let tree = try TemporaryTree(files: ["sys/class/tty/console/active": "tty0 ttyS0\n"])
        #expect(try ConsoleList.read(root: tree.path).map(\.name) == ["tty0", "ttyS0"])
        #expect(throws: AgentError.self) { try ConsoleList.read(root: tree.path + "/none") }
    }
}
