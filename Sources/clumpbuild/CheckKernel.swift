import ArgumentParser
import Foundation
import ImageBuilder

struct CheckKernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-kernel",
        abstract: "Check a kernel config for what a drone needs; compare master and node kernels.",
        discussion: """
            Checks against the fragments in kernel-config/: required (a drone cannot boot \
            without them), NIC drivers, NFS root and MOSIX options (optional groups). With \
            --against, lists the differences between the master's and the node's kernel \
            that break process migration (the Clump/OS FAQ's "incompatible topology").
            """
    )

    @Option(help: "The kernel config to check. Default: the config of the kernel a default build would use.")
    var config: String?

    @Option(help: "The master's kernel config, to compare with.")
    var against: String?

    @Option(help: "The initramfs compression the kernel must unpack (zstd, gzip, xz, none).")
    var compression: String = "zstd"

    @Flag(name: .shortAndLong, help: "List every checked option, not only the unmet ones.")
    var verbose = false

    func run() throws {
        try exitOnFailure {
            let result = try ClumpBuilder.checkKernel(config: config, against: against, compression: compression, verbose: verbose)
            print(result.text)
            if !result.ok { throw ExitCode(1) }
        }
    }
}
