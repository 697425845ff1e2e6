import ClusterState
import Foundation
import Testing

@testable import ClusterView

@Suite struct ReportTests {
    @Test func onceIsPlainTextWithEveryNode() throws {
        let text = Report.text(Clusters.full(), width: 80)
        #expect(!text.utf8.contains(0x1B))
        #expect(text.split(separator: "\n").count == 3 + 254 + 1)
        try assertSnapshot(Report.text(Clusters.small, width: 80), named: "once-80")
    }

    @Test func onceOnATerminalCarriesColour() {
        let text = Report.text(Clusters.small, width: 80, colour: true)
        #expect(text.contains("\u{1B}[0;31m"))
        // Every line ends in the default attributes, so the shell prompt is not coloured.
        for line in text.split(separator: "\n") {
            guard let last = line.range(of: "\u{1B}[", options: .backwards) else { continue }
            #expect(line[last.upperBound...].hasPrefix("0m"))
        }
    }

    @Test func json() throws {
        var snapshot = Clusters.small
        snapshot.nodes[0].address = "quote\" backslash\\ newline\n bell\u{7}"
        try assertSnapshot(Report.json(snapshot), named: "json")
        try assertSnapshot(Report.json(Clusters.notConfigured(.noCarrier)), named: "json-not-configured")
    }

    @Test func theEngineIsInTheJSONAndTheHeader() throws {
        var snapshot = Clusters.small
        snapshot.engine = EngineState(state: "idle", name: "node15", controller: "10.0.2.1")
        snapshot.engineJobs = 2
        let json = Report.json(snapshot)
        #expect(
            json.contains(
                #""engine": {"kind": "slurm", "state": "alloc", "jobs": 2, "name": "node15", "controller": "10.0.2.1"}"#),
            "\(json)")
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect((object?["local"] as? [String: Any])?["engine"] != nil)
        let frame = ClusterRenderer.render(snapshot, width: 100, height: 24, state: ViewState(role: .drone))
        #expect(frame.text(row: 0).contains("slurm alloc 2 jobs"), "\(frame.lines)")
        snapshot.nodes[0].engine = "idle"
        let nodeJSON = Report.json(snapshot)
        #expect(nodeJSON.contains(#""engine": "idle", "jobs": 0}"#), "\(nodeJSON)")
        let wide = ClusterRenderer.render(snapshot, width: 120, height: 24, state: ViewState(role: .drone))
        #expect(wide.lines[2].hasSuffix(" AGE SLURM"), "\(wide.lines)")
        #expect(wide.lines.contains { $0.hasSuffix(" 0s idle") }, "\(wide.lines)")
        snapshot.engine?.state = "down"
        #expect(!Report.json(snapshot).contains("alloc"))
    }

    @Test(arguments: [
        (0.0, 2, "0.00"), (0.525, 2, "0.53"), (12.0, 0, "12"), (-0.004, 2, "0.00"), (-1.5, 1, "-1.5"),
        (99.95, 1, "100.0"),
    ])
    func fixed(_ value: Double, _ decimals: Int, _ expected: String) {
        #expect(Format.fixed(value, decimals: decimals) == expected)
    }

    @Test(arguments: [
        (0.4, "0s"), (59.9, "59s"), (99, "99s"), (100, "1m"), (3725, "62m"), (7200, "2h"), (200_000, "2d"), (-1, "?"),
    ])
    func ages(_ seconds: Double, _ expected: String) {
        #expect(Format.age(seconds) == expected)
    }

    @Test(arguments: [
        (UInt64(1) << 20, UInt64(8) << 20, "1.0/8.0G"), (UInt64(60) << 20, UInt64(64) << 20, "60/64G"),
        (UInt64(300) << 10, UInt64(512) << 10, "300/512M"), (UInt64(0), UInt64(0), "-"),
    ])
    func memory(_ used: UInt64, _ total: UInt64, _ expected: String) {
        #expect(Format.memory(usedKiB: used, totalKiB: total) == expected)
    }
}
