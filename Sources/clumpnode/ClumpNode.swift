import CStartup
import Glibc
import NodeAgent

/// The drone agent: /init on a clump image, a small tool elsewhere. All logic is in NodeAgent.
@main
enum ClumpNode {
    static func main() {
        // CStartup's constructor has mounted /proc before the Swift runtime started (see
        // startup.c); referencing it keeps that object in the link whatever the linker decides.
        _ = clump_startup_linked()
        // Set by CStartup for the runtime's start-up only (see startup.c).
        if getpid() == 1 { unsetenv("SWIFT_DETERMINISTIC_HASHING") }
        exit(NodeAgentCommand.main(arguments: CommandLine.arguments))
    }
}
