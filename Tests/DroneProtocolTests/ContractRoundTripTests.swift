import DroneProtocol
import Testing

/// Every writer of the master<->drone contract against its reader: what the boot menus and the
/// master's node files put on a command line, and what the builder puts in /etc/clump/engine,
/// reads back as the same values.
@Suite struct ContractRoundTripTests {
    @Test(arguments: BootArgument.allCases)
    func everyBootArgumentReadsBackAsWritten(_ argument: BootArgument) {
        let line = KernelCommandLine(parsing: "quiet \(argument.with("10.0.2.1:/srv/clump/x")) console=tty0")
        #expect(line.value(argument) == "10.0.2.1:/srv/clump/x")
        #expect(line.clumpOptions[argument.option] == "10.0.2.1:/srv/clump/x")
        #expect(argument.rawValue == "clump." + argument.option)
    }

    @Test(arguments: BootMode.allCases)
    func everyModeReadsBackFromItsArgument(_ mode: BootMode) {
        let line = KernelCommandLine(parsing: BootArgument.mode.with(mode.rawValue))
        #expect(line.value(.mode).flatMap(BootMode.init(rawValue:)) == mode)
    }

    /// The image offers every mode but NFS root, which needs a node's own tree.
    @Test func imageModesAreEveryModeButNFSRoot() {
        #expect(BootMode.imageModes == BootMode.allCases.filter { $0 != .nfsroot })
        #expect(BootMode.imageModes.contains(BootMode.standard))
    }

    @Test func renderedCommandLinesParseToTheSameParameters() {
        let line = KernelCommandLine(
            parameters: [
                .init(key: "clump.mode", value: "auto"), .init(key: "quiet"),
                .init(key: "clump.root", value: "a b"), .init(key: "x", value: ""),
            ],
            initArguments: ["single", "a=b"])
        #expect(line.rendered == "clump.mode=auto quiet clump.root=\"a b\" x= -- single a=b")
        #expect(KernelCommandLine(parsing: line.rendered) == line)
    }

    @Test func engineSettingsRoundTrip() throws {
        var settings = EngineSettings(controller: "10.69.0.1:6817")
        settings.features = ["clump", "gpu"]
        settings.partition = "drones"
        settings.mungeSocket = "/run/munge/other.socket"
        settings.mungeUID = 991
        #expect(try #require(EngineSettings.parse(settings.rendered)) == settings)
        var bare = EngineSettings(controller: "c")
        bare.partition = nil
        #expect(try #require(EngineSettings.parse(bare.rendered)) == bare)
    }

    /// A file with no controller starts no engine, so the writer leaves the line out and the reader refuses it.
    @Test func engineSettingsWithoutAControllerStartNothing() {
        let none = EngineSettings(controller: "")
        #expect(!none.rendered.contains("controller="))
        #expect(EngineSettings.parse(none.rendered) == nil)
        #expect(EngineSettings.parse("engine=other\ncontroller=c\n") == nil)
    }
}
