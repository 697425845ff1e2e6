import AgentSupport
import ClusterState
import DroneProtocol
import Glibc

/// Where the view gets the cluster from, once per refresh. The cluster daemon's in-process
/// table, the snapshot file it writes, or invented nodes for a demo.
public protocol ClusterSource: AnyObject {
    /// The cluster now. Throwing is fine: the view shows the error in its header and keeps going.
    func snapshot() throws -> ClusterSnapshot
}

/// Reads the snapshot file the cluster daemon writes (see `SnapshotFile`).
public final class FileSource: ClusterSource {
    /// Where the daemon writes the table.
    public static let defaultPath = "/run/clump/cluster"

    public let path: String

    public init(path: String = FileSource.defaultPath) { self.path = path }

    public func snapshot() throws -> ClusterSnapshot {
        var snapshot = try table()
        // The engine's state sits beside the table (/run/clump/engine), written by `clumpnode slurm`.
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        if let text = SystemFile.text(directory + "/engine") {
            snapshot.engine = EngineState.parse(text)
            snapshot.engineJobs = EngineState.jobs()
        }
        return snapshot
    }

    private func table() throws -> ClusterSnapshot {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        let text = try Self.read(path)
        // The announcer's table (ClusterState) has a `self` record; a snapshot saved by the
        // view itself (SnapshotFile) has `local`. The table's ages are as of its writing.
        if text.split(separator: "\n").contains(where: { $0.hasPrefix("self ") }) {
            var info = stat()
            let written = stat(path, &info) == 0 ? Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 : seconds
            do {
                return ClusterSnapshot(
                    state: try ClusterState.ClusterSnapshot(parsing: text), staleness: max(0, seconds - written))
            } catch {
                throw ClusterViewError(operation: "read the cluster table", path: path, message: "\(error)")
            }
        }
        return try SnapshotFile.parse(text, path: path, now: seconds)
    }

    /// The whole file (no Foundation on the drone).
    static func read(_ path: String) throws -> String {
        // 254 nodes take ~30 KB; a file a hundred times that is not a cluster table.
        let limit = 4 << 20
        let bytes: [UInt8]
        do {
            bytes = try SystemFile.read(path, limit: limit + 1)
        } catch let error as OperationError {
            let missing = error.code == ENOENT && error.operation == "open"
            // A drone that has not joined yet has no announcer: say what it waits for instead.
            if missing, let state = joinState(beside: path) { throw ClusterViewError(operation: state) }
            throw ClusterViewError(
                operation: error.operation, path: path, code: error.code,
                message: missing ? "is the cluster daemon running? (--demo N shows invented nodes)" : nil)
        }
        if bytes.count > limit {
            throw ClusterViewError(operation: "read", path: path, message: "larger than 4 MiB")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The join's state file (`JoinedFiles.state`, beside the announcer's table) in words.
    static func joinState(beside path: String) -> String? {
        let directory = path[..<(path.lastIndex(of: "/") ?? path.startIndex)]
        let name = JoinedFiles.state[JoinedFiles.state.index(after: JoinedFiles.state.lastIndex(of: "/")!)...]
        guard let text = SystemFile.text(directory + "/" + name), let line = text.split(separator: "\n").first else { return nil }
        let words = line.split(separator: " ").map(String.init)
        switch (words.first, words.count) {
        case ("waiting", 3): return "waiting for approval by \(words[2]), code \(words[1])"
        case ("joined", 3): return "joined \(words[1]) (approved by \(words[2])); the announcer is starting"
        case ("refused", 2): return "refused by \(words[1]); asking again"
        default: return nil
        }
    }
}

/// Invented nodes whose load drifts on every refresh, for trying the view without a cluster.
/// Always marked as a demo (`ClusterSnapshot.isDemo`): the header says DEMO DATA.
public final class DemoSource: ClusterSource {
    private var nodes: [NodeRow]
    private var random: UInt64
    private let local: LocalNode

    /// `count` nodes numbered from 1 on 10.0.x.y; `seed` makes the drift repeatable.
    public init(count: Int, seed: UInt64 = 0x5EED) {
        random = seed | 1
        local = LocalNode(
            configuration: .configured, id: 1, address: "10.0.0.1", network: "10.0.0.0/24",
            mapLine: "1 10.0.0.1 254", mode: .observer)
        nodes = []
        for id in 1...max(count, 1) {
            let cpus = [1, 2, 4, 8, 16][Int(next() % 5)]
            let memory = UInt64([1, 2, 4, 8, 16, 32][Int(next() % 6)]) << 20
            let roll = next() % 100
            let state: NodeState = roll < 4 ? .down : roll < 7 ? .expert : roll < 9 ? .safe : .up
            nodes.append(
                NodeRow(
                    id: id, address: "10.0.\(id >> 8).\(id & 0xFF)", state: state,
                    load: Double(next() % UInt64(cpus * 150)) / 100, cpus: cpus,
                    cpuPercent: Double(next() % 1000) / 10, memoryUsedKiB: memory * (next() % 90 + 5) / 100,
                    memoryTotalKiB: memory, age: state == .down ? Double(next() % 60 + 6) : Double(next() % 20) / 10))
        }
    }

    /// xorshift64: enough randomness for a demo, no Foundation, same sequence for the same seed.
    private func next() -> UInt64 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }

    public func snapshot() throws -> ClusterSnapshot {
        let current = ClusterSnapshot(
            local: local, nodes: nodes, drops: [DropCounter("bad-mac", 0), DropCounter("replay", 0)], isDemo: true)
        // Drift for the next refresh: loads wander, ages tick, a few nodes' figures move.
        for index in nodes.indices where nodes[index].state != .down {
            if next() % 4 == 0 {
                let step = (Double(next() % 41) - 20) / 100
                nodes[index].load = max(0, min(nodes[index].load + step, Double(nodes[index].cpus) * 2))
                nodes[index].cpuPercent = Double(next() % 1000) / 10
            }
            nodes[index].age = Double(next() % 20) / 10
        }
        for index in nodes.indices where nodes[index].state == .down { nodes[index].age += 1 }
        return current
    }
}
