import Testing

@testable import ClusterView

@Suite struct SnapshotFileTests {
    static let example = """
        # written by the cluster daemon
        clump-cluster 1 written=1000.0
        local configured=yes id=15 address=192.168.1.15 network=192.168.1.0/24 map="1 192.168.1.1 254" mode=auto
        node id=1 address=192.168.1.1 state=up load=0.52 cpus=4 cpu=13 mem-used=1048576 mem-total=4194304 age=0.4
        node id=4 address=192.168.1.4 state=down age=9 future-field=ignored

        drop reason=bad-mac count=3
        future-record anything goes
        """

    @Test func parsesTheDocumentedExample() throws {
        let snapshot = try SnapshotFile.parse(Self.example)
        #expect(snapshot.local == Clusters.configured)
        #expect(snapshot.nodes.count == 2)
        #expect(
            snapshot.nodes[0]
                == NodeRow(
                    id: 1, address: "192.168.1.1", state: .up, load: 0.52, cpus: 4, cpuPercent: 13,
                    memoryUsedKiB: 1_048_576, memoryTotalKiB: 4_194_304, age: 0.4))
        #expect(snapshot.nodes[1].state == .down && snapshot.nodes[1].cpus == 1 && snapshot.nodes[1].age == 9)
        #expect(snapshot.drops == [DropCounter("bad-mac", 3)])
    }

    @Test func agesGrowWithTheTimeSinceTheFileWasWritten() throws {
        let snapshot = try SnapshotFile.parse(Self.example, now: 1002.5)
        #expect(snapshot.nodes.map(\.age) == [2.9, 11.5])
        // A clock that went backwards does not make information younger.
        #expect(try SnapshotFile.parse(Self.example, now: 990).nodes.map(\.age) == [0.4, 9])
    }

    @Test(arguments: [
        Configuration.configured, .noCard, .noCarrier, .waitingForDHCP, .notAttempted,
        .failed("dhcp: \"nak\" from 10.0.0.1"),
    ])
    func roundTrips(_ configuration: Configuration) throws {
        var snapshot = Clusters.small
        snapshot.local.configuration = configuration
        snapshot.local.mode = .observer
        let parsed = try SnapshotFile.parse(SnapshotFile.encode(snapshot))
        #expect(parsed == snapshot)
    }

    @Test(arguments: [
        ("", 0, "empty"),
        ("local configured=yes mode=auto", 1, "first record"),
        ("clump-cluster 2", 1, "format version 2"),
        ("clump-cluster 1\nnode id=1 state=up", 2, "node needs address="),
        ("clump-cluster 1\nnode id=x address=a state=up", 2, "id=x is not a whole number"),
        ("clump-cluster 1\nnode id=1 address=a state=sleeping", 2, "state=sleeping"),
        ("clump-cluster 1\nnode id=1 address=a state=up load=nan", 2, "load=nan is not a number"),
        ("clump-cluster 1\nlocal configured=maybe mode=auto", 2, "configured=maybe"),
        ("clump-cluster 1\nlocal configured=yes mode=turbo", 2, "mode=turbo"),
        ("clump-cluster 1\n\nlocal configured=yes map=\"1 2", 3, "unterminated quote"),
        ("clump-cluster 1\ndrop bad-mac", 2, "'bad-mac' is not key=value"),
    ])
    func errorsNameTheLine(_ text: String, _ line: Int, _ words: String) {
        #expect {
            try SnapshotFile.parse(text, path: "/run/clump/cluster")
        } throws: { error in
            guard let error = error as? ClusterViewError else { return false }
            return (line == 0 ? error.line == nil : error.line == line) && error.description.contains(words)
                && error.description.hasPrefix("parse /run/clump/cluster")
        }
    }
}
