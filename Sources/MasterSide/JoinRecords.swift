import AgentSupport
import JoinProtocol

/// The sessions the master approved, kept on disk so a restarted serve knows the drones that
/// are running: one line per drone key, `KEY BY TIME MAC[,MAC...]`. A drone's key lives for
/// one boot, so old lines are dead weight: the file keeps the newest `capacity`.
public struct JoinRecords: Sendable {
    public static let capacity = 65_536

    public struct Record: Sendable, Equatable {
        public var key: String
        public var by: String
        public var time: Int
        public var macs: [String]
    }

    public let path: String
    private(set) var records: [Record] = []
    private var byKey: [String: Int] = [:]

    /// The records in `path`; none when it is not there yet.
    public init(path: String) throws {
        self.path = path
        guard SystemFile.exists(path) else { return }
        let text = try MasterSideError.wrapping { try SystemFile.readText(path, limit: 64 << 20) }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 4, words[0].count == 64, let time = Int(words[2]) else { continue }
            add(Record(key: words[0], by: words[1], time: time, macs: words[3].split(separator: ",").map(String.init)))
        }
    }

    /// Who approved the drone with this key, if anyone.
    public func approval(of key: [UInt8]) -> String? { byKey[Hex.encode(key)].map { records[$0].by } }

    /// The cards the drone with this key had when it was approved (lower case); empty if it never was.
    public func macs(of key: [UInt8]) -> [String] {
        byKey[Hex.encode(key)].map { records[$0].macs.map { $0.lowercased() } } ?? []
    }

    public var count: Int { records.count }

    /// Records an approval and writes the file (by rename: a crash leaves the old one or the new one).
    public mutating func approve(key: [UInt8], by: String, macs: [String], time: Int) throws {
        add(Record(key: Hex.encode(key), by: by, time: time, macs: macs))
        if records.count > Self.capacity {
            records.removeFirst(records.count - Self.capacity)
            byKey = Dictionary(records.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { $1 })
        }
        let text = records.map { "\($0.key) \($0.by) \($0.time) \($0.macs.isEmpty ? "-" : $0.macs.joined(separator: ","))\n" }.joined()
        try AtomicWrite.write(Array(text.utf8), to: path, mode: 0o600)
    }

    private mutating func add(_ record: Record) {
        if let index = byKey[record.key] {
            records[index] = record
        } else {
            byKey[record.key] = records.count
            records.append(record)
        }
    }
}
