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
