import AutoMap
import Testing

@testable import ClusterState

struct ClusterSnapshotTests {
    static var snapshot: ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.id = 15
        snapshot.address = 0x0A00_000F
        snapshot.mode = .auto
        snapshot.configuration = .configured
        snapshot.status = NodeStatus(state: .configured, mode: "")
        snapshot.status?.node = 15
        snapshot.status?.map = "1 10.0.0.1 254"
        snapshot.counters.accepted = 1200
        snapshot.counters.badMAC = 3
        snapshot.observers = 1
        var load = NodeLoad()
        load.load100 = 52
        load.cpuPercent = 13
        load.cpus = 4
        load.memoryUsed255 = 53
        load.memoryTotalMiB = 3906
        load.uptimeMinutes = 61
        load.configuration = .configured
        snapshot.nodes = [
            ClusterSnapshot.Node(id: 1, address: 0x0A00_0001, load: load, age: 350_000_000, down: false, isSelf: false),
            ClusterSnapshot.Node(id: 2, address: 0x0A00_0002, load: NodeLoad(), age: 9_000_000_000, down: true, isSelf: false),
            ClusterSnapshot.Node(id: 15, address: 0x0A00_000F, load: load, age: 0, down: false, isSelf: true),
        ]
        return snapshot
    }

    @Test func rendersTheDocumentedFormat() {
        let lines = Self.snapshot.rendered().split(separator: "\n").map(String.init)
        #expect(lines[0] == "clump-cluster 1")
        #expect(lines[1] == "self id=15 address=10.0.0.15 mode=auto configuration=configured observers=1")
        #expect(lines[2] == "status state=configured")
        #expect(lines[4] == "status map=1 10.0.0.1 254")
        #expect(
            lines[5]
                == "counters accepted=1200 accepted-previous-key=0 accepted-next-key=0 truncated=0 oversized=0 foreign=0 bad-mac=3 replayed=0 future=0 malformed=0")
        #expect(
            lines[6]
                == "node id=1 address=10.0.0.1 state=up age-ms=350 load=0.52 cpu=13 cpus=4 mem-used-mib=811 mem-used-255=53"
                + " mem-total-mib=3906 uptime-min=61 mode=auto configuration=configured mosix=0")
        #expect(lines[7].hasPrefix("node id=2 address=10.0.0.2 state=down age-ms=9000 load=0.00 cpu=- "))
    }

    @Test func parsesWhatItRenders() throws {
        let parsed = try ClusterSnapshot(parsing: Self.snapshot.rendered())
        #expect(parsed == Self.snapshot)
    }

    @Test func anEngineEndsTheNodeLineAndReadsBack() throws {
        var snapshot = Self.snapshot
        snapshot.nodes[2].load.engine = .alloc
        snapshot.nodes[2].load.engineJobs = 2
        let text = snapshot.rendered()
        #expect(text.contains(" mosix=0 engine=alloc jobs=2\n"), "\(text)")
        #expect(!text.contains("node id=1 ") || !text.split(separator: "\n")[5].contains("engine="))
        #expect(try ClusterSnapshot(parsing: text) == snapshot)
    }

    @Test func rejectsAnotherFormat() {
        #expect(throws: ClusterStateError.self) { try ClusterSnapshot(parsing: "hello\n") }
        #expect(throws: ClusterStateError.self) { try ClusterSnapshot(parsing: "clump-cluster 1\nnode id=x\n") }
    }
}
