// Runs before the Swift runtime initialises, which matters for /init: the static Swift
// runtime locates itself through /proc/self during its own start-up and aborts
// ("Unable to obtain Swift runtime path") when /proc is not mounted, which is exactly
// the state the kernel starts /init in. A constructor with priority 101 runs before
// the runtime's (default-priority) initialisers, so Swift code never sees a missing
// /proc. Anywhere /proc is already mounted this does nothing.
#include "CStartup.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((constructor(101))) static void clump_mount_proc_early(void) {
    // The runtime seeds its hash functions with getrandom(2), which blocks until the
    // kernel's random pool is ready: ~1 s after /init starts on a machine without a
    // hardware RNG source (measured under QEMU), all of it before PID 1 prints a line.
    // PID 1 hashes only its own data, so fixed seeds cost nothing; main() unsets this
    // again so that programs it starts get the usual random seeds.
    if (getpid() == 1) {
        setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1);
    }
    if (access("/proc/self", F_OK) == 0) {
        return;
    }
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
}

int clump_startup_linked(void) { return 1; }

// libsodium's misuse handler, which its functions call on arguments out of range. Defining it
// here keeps libsodium's core.o out of the static agent: that object also holds sodium_init,
// which links the CPU-specific code of every primitive libsodium has (Argon2, BLAKE2b, Salsa20,
// AES-GCM: about 90 KB of the RAM disk) although the join uses only X25519 and
// ChaCha20-Poly1305, in their portable code. Misuse is a bug of ours: stop, as libsodium would.
void sodium_misuse(void) { abort(); }
