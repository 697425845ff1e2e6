import ArgumentParser
import Foundation
import ImageBuilder

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the drone image: DIR/clump.iso (CD and USB) and DIR/tftpboot/ (PXE).",
        discussion: """
            Without --spec, uses ./clump.yaml when present, else every default: the newest \
            kernel in /boot with its modules, every ethernet driver, all three boot modes.
            Same inputs give the same bytes (SOURCE_DATE_EPOCH sets the timestamps).
            """
    )

    @Option(name: .long, help: "The image spec (YAML). Default: ./clump.yaml if it exists.")
    var spec: String?

    @Option(name: .long, help: "Where to put the outputs.")
    var out: String = "out"

    func run() throws {
        let specPath = spec ?? (FileManager.default.fileExists(atPath: "clump.yaml") ? "clump.yaml" : nil)
        try exitOnFailure {
            let report = try ClumpBuilder.build(
                BuildRequest(specPath: specPath, outDir: out), log: { print($0) })
            print(report.render())
        }
    }
}
