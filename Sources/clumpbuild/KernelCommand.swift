import ArgumentParser
import Foundation
import ImageBuilder

struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Build the drone kernel from source (patches, profile, fragments) into the kernel cache.",
        discussion: """
            Uses the spec's kernel.build section (default: the drone-minimal profile from \
            /usr/src/linux-source-*.tar.*). Same inputs: the cached kernel, at no cost. The cache is \
            $CLUMP_KERNEL_CACHE, else $XDG_CACHE_HOME/clump/kernels, else ~/.cache/clump/kernels. \
            Prints the entry's directory: bzImage, config, lib/modules/<release>, build.log.
            """
    )

    @Option(name: .long, help: "The image spec (YAML). Default: ./clump.yaml if it exists.")
    var spec: String?

    @Option(name: .long, help: "A kernel source tree or tarball, instead of the spec's kernel.build.source.")
    var source: String?

    @Option(name: .long, help: "Parallel compile jobs. Default: the number of CPUs.")
    var jobs: Int?

    @Option(name: .long, help: "Profile or fragment names, instead of the spec's kernel.build.fragments.")
    var profile: [String] = []

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let specPath = spec ?? (FileManager.default.fileExists(atPath: "clump.yaml") ? "clump.yaml" : nil)
        try exitOnFailure {
            let result = try ClumpBuilder.buildKernel(
                specPath: specPath, source: source, jobs: jobs, profiles: profile,
                log: { line in
                    // Progress lines, as they come, also through a pipe (nil: every output stream, and
                    // no reference to the global `stdout`, which strict concurrency refuses).
                    print(line)
                    fflush(nil)
                })
            print(result.entry.directory)
        }
    }
}
