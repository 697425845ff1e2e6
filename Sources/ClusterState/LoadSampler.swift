import AutoMap
import AgentSupport
/// Samples this node's load from `/proc` under a root (a fixture tree in tests): load average,
/// CPU busy share between two samples, CPU count, memory, uptime, and whether the kernel is
/// MOSIX/openMosix. Files that are missing leave their fields at zero: a sample never fails.
public struct LoadSampler: Sendable {
    /// Jiffies from the `cpu` line of /proc/stat (proc(5)).
    public struct CPUTimes: Equatable, Sendable {
        public var busy: UInt64
        public var total: UInt64
    }

    public let root: String
    private var previous: CPUTimes?

    public init(root: String = "/") { self.root = root }

    /// A new sample; the CPU share needs a previous one, so the first has `cpuPercent` nil.
    public mutating func sample(status: NodeStatus?) -> NodeLoad {
        var load = NodeLoad()
        let proc = rooted(root, "/proc")
        if let text = SystemFile.text(proc + "/loadavg") { load.load100 = Self.loadAverage100(text) }
        if let text = SystemFile.text(proc + "/stat") {
            let (times, cpus) = Self.cpu(text)
            load.cpus = UInt8.clamped(cpus)
            if let times, let before = previous { load.cpuPercent = Self.percent(from: before, to: times) }
            previous = times
        }
        if let text = SystemFile.text(proc + "/meminfo") {
            let (total, available) = Self.memory(text)
            load.memoryTotalMiB = UInt16.clamped(total / 1024)
            if total > 0 { load.memoryUsed255 = UInt8.clamped((total - min(available, total)) * 255 / total) }
        }
        if let text = SystemFile.text(proc + "/uptime") {
            load.uptimeMinutes = UInt16.clamped(Int(text.split(separator: ".").first ?? "0").map { $0 / 60 } ?? 0)
        }
        // HOWTO 8: openMosix exposes /proc/hpc, MOSIX /proc/mosix; their presence is what matters
        // here (the per-node loads they hold are MOSIX's own gossip, which this replaces).
        load.mosix = SystemFile.exists(proc + "/hpc") || SystemFile.exists(proc + "/mosix")
        load.mode = status?.nodeMode ?? .auto
        load.configuration = status?.configuration ?? .unknown
        if let engine = EngineState.read(root: root) {
            load.engine = EngineCode(state: engine.state)
            load.engineJobs = UInt8.clamped(EngineState.jobs(root: root))
            if load.engine == .idle && load.engineJobs > 0 { load.engine = .alloc }
        }
        return load
    }

    /// `0.52 0.58 0.59 1/389 12345` -> 52.
    static func loadAverage100(_ text: String) -> UInt16 {
        guard let first = text.split(separator: " ").first else { return 0 }
        let parts = first.split(separator: ".", omittingEmptySubsequences: false)
        let whole = Int(parts.first ?? "") ?? 0
        let fraction = parts.count > 1 ? Int((parts[1] + "00").prefix(2)) ?? 0 : 0
        return UInt16.clamped(whole * 100 + fraction)
    }

    /// The aggregate `cpu` line's times and the number of `cpuN` lines.
    static func cpu(_ text: String) -> (CPUTimes?, Int) {
        var times: CPUTimes?
        var count = 0
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") {
            let words = line.split(separator: " ")
            if words[0] == "cpu" {
                // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
                let values = words.dropFirst().prefix(8).map { UInt64($0) ?? 0 }
                guard values.count >= 4 else { continue }
                let total = values.reduce(0, &+)
                let idle = values[3] &+ (values.count > 4 ? values[4] : 0)
                times = CPUTimes(busy: total &- idle, total: total)
            } else {
                count += 1
            }
        }
        return (times, count)
    }

    static func percent(from before: CPUTimes, to after: CPUTimes) -> UInt8? {
        guard after.total > before.total, after.busy >= before.busy else { return nil }
        return UInt8(min(100, (after.busy - before.busy) * 100 / (after.total - before.total)))
    }

    /// MemTotal and MemAvailable in KiB (kernels before 3.14 lack MemAvailable: MemFree then).
    static func memory(_ text: String) -> (total: Int, available: Int) {
        var total = 0
        var available: Int?
        var free = 0
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 2, let value = Int(words[1]) else { continue }
            switch words[0] {
            case "MemTotal:": total = value
            case "MemAvailable:": available = value
            case "MemFree:": free = value
            default: continue
            }
        }
        return (total, available ?? free)
    }
}
