import AgentSupport
import ClumpVersion
import DroneProtocol
import Glibc

/// The agent as PID 1 (`/init`): mount, read the command line, greet every console, run the
/// mode's boot steps, then keep a shell on every console, reap every child, and shut down
/// cleanly on halt/poweroff/reboot/ctrl-alt-del. It never returns: if init exits, the kernel panics.
/// (/proc is usually mounted already: clumpnode's CStartup constructor does it before the Swift
/// runtime starts, and the mount plan keeps it.)
public enum InitProcess {
    /// Runs PID 1. `root` is `/` on a drone.
    public static func run(root: String = "/") -> Never {
        umask(0o022)
        _ = try? syscall("chdir", path: "/") { chdir("/") }
        let (mounted, mountErrors) = Mounter.apply(MountPlan.standard, root: root)

        var problems = mountErrors.map { "clump: \($0)" }
        var commandLine = KernelCommandLine()
        do {
            commandLine = try KernelCommandLine.read(root: root)
        } catch {
            problems.append("clump: cannot read the kernel command line: \(error)")
        }
        let consoles = (try? ConsoleList.read(root: root)) ?? []
        let plan = BootPlan(commandLine: commandLine, consoles: consoles, mounts: mounted)

        let output = ConsoleOutput(consoles: plan.consoles, root: root)
        let say: (String) -> Void = { output.line($0) }
        say(plan.greeting)
        problems.forEach(say)
        plan.options.warnings.forEach(say)

        // The kernel now sends SIGINT for ctrl-alt-del instead of restarting on the spot.
        do {
            try reboot(RebootCommand.disableCtrlAltDel)
        } catch {
            say("clump: ctrl-alt-del stays a hard reset: \(error)")
        }
        var signals: SignalPipe?
        do {
            signals = try SignalPipe(signals: SignalMap.handled)
        } catch {
            say("clump: no signal handling, polling instead: \(error)")
        }
        _ = try? SystemFile.makeDirectories(rooted(root, "/root"), mode: 0o700)

        let context = BootContext(root: root, commandLine: commandLine, options: plan.options, say: say)
        BootSequence.standard(for: plan.options.mode).run(context)

        plan.shellBanner.forEach(say)
        let shells = ShellSupervisor(
            commands: plan.shells + JoinCommand.children(for: plan.options.mode, root: root)
                + AnnounceCommand.children(for: plan.options.mode, root: root)
                + SlurmCommand.children(for: plan.options.mode, root: root), say: say)
        shells.startDue(now: monotonicNanoseconds())

        while true {
            let received: [Int32]
            let timeout = pollTimeout(until: shells.nextStart, now: monotonicNanoseconds())
            if let signals {
                received = signals.wait(timeoutMilliseconds: timeout)
            } else {
                sleep(milliseconds: timeout < 0 ? 1000 : min(Int(timeout), 1000))
                received = []
            }
            for signal in received {
                if case .shutdown(let kind) = SignalMap.action(for: signal) {
                    let drain = EngineDrain.node(root: root)
                    ShutdownRunner.run(
                        ShutdownPlan.steps(for: kind, mounted: mounted, drain: drain), root: root, output: output)
                }
            }
            reapChildren(shells)
            shells.startDue(now: monotonicNanoseconds())
        }
    }

    /// The poll timeout in milliseconds until `deadline` (rounded up), or -1 without one.
    static func pollTimeout(until deadline: Int64?, now: Int64) -> Int32 {
        guard let deadline else { return -1 }
        let milliseconds = max(0, (deadline - now + 999_999) / 1_000_000)
        return Int32(min(milliseconds, Int64(Int32.max)))
    }

    /// Reaps every child that ended: our shells, and any orphan the kernel handed to PID 1.
    static func reapChildren(_ shells: ShellSupervisor) {
        while true {
            var status: Int32 = 0
            guard let pid = try? syscall("waitpid", { waitpid(-1, &status, WNOHANG) }), pid > 0 else { return }
            shells.childExited(pid: pid, status: ExitStatus(raw: status), now: monotonicNanoseconds())
        }
    }
}
