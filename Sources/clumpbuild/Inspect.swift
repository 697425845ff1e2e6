import ArgumentParser
import Foundation
import ImageBuilder

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an ISO or initramfs holds: contents, El Torito, hybrid MBR, libblkid's view, sizes."
    )

    @Argument(help: "An ISO (clump.iso) or an initramfs (initrd.img).")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "List every entry (done by default when there are at most 40).")
    var all = false

    func run() throws {
        try exitOnFailure {
            let report = try ImageInspector.inspect(path: file)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.render(listing: all ? true : nil))
            }
        }
    }
}
