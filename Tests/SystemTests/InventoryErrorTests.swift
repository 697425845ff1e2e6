import Foundation
import Testing

/// Bad inventories, end to end: `clumpbuild generate` and `serve` name the file, line:column and key,
/// exit with 2 and write nothing, not even the master directory.
@Suite("bad inventories")
struct InventoryErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let nodes: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "duplicate MAC", nodes: "- mac: 52:54:00:00:00:01\n- mac: 52:54:00:00:00:01\n",
            expected: ["nodes.yaml:2:8", "[1].mac", "listed twice", "[0] (line 1)"]),
        Case(name: "bad MAC", nodes: "- mac: 52:54:00:00:01\n", expected: ["nodes.yaml:1:8", "[0].mac", "not a MAC address"]),
        Case(
            name: "address outside the network", nodes: "- {mac: 52:54:00:00:00:01, address: 10.0.3.5}\n",
            expected: ["nodes.yaml:1:37", "[0].address", "outside the cluster network 10.0.2.0/24"]),
        Case(
            name: "unknown key", nodes: "- mac: 52:54:00:00:00:01\n  adress: 10.0.2.5\n",
            expected: ["nodes.yaml:2:3", "[0].adress", "unknown key", "did you mean `address`?"]),
        Case(
            name: "two nodes with one name", nodes: "- {mac: 52:54:00:00:00:01, name: a}\n- {mac: 52:54:00:00:00:02, name: a}\n",
            expected: ["nodes.yaml:2:34", "[1].name", "the name a already belongs to [0]"]),
    ]

    @Test(arguments: cases)
    func rejected(_ testCase: Case) throws {
        let work = try Harness.scratch("badnodes")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try "cluster:\n  network: 10.0.2.0/24\n".write(toFile: work + "/clump.yaml", atomically: true, encoding: .utf8)
        try testCase.nodes.write(toFile: work + "/nodes.yaml", atomically: true, encoding: .utf8)
        for command in [["generate"], ["serve", "--interface", "lo"]] {
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild] + command + ["--spec", work + "/clump.yaml", "--out", work + "/out"], cwd: work)
            #expect(status == 2, "\(command[0]): exit status \(status), output:\n\(output)")
            for fragment in testCase.expected {
                #expect(output.contains(fragment), "\(command[0]): '\(fragment)' not in:\n\(output)")
            }
            #expect(!FileManager.default.fileExists(atPath: work + "/out"), "\(command[0]) wrote despite the error")
        }
    }
}
