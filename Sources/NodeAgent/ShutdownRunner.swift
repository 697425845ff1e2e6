import AgentSupport
import Glibc

/// Performs a `ShutdownPlan`: the effect layer. It never returns: PID 1 must not exit
/// (the kernel panics), so after `reboot(2)` fails it waits forever.
enum ShutdownRunner {
    static func run(_ steps: [ShutdownStep], root: String = "/", output: ConsoleOutput) -> Never {
        let say = output.line
        for step in steps {
            switch step {
            case .announce(let line):
                say(line)
            case .signalAll(let signal):
                // ESRCH: nobody left to signal.
                _ = try? syscall("kill") { kill(-1, signal) }
            case .reap(let milliseconds):
                reap(forUpTo: milliseconds)
            case .reopenConsoles:
                output.reopen()
            case .sync:
                sync()
            case .unmount(let target):
                unmount(rooted(root, target), say: say)
            case .run(let argv, let milliseconds):
                if let problem = EngineDrain.run(argv, milliseconds: milliseconds) { say("clump: \(problem)") }
            case .reboot(let kind):
                output.drain()
                do {
                    try reboot(kind.rebootCommand)
                } catch {
                    say("clump: \(kind.rawValue) failed: \(error)")
                }
            }
        }
        while true {
            sleep(milliseconds: 60_000)
            reapAll()
        }
    }

    /// Reaps until no child is left (ECHILD) or the time is up.
    static func reap(forUpTo milliseconds: Int) {
        let deadline = monotonicNanoseconds() + Int64(milliseconds) * 1_000_000
        while monotonicNanoseconds() < deadline {
            var status: Int32 = 0
            do {
                let pid = try syscall("waitpid") { waitpid(-1, &status, WNOHANG) }
                if pid == 0 { sleep(milliseconds: 20) }
            } catch {
                return  // ECHILD: every process is gone
            }
        }
    }

    private static func reapAll() {
        var status: Int32 = 0
        while ((try? syscall("waitpid") { waitpid(-1, &status, WNOHANG) }) ?? 0) > 0 {}
    }

    /// Unmounts `path`; a busy one (our own console descriptors live on /dev) is detached lazily,
    /// one that is not mounted (EINVAL) is fine.
    private static func unmount(_ path: String, say: (String) -> Void) {
        do {
            try syscall("umount", path: path) { umount2(path, 0) }
        } catch let error as AgentError where error.code == EBUSY {
            do {
                try syscall("umount -l", path: path) { umount2(path, Int32(MNT_DETACH)) }
            } catch {
                say("clump: \(error)")
            }
        } catch let error as AgentError where error.code == EINVAL {
            return
        } catch {
            say("clump: \(error)")
        }
    }
}
