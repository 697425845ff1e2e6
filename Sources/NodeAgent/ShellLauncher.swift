import AgentSupport
import Glibc

/// Starts a `ShellCommand` with `posix_spawn`, as a getty would: a new session whose
/// controlling terminal is the console, so job control (ctrl-C, ctrl-Z, `fg`) works.
///
/// - POSIX_SPAWN_SETSID: glibc's child calls `setsid()` before it runs the file actions
///   (sysdeps/unix/sysv/linux/spawni.c, `__spawni_child`), so
/// - the `open` file action on the tty, without O_NOCTTY, is done by a session leader with no
///   controlling terminal, and Linux makes that tty its controlling terminal (`tty_open()` ->
///   `tty_open_proc_set_tty()`). /dev/console could never be one: the kernel opens it noctty.
/// - POSIX_SPAWN_SETSIGDEF (all) and SETSIGMASK (none): the shell starts with default
///   dispositions and nothing blocked, whatever PID 1 set up for itself.
enum ShellLauncher {
    /// glibc's POSIX_SPAWN_SETSID (`<spawn.h>`, a GNU extension Swift's Glibc module leaves out).
    static let setSessionFlag: Int32 = 0x80

    /// Starts the command; returns its pid.
    static func spawn(_ command: ShellCommand) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        let flags = setSessionFlag | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)

        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, command.terminal, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, STDIN_FILENO, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, STDIN_FILENO, STDERR_FILENO)

        let argv = command.arguments.map { strdup($0) } + [nil]
        let envp = command.environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        try syscall("posix_spawn", path: command.path + " on " + command.terminal) {
            let code = posix_spawn(&pid, command.path, &actions, &attributes, argv, envp)
            if code == 0 { return 0 }
            errno = code
            return -1
        }
        return pid
    }
}
