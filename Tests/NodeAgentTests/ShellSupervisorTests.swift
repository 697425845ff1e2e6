import Glibc
import Testing

@testable import NodeAgent

@Suite struct ShellSupervisorTests {
    static let second: Int64 = 1_000_000_000

    final class Fake {
        var started: [String] = []
        var lines: [String] = []
        var nextPID: pid_t = 100
        var failing: Set<String> = []

        func spawn(_ command: ShellCommand) throws -> pid_t {
            if failing.contains(command.terminal) {
                throw AgentError(operation: "posix_spawn", path: command.terminal, code: ENOENT)
            }
            started.append(command.terminal)
            nextPID += 1
            return nextPID
        }
    }

    func make(_ fake: Fake, consoles: [String] = ["tty1", "ttyS0"]) -> ShellSupervisor {
        ShellSupervisor(
            commands: consoles.map { ShellCommand.shell(on: Console(name: $0)) },
            spawn: fake.spawn, say: { fake.lines.append($0) })
    }

    @Test func startsOneShellPerConsole() {
        let fake = Fake()
        let supervisor = make(fake)
        #expect(supervisor.nextStart == 0)
        supervisor.startDue(now: 0)
        #expect(fake.started == ["/dev/tty1", "/dev/ttyS0"])
        #expect(supervisor.slots.map(\.pid) == [101, 102])
        #expect(supervisor.nextStart == nil)
        supervisor.startDue(now: 1)
        #expect(fake.started.count == 2)
    }

    @Test func aShellThatRanAWhileIsRestartedAtOnce() {
        let fake = Fake()
        let supervisor = make(fake)
        supervisor.startDue(now: 0)
        #expect(supervisor.childExited(pid: 102, status: ExitStatus(raw: 0), now: 60 * Self.second))
        #expect(fake.lines == ["clump: shell on /dev/ttyS0 ended after 60 s (exit 0); starting a new one"])
        #expect(supervisor.nextStart == 60 * Self.second)
        supervisor.startDue(now: 60 * Self.second)
        #expect(fake.started == ["/dev/tty1", "/dev/ttyS0", "/dev/ttyS0"])
        #expect(supervisor.slots[1].pid == 103)
    }

    @Test func quickExitsBackOff() {
        let fake = Fake()
        let supervisor = make(fake, consoles: ["ttyS0"])
        var now: Int64 = 0
        supervisor.startDue(now: now)
        var delays: [Int64] = []
        for _ in 0..<6 {
            let pid = supervisor.slots[0].pid!
            now += Self.second / 10
            supervisor.childExited(pid: pid, status: ExitStatus(raw: 127 << 8), now: now)
            let next = supervisor.nextStart!
            delays.append((next - now) / Self.second)
            supervisor.startDue(now: next - 1)  // not yet
            #expect(supervisor.slots[0].pid == nil)
            now = next
            supervisor.startDue(now: now)
        }
        #expect(delays == [1, 1, 1, 1, 30, 30])
        #expect(fake.lines.last == "clump: shell on /dev/ttyS0 ended after 1 s (exit 127); next try in 30 s")
    }

    @Test func aSpawnFailureIsShownAndRetried() {
        let fake = Fake()
        fake.failing = ["/dev/ttyS0"]
        let supervisor = make(fake)
        supervisor.startDue(now: 0)
        #expect(fake.started == ["/dev/tty1"])
        #expect(fake.lines.count == 1)
        #expect(fake.lines[0].hasPrefix("clump: cannot start a shell: posix_spawn /dev/ttyS0: "))
        #expect(supervisor.nextStart == Self.second)
        fake.failing = []
        supervisor.startDue(now: Self.second)
        #expect(fake.started == ["/dev/tty1", "/dev/ttyS0"])
    }

    @Test func otherChildrenAreNotShells() {
        let fake = Fake()
        let supervisor = make(fake)
        supervisor.startDue(now: 0)
        #expect(!supervisor.childExited(pid: 4242, status: ExitStatus(raw: 0), now: 1))
        #expect(fake.lines.isEmpty)
    }

    @Test(arguments: [
        (Int64(0), 0, Int64(0)),
        (4_999_999_999, 1, 1_000_000_000),
        (5_000_000_000, 0, 0),
        (0, 4, 1_000_000_000),
        (0, 5, 30_000_000_000),
    ])
    func respawnPolicy(runtime: Int64, quickExits: Int, delay: Int64) {
        let policy = RespawnPolicy()
        #expect(policy.isQuickExit(runtime: runtime) == (runtime < 5_000_000_000))
        #expect(policy.delay(quickExitsInARow: quickExits) == delay)
    }
}

@Suite struct ExitStatusTests {
    @Test(arguments: [
        (Int32(0), Int32?(0), Int32?.none, "exit 0"),
        (1 << 8, 1, nil, "exit 1"),
        (130 << 8, 130, nil, "exit 130"),
        (9, nil, 9, "signal 9"),
        (SIGSEGV | 0x80, nil, SIGSEGV, "signal 11"),  // core dumped
        (0x137F, nil, nil, "status 4991"),  // stopped by SIGSTOP
    ])
    func decodes(raw: Int32, exitCode: Int32?, signal: Int32?, text: String) {
        let status = ExitStatus(raw: raw)
        #expect(status.exitCode == exitCode)
        #expect(status.signal == signal)
        #expect(status.description == text)
    }
}
