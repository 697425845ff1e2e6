import ArgumentParser
import ClumpVersion

@main
struct Clumpbuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clumpbuild",
        abstract: "Build bootable cluster-drone images (ISO, USB, PXE) from one spec.",
        version: ClumpVersion.string,
        subcommands: [
            Build.self, Generate.self, Serve.self, Approve.self, Deny.self, Revoke.self, RotateKey.self, Init.self, Inspect.self, CheckKernel.self, Boot.self,
            KernelCommand.self,
        ],
        defaultSubcommand: nil
    )
}
