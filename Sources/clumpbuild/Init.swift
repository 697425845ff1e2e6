import ArgumentParser
import Foundation
import ImageBuilder

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a commented starter spec that shows every setting and its default."
    )

    @Argument(help: "Where to write it.")
    var path: String = "clump.yaml"

    @Flag(help: "Replace an existing file.")
    var force = false

    func run() throws {
        try exitOnFailure {
            try ClumpBuilder.writeStarterSpec(to: path, overwrite: force)
            print("wrote \(path): edit it, then run `clumpbuild build --spec \(path)`")
        }
    }
}
