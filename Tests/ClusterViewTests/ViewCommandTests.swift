import Foundation
import Testing

@testable import ClusterView

@Suite struct ViewCommandTests {
    @Test func defaultsToTheDaemonsFileOnTheMaster() {
        guard case .run(let options) = ViewCommand.parse([]) else {
            Issue.record("no run")
            return
        }
        #expect(options.input == .file("/run/clump/cluster"))
        #expect(options.role == .master && options.output == .interactive && options.refreshMilliseconds == 1000)
    }

    @Test func readsEveryOption() {
        var expected = ViewCommand.Options()
        expected.output = .json
        expected.input = .demo(254)
        expected.role = .drone
        expected.onShutdown = "poweroff -f"
        expected.refreshMilliseconds = 250
        let words = ["--json", "--demo", "254", "--role", "drone", "--on-shutdown", "poweroff -f", "--refresh", "250"]
        #expect(ViewCommand.parse(words) == .run(expected))
        var joining = ViewCommand.Options()
        joining.input = .join(network: "10.0.2.0/24", keyFile: "new.key", previousKeyFile: "old.key", port: 7100)
        let join = ["--join", "10.0.2.0/24", "--key", "new.key", "--previous-key", "old.key", "--port", "7100"]
        #expect(ViewCommand.parse(join) == .run(joining))
        joining.output = .json
        joining.waitSeconds = 2.5
        #expect(ViewCommand.parse(["--json"] + join + ["--wait", "2.5"]) == .run(joining))
        #expect(ViewCommand.parse(["--help"]) == .help)
        #expect(ViewCommand.parse(["--version"]) == .version)
    }

    @Test(arguments: [
        (["--demo"], "--demo needs"), (["--demo", "0"], "--demo needs"), (["--role", "boss"], "drone or master"),
        (["--on-shutdown", "halt"], "goes with --role drone"), (["--refresh", "5"], "at least 50"),
        (["--frobnicate"], "unknown option"), (["--file"], "--file needs"),
        (["--previous-key", "old.key"], "goes after --join"),
        (["--once", "--join", "10.0.2.0/24", "--wait", "0"], "--wait needs seconds"),
        (["--once", "--join", "10.0.2.0/24", "--wait"], "--wait needs seconds"),
        (["--join", "10.0.2.0/24", "--wait", "5"], "--wait goes with --once or --json and --join"),
        (["--once", "--demo", "5", "--wait", "5"], "--wait goes with --once or --json and --join"),
    ])
    func refusesMistakes(_ words: [String], _ message: String) {
        guard case .usageError(let text) = ViewCommand.parse(words) else {
            Issue.record("accepted \(words)")
            return
        }
        #expect(text.contains(message))
    }

    @Test func serialConsolesReportingZeroFallBackToTheEnvironmentThen80x24() {
        #expect(fallbackSize(kernel: (132, 43), columns: "100", lines: "30") == (132, 43))
        #expect(fallbackSize(kernel: nil, columns: "100", lines: "30") == (100, 30))
        #expect(fallbackSize(kernel: nil, columns: "0", lines: "30") == (80, 24))
        #expect(fallbackSize(kernel: nil, columns: nil, lines: nil) == (80, 24))
    }

    /// The executable with its output to a file: plain text and JSON, no escape sequences.
    @Test func onceAndJSONIntoAFile() throws {
        let directory = try TmuxSession.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SnapshotFile.encode(Clusters.small).write(toFile: directory + "/cluster", atomically: true, encoding: .utf8)
        let binary = try TmuxSession.binary()
        let once = try spawn([binary, "--once", "--file", directory + "/cluster"], outputPath: directory + "/once")
        #expect(once.status == 0)
        #expect(!once.output.contains("\u{1B}"))
        #expect(once.output == Report.text(Clusters.small, width: 80))
        let json = try spawn([binary, "--json", "--file", directory + "/cluster"], outputPath: directory + "/json")
        #expect(json.status == 0)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((decoded?["nodes"] as? [Any])?.count == 12)
        let missing = try spawn([binary, "--once", "--file", directory + "/nothing"], outputPath: directory + "/err")
        #expect(missing.status == 1)
        #expect(missing.output.contains("is the cluster daemon running?"))
        let pipe = try spawn([binary, "--file", directory + "/cluster"], outputPath: directory + "/tty")
        #expect(pipe.status == 1)
        #expect(pipe.output.contains("not a terminal; use --once or --json"))
    }
}

/// The nodes feed a view at the address it claims, so a view on a host with no address in the
/// cluster network would hear nothing, silently: it is an error that says how to give it one.
@Suite struct ObserverAddressTests {
    @Test func aViewWithNoAddressInTheNetworkIsAnError() throws {
        let key = NSTemporaryDirectory() + "clump-view-key-\(UUID().uuidString.prefix(8))"
        try (String(repeating: "ab", count: 32) + "\n").write(toFile: key, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: key) }
        // 198.18.0.0/15 is for benchmarks (RFC 2544): no host here has an address in it.
        #expect {
            _ = try ObserverSource(network: "198.18.251.0/24", keyFile: key, port: 47077)
        } throws: { error in
            let text = "\(error)"
            return text.contains("198.18.251.0/24") && text.contains("this host has no address in 198.18.251.0/24")
                && text.contains("ip addr add 198.18.251.254/24 dev IF")
        }
    }
}
