import AgentSupport
import DroneProtocol
import Glibc
import Testing

@testable import NodeAgent

@Suite struct NodeAgentCommandTests {
    typealias I = NodeAgentCommand.Invocation

    @Test(arguments: [
        // PID 1 is init whatever the kernel passed after "--"
        (["/init"], Int32(1), I.initProcess),
        (["/init", "single"], 1, .initProcess),
        (["clumpnode", "version"], 1, .initProcess),
        // started as init by hand: the init path (which refuses unless PID 1)
        (["/init"], 4242, .initProcess),
        (["/sbin/init"], 4242, .initProcess),
        (["clumpnode"], 4242, .help),
        (["clumpnode", "help"], 4242, .help),
        (["clumpnode", "--help"], 4242, .help),
        (["clumpnode", "-h"], 4242, .help),
        (["clumpnode", "version"], 4242, .version),
        (["/usr/bin/clumpnode", "--version"], 4242, .version),
        (["clumpnode", "init"], 4242, .initProcess),
        (["clumpnode", "plan"], 4242, .plan(root: "/")),
        (["clumpnode", "plan", "--root", "/tmp/tree"], 4242, .plan(root: "/tmp/tree")),
        (["clumpnode", "plan", "--root"], 4242, .usageError("usage: clumpnode plan [--root DIR]")),
        (["clumpnode", "version", "x"], 4242, .usageError("version takes no arguments")),
        (["clumpnode", "dance"], 4242, .usageError("unknown command 'dance'")),
        ([], 4242, .help),
    ])
    func parse(arguments: [String], pid: Int32, expected: I) {
        #expect(NodeAgentCommand.parse(arguments: arguments, pid: pid) == expected)
    }

    @Test func initRefusesUnlessPID1() {
        #expect(getpid() != 1)
        #expect(NodeAgentCommand.main(arguments: ["clumpnode", "init"]) == 1)
        #expect(NodeAgentCommand.main(arguments: ["clumpnode", "bogus"]) == 2)
    }

    @Test func usageNamesEveryCommand() {
        for command in ["version", "plan [--root DIR]", "help", "clumpnode init"] {
            #expect(NodeAgentCommand.usage.contains(command))
        }
    }
}

@Suite struct BootPlanTests {
    @Test func greetingHasTheExactFormat() {
        let plan = BootPlan(commandLine: KernelCommandLine(parsing: "clump.mode=expert"), consoles: [])
        #expect(plan.greeting == "clump: agent 0.1.0 mode=expert")
        #expect(BootPlan(commandLine: KernelCommandLine(), consoles: []).greeting == "clump: agent 0.1.0 mode=auto")
    }

    @Test func oneShellPerConsoleWithTheRightTerminal() {
        let plan = BootPlan(commandLine: KernelCommandLine(), consoles: ConsoleList.parse("tty0 ttyS0\n"))
        #expect(plan.shells.map(\.terminal) == ["/dev/tty1", "/dev/ttyS0"])
        #expect(plan.shells[0].environment.contains("TERM=linux"))
        #expect(plan.shells[1].environment.contains("TERM=vt102"))
        #expect(
            plan.shellBanner[0]
                == "clump: the cluster view runs on tty1, ttyS0 (ESC shuts this node down, q leaves it for a shell)")
        // Auto mode shows the cluster view, which leaves a login shell behind when quit.
        #expect(plan.shells.allSatisfy { $0.arguments == ["-sh", "-c", "/bin/clumpview --role drone; exec /bin/sh -l"] })
        let expert = BootPlan(commandLine: KernelCommandLine(parsing: "clump.mode=expert"), consoles: ConsoleList.parse("ttyS0\n"))
        #expect(expert.shells.map(\.arguments) == [["-sh"]])
        #expect(expert.shellBanner[0] == "clump: a busybox shell runs on ttyS0")
    }

    @Test func runAsClumpviewItIsTheView() {
        #expect(NodeAgentCommand.programName("/bin/clumpview") == "clumpview")
        #expect(NodeAgentCommand.programName("clumpview") == "clumpview")
        #expect(NodeAgentCommand.programName("/init") == "init")
    }

    @Test func withoutConsolesItUsesDevConsole() {
        let plan = BootPlan(commandLine: KernelCommandLine(), consoles: [])
        #expect(plan.consoles == [Console(name: "console")])
        #expect(plan.shells.map(\.terminal) == ["/dev/console"])
    }

    @Test func shellEnvironment() {
        let shell = ShellCommand.shell(on: Console(name: "ttyS0"))
        #expect(shell.path == "/bin/sh")
        #expect(shell.arguments == ["-sh"])
        #expect(
            shell.environment == [
                "PATH=/sbin:/usr/sbin:/bin:/usr/bin", "HOME=/root", "TERM=vt102", "SHELL=/bin/sh",
                "USER=root", "LOGNAME=root", "PS1=clump:\\w# ",
            ])
    }

    @Test func renderSnapshot() throws {
        let tree = try TemporaryTree(files: [
            "proc/cmdline": "console=tty0 console=ttyS0,115200 clump.mode=safe quiet\n",
            "sys/class/tty/console/active": "tty0 ttyS0\n",
        ])
        let plan = BootPlan(
            commandLine: try KernelCommandLine.read(root: tree.path), consoles: try ConsoleList.read(root: tree.path),
            mounts: Array(MountPlan.standard.prefix(2)))
        #expect(
            plan.render() == """
                clump: agent 0.1.0 mode=safe
                mounts:
                  mount -t proc -o nosuid,nodev,noexec proc /proc
                  mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
                consoles: tty0 ttyS0 (/dev/console is ttyS0)
                boot steps: safe
                shells:
                  /dev/tty1: /bin/sh -sh TERM=linux
                  /dev/ttyS0: /bin/sh -sh TERM=vt102
                halt: announce clump: halting; kill -15 -1; reap for up to 2000 ms; kill -9 -1; reap for up to 1000 ms; reopen consoles; sync; umount /sys; umount /proc; announce clump: halted; reboot(halt)
                poweroff: announce clump: powering off; kill -15 -1; reap for up to 2000 ms; kill -9 -1; reap for up to 1000 ms; reopen consoles; sync; umount /sys; umount /proc; reboot(poweroff)
                reboot: announce clump: rebooting; kill -15 -1; reap for up to 2000 ms; kill -9 -1; reap for up to 1000 ms; reopen consoles; sync; umount /sys; umount /proc; reboot(reboot)

                """)
    }
}

@Suite struct BootSequenceTests {
    func lines(_ mode: BootMode, root: String = "/nonexistent") -> [String] {
        var lines: [String] = []
        let context = BootContext(
            root: root, commandLine: KernelCommandLine(), options: BootOptions(commandLine: KernelCommandLine()),
            say: { lines.append($0) })
        #expect(BootSequence.standard(for: mode).run(context))
        return lines
    }

    @Test func modeLines() throws {
        // Auto mode on a fixture root (never the host's: it would load modules and run DHCP):
        // module indexes but no devices.
        let tree = try TemporaryTree(files: ["lib/modules/6.1.0-test/modules.dep": "", "sys/class/net/.keep": ""])
        #expect(
            lines(.auto, root: tree.path) == [
                "clump: no network card found: no driver in the image matches a device"
                    + " (clumpnode probe --dry-run lists them)"
            ])
        #expect(try SystemFile.readText(tree.path + "/run/clump/status") == "state=no-card\nmode=auto\nmessage=no network card found\n")
        #expect(lines(.safe) == ["clump: safe mode: no autoconfiguration"])
        #expect(lines(.expert) == [])
    }

    @Test func aFailingStepEndsTheSequence() {
        var ran: [String] = []
        var said: [String] = []
        let sequence = BootSequence(steps: [
            BootStep(name: "one") { _ in ran.append("one") },
            BootStep(name: "dhcp") { _ in throw AgentError(operation: "bind", path: "eth0", code: EADDRINUSE) },
            BootStep(name: "three") { _ in ran.append("three") },
        ])
        let context = BootContext(
            commandLine: KernelCommandLine(), options: BootOptions(commandLine: KernelCommandLine()),
            say: { said.append($0) })
        #expect(sequence.run(context) == false)
        #expect(ran == ["one"])
        #expect(said == ["clump: dhcp failed: bind eth0: Address already in use (errno 98)"])
    }
}

@Suite struct PlumbingTests {
    @Test func errorsReadLikeSentences() {
        #expect(
            AgentError(operation: "mount -t proc", path: "/proc", code: EBUSY).description
                == "mount -t proc /proc: Device or resource busy (errno 16)")
        #expect(AgentError(operation: "boot", hint: "see the console").description == "boot (see the console)")
    }

    @Test func syscallRetriesEINTRAndNamesTheCall() throws {
        var calls = 0
        let result = try syscall("read") { () -> Int in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7 && calls == 3)
        #expect(throws: AgentError(operation: "open", path: "/nope", code: ENOENT)) {
            try syscall("open", path: "/nope") { open("/nope", O_RDONLY) }
        }
    }

    @Test(arguments: [
        ("/", "/proc/cmdline", "/proc/cmdline"),
        ("", "/proc/cmdline", "/proc/cmdline"),
        ("/tmp/t", "/proc", "/tmp/t/proc"),
        ("/tmp/t/", "/proc", "/tmp/t/proc"),
    ])
    func rootedPaths(root: String, path: String, expected: String) {
        #expect(rooted(root, path) == expected)
    }

    @Test(arguments: [
        (Int64?.none, Int64(0), Int32(-1)),
        (0, 0, 0),
        (10, 20, 0),
        (1_000_001, 0, 2),
        (5_000_000_000, 0, 5000),
    ])
    func pollTimeout(deadline: Int64?, now: Int64, expected: Int32) {
        #expect(InitProcess.pollTimeout(until: deadline, now: now) == expected)
    }

    @Test func fileHelpers() throws {
        let tree = try TemporaryTree()
        try SystemFile.makeDirectories(tree.path + "/a/b/c")
        try SystemFile.makeDirectories(tree.path + "/a/b/c")
        try tree.write("a/b/c/file", String(repeating: "x", count: 10_000))
        #expect(try SystemFile.readText(tree.path + "/a/b/c/file").count == 10_000)
    }

    @Test("a relative directory is made where the process runs, not under /")
    func relativeDirectories() throws {
        let name = ".build/clump-relative-\(getpid())"
        defer {
            rmdir(name + "/a")
            rmdir(name)
        }
        try SystemFile.makeDirectories(name + "/a")
        #expect(SystemFile.exists(name + "/a"))
        #expect(!SystemFile.exists("/" + name), "made at the root of the file system")
    }
}
