import Foundation
import TestSupport
import Testing

/// The master's one-shot view: `clumpview --json --join NET` run once, in its own namespace on
/// the announcers' bridge, lists every node; with nobody there, `--wait` bounds it and it says
/// so on stderr. The printed times are the measure (bench/, not thresholds).
@Suite(.timeLimit(.minutes(2))) struct JoinOnceNamespaceTests {
    static let nodes = 5

    @Test func oneShotJoinListsEveryNodeAndWaitBoundsSilence() throws {
        guard let net = GossipNetwork.make(nodes: Self.nodes) else { return }
        defer { net.remove() }
        let view = try Self.viewBinary()

        // 1. Nobody announces yet: the wait runs out, an empty list, a note, exit status 1.
        let silent = try Self.run(view, in: "\(net.prefix)-o", keyFile: net.keyFile, extra: ["--wait", "1.5"])
        print("one-shot join: nobody there, returned after \(String(format: "%.2f", silent.seconds)) s (--wait 1.5)")
        #expect(silent.status == 1, "stderr: \(silent.stderr)")
        #expect(try Self.nodeIDs(silent.stdout) == [], "stdout: \(silent.stdout)")
        #expect(
            silent.stderr.contains("clumpview: no node answered on 10.77.0.0/24 (UDP port 7077) within 1.5 s"),
            "stderr: \(silent.stderr)")

        // 2. The announcers run and know each other: one invocation lists them all.
        try net.startAnnouncers()
        let all = Set(1...Self.nodes)
        #expect(net.waitFor(seconds: 20) { net.upInFile(of: 1) == all }, "\(net.diagnosis())")
        let heard = try Self.run(view, in: "\(net.prefix)-o", keyFile: net.keyFile, extra: [])
        print("one-shot join: \(Self.nodes) nodes listed after \(String(format: "%.2f", heard.seconds)) s")
        #expect(heard.status == 0, "stderr: \(heard.stderr)")
        #expect(try Self.nodeIDs(heard.stdout) == all, "stdout: \(heard.stdout) stderr: \(heard.stderr)")
        #expect(heard.stderr.isEmpty, "a settled join says nothing on stderr: \(heard.stderr)")
    }

    /// `clumpview --json --join 10.77.0.0/24` in `namespace`: stdout, stderr, status, seconds taken.
    static func run(
        _ view: String, in namespace: String, keyFile: String, extra: [String]
    ) throws -> (status: Int32, stdout: String, stderr: String, seconds: Double) {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clump-view-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        defer { unlink(errors) }
        let argv =
            ["ip", "netns", "exec", namespace, view, "--json", "--join", "10.77.0.0/24", "--key", keyFile] + extra
        let command = argv.map { "'" + $0 + "'" }.joined(separator: " ")
        let started = Date()
        let (status, stdout) = try Spawn.capture(["sh", "-c", "exec " + command + " 2>'" + errors + "'"], timeout: 30)
        let seconds = Date().timeIntervalSince(started)
        return (status, stdout, (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "", seconds)
    }

    /// The ids of the up nodes in the view's JSON.
    static func nodeIDs(_ json: String) throws -> Set<Int> {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let nodes = try #require(object?["nodes"] as? [[String: Any]])
        return Set(nodes.filter { $0["state"] as? String == "up" }.compactMap { $0["id"] as? Int })
    }

    /// `clumpview` from `$CLUMP_BIN`, else from the build next to this test bundle.
    static func viewBinary() throws -> String {
        let directory =
            ProcessInfo.processInfo.environment["CLUMP_BIN"]
            ?? Bundle.module.bundleURL.deletingLastPathComponent().path
        let path = directory + "/clumpview"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("\(path) is missing: build it (swift build --product clumpview) or set CLUMP_BIN")
        }
        return path
    }
}
