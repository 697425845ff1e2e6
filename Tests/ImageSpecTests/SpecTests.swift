import Testing

@testable import ImageSpec

@Suite struct SpecTests {
    static let yaml = """
        drivers:
          include:
            - ethernet
            - e1000x
        files:
          - /usr/bin/htop
          - {source: tools/probe, target: /usr/local/bin/probe}
        """

    @Test(arguments: [
        ("drivers", "2:3"),
        ("drivers.include", "3:5"),
        ("drivers.include[1]", "4:7"),
        ("files[0]", "6:5"),
        ("files[0].source", "6:5"),
        ("files[1]", "7:5"),
        ("files[1].target", "7:35"),
        ("boot.timeout", "-"),
        ("drivers.exclude", "-"),
    ])
    func remembersWhereEachKeyWasWritten(_ keyPath: String, _ at: String) throws {
        let spec = try SpecLoader.parse(yaml: Self.yaml, file: "clump.yaml")
        #expect((spec.location(of: keyPath)?.description ?? "-") == at)
    }

    @Test func otherModulesRaiseErrorsPointingIntoTheSpec() throws {
        let spec = try SpecLoader.parse(yaml: Self.yaml, file: "site/clump.yaml")
        let error = spec.error(
            "drivers.include[1]", "the kernel has no module named e1000x", hint: "did you mean `e1000e`?")
        #expect(
            error.description == """
                site/clump.yaml:4:7: drivers.include[1]: the kernel has no module named e1000x
                  hint: did you mean `e1000e`?
                """)
        // A default the file never wrote falls back to the closest section it did write.
        #expect(spec.diagnostic("drivers.exclude[0]", "x").location == SourceLocation(line: 2, column: 3))
        #expect(spec.diagnostic("boot.timeout", "x").location == nil)
    }

    @Test(arguments: [
        ("cluster.key", "/srv/clump/cluster.key"),
        ("../shared/./key", "/srv/shared/key"),
        ("/etc/clump//key", "/etc/clump/key"),
        ("a/b/../../c", "/srv/clump/c"),
    ])
    func resolvesPathsAgainstTheSpecDirectory(_ path: String, _ resolved: String) {
        #expect(Spec(baseDirectory: "/srv/clump").resolve(path) == resolved)
    }

    @Test func equalityIgnoresWhereSettingsWereWritten() throws {
        let written = try SpecLoader.parse(yaml: "boot:\n  timeout: 5\n", file: "clump.yaml")
        #expect(written == Spec(baseDirectory: "."))
        #expect(written.location(of: "boot.timeout") != nil)
    }

    @Test(arguments: [
        ("ttyS0,115200", Spec.SerialConsole(port: 0, speed: 115_200)),
        ("ttyS12,9600", Spec.SerialConsole(port: 12, speed: 9600)),
        ("ttyS0,115201", nil),
        ("ttyS,9600", nil),
        ("ttyUSB0,9600", nil),
        ("ttyS0", nil),
        ("ttyS0,", nil),
        ("ttyS0,9600,8n1", nil),
    ])
    func parsesSerialConsoles(_ text: String, _ console: Spec.SerialConsole?) {
        #expect(Spec.SerialConsole(text) == console)
        if let console { #expect(console.description == text) }
    }
}

@Suite struct SpecErrorTests {
    @Test func printsLikeACompiler() {
        let error = SpecError(diagnostics: [
            SpecDiagnostic(
                file: "clump.yaml", location: SourceLocation(line: 7, column: 12), keyPath: "boot.timeout",
                message: "expected an integer number of seconds, got \"five\"", hint: "write a whole number"),
            SpecDiagnostic(file: "clump.yaml", location: nil, keyPath: "kernel.image", message: "no kernel found"),
            SpecDiagnostic(
                file: "clump.yaml", location: SourceLocation(line: 2, column: 1), keyPath: "", message: "invalid YAML"),
        ])
        #expect(
            error.description == """
                clump.yaml:7:12: boot.timeout: expected an integer number of seconds, got "five"
                  hint: write a whole number
                clump.yaml: kernel.image: no kernel found
                clump.yaml:2:1: invalid YAML
                """)
    }
}

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("kernel_args", "kernel-args"),
        ("Kernel-Args", "kernel-args"),
        ("timout", "timeout"),
        ("tiemout", "timeout"),
        ("keyfile", "key-file"),
        ("colour", nil),
        ("x", nil),
    ])
    func suggestsCloseKeys(_ typo: String, _ suggestion: String?) {
        let keys = ["modes", "default", "timeout", "kernel-args", "quiet", "serial", "key-file"]
        #expect(Suggestion.closest(to: typo, among: keys) == suggestion)
    }

    @Test(arguments: [
        ("MY-CD", "MY_CD"),
        ("clump 2.0", "CLUMP_2_0"),
        ("", "CLUMP"),
        (String(repeating: "A", count: 40), String(repeating: "A", count: 32)),
    ])
    func fixesVolumeLabels(_ label: String, _ fixed: String) {
        #expect(VolumeLabel.fixed(label) == fixed)
        #expect(VolumeLabel.isValid(fixed))
    }
}
