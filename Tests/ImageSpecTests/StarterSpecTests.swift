import Foundation
import Testing

@testable import ImageSpec

@Suite struct StarterSpecTests {
    static let kernel = ResolvedKernel(
        image: "/boot/vmlinuz-6.1.0-28-amd64", modulesDir: "/lib/modules/6.1.0-28-amd64", config: nil,
        version: "6.1.0-28-amd64")

    @Test(arguments: [nil, kernel])
    func parsesBackToTheDefaults(_ kernel: ResolvedKernel?) throws {
        let text = StarterSpec.render(kernel: kernel)
        let spec = try SpecLoader.parse(yaml: text, file: "/srv/clump/clump.yaml")
        #expect(spec == Spec(baseDirectory: "/srv/clump"))
    }

    @Test func showsEveryKeyWithItsHelp() throws {
        let text = StarterSpec.render()
        let spec = try SpecLoader.parse(yaml: text, file: "clump.yaml")
        for setting in SpecTable.all {
            #expect(spec.location(of: setting.key) != nil, "\(setting.key) is not in the starter spec")
            let firstHelpWords = setting.help.split(separator: " ").prefix(3).joined(separator: " ")
            #expect(text.contains("# " + firstHelpWords), "help of \(setting.key)")
        }
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    @Test func namesTheKernelItFoundInComments() {
        let text = StarterSpec.render(kernel: Self.kernel)
        #expect(text.contains("  # Found now: /boot/vmlinuz-6.1.0-28-amd64\n  image:\n"))
        #expect(text.contains("  # Found now: none\n  config:\n"))
    }

    @Test func startsWithTheDefaultsInTheOpen() {
        let text = StarterSpec.render()
        for line in [
            "  include: [ethernet]", "  modes: [auto, expert, safe]", "  default: auto", "  timeout: 5",
            "  serial: \"ttyS0,115200\"", "compression: auto", "label: CLUMP", "  key-file: cluster.key",
            "  iso: clump.iso", "  pxe: tftpboot", "busybox: /bin/busybox", "agent:", "source-date-epoch:",
        ] {
            #expect(text.contains("\n" + line + "\n"), "\(line)")
        }
    }
}

/// The README's spec reference is the starter spec itself, so the two cannot drift apart.
@Suite struct READMESpecReferenceTests {
    @Test func readmeShowsTheStarterSpec() throws {
        let readme = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        let text = try String(contentsOfFile: "/" + readme + "/README.md", encoding: .utf8)
        let begin = "<!-- starter-spec -->\n```yaml\n", end = "```\n<!-- /starter-spec -->"
        let start = try #require(text.range(of: begin), "README.md lacks the starter-spec block")
        let stop = try #require(text.range(of: end, range: start.upperBound..<text.endIndex))
        #expect(
            String(text[start.upperBound..<stop.lowerBound]) == StarterSpec.render(),
            "README.md's spec reference is stale: paste in what `clumpbuild init` writes")
    }
}
