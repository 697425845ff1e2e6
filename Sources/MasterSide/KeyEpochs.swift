import AgentSupport
import Glibc

/// The announcement keys' epochs: the master makes a new key every `length` seconds (daily by
/// default) and at once when a node is revoked, and hands each to the joined drones over their
/// sessions. No drone needs a clock for it: what a drone holds is what the master last pushed.
/// At time `t` the keys in use are
/// - **current**: the newest epoch that has begun; everyone signs with it;
/// - **previous**: the one before, for `overlap` seconds after the current began (a drone that
///   was between sessions at the switch still signs with it until it reconnects);
/// - **next**: the epoch that has not begun yet, handed out `lead` seconds ahead, so every drone
///   accepts it before anyone signs with it.
/// A revoked node is not in any session when its successor's key is made, so after the new
/// epoch's short overlap nothing it sends is accepted anywhere. Pure: time comes in, state goes
/// out; `KeyEpochs.File` keeps it on disk.
public struct KeyEpochs: Sendable, Equatable {
    public struct Epoch: Sendable, Equatable {
        public var number: Int
        /// When it begins, seconds since 1970 (the master's clock only).
        public var start: Int
        /// Seconds after `start` for which the epoch before is still accepted.
        public var overlap: Int
        public var key: [UInt8]
    }

    /// What the drones get at one moment.
    public struct Keys: Sendable, Equatable {
        public var epoch: Int
        public var current: [UInt8]
        public var previous: [UInt8]?
        public var next: [UInt8]?
    }

    /// Seconds an epoch lasts.
    public let length: Int
    /// Oldest first; at most the previous, the current and the next are kept.
    public private(set) var epochs: [Epoch]

    /// Seconds the next key is handed out before its epoch begins: a tenth of the epoch, at most 10 min.
    public var lead: Int { min(600, length / 10) }
    /// Seconds the previous key stays accepted after a scheduled switch.
    public var overlap: Int { min(600, length / 10) }
    /// After a revocation: the new key is handed out at once and used 3 s later (a drone takes a
    /// pushed key within a second), and the revoked node's key is refused 30 s after that.
    public static let revocationLead = 3
    public static let revocationOverlap = 30

    /// The first epoch, beginning now, with `key` (the spec's cluster key).
    public init(first key: [UInt8], at now: Int, length: Int) {
        self.length = length
        epochs = [Epoch(number: 1, start: now, overlap: 0, key: key)]
    }

    init(length: Int, epochs: [Epoch]) {
        self.length = length
        self.epochs = epochs
    }

    private func currentIndex(at now: Int) -> Int { epochs.lastIndex { $0.start <= now } ?? 0 }

    /// The keys in use at `now`.
    public func keys(at now: Int) -> Keys {
        let index = currentIndex(at: now)
        let current = epochs[index]
        let previous = index > 0 && now < current.start + current.overlap ? epochs[index - 1].key : nil
        let next = epochs.last.flatMap { $0.start > now ? $0.key : nil }
        return Keys(epoch: current.number, current: current.key, previous: previous, next: next)
    }

    /// Makes the next epoch when its lead time has come (or at once, after a master that was down
    /// through a switch), and forgets epochs nobody uses any more. True when the state changed
    /// (write it to disk before handing anything out).
    public mutating func advance(at now: Int, makeKey: () -> [UInt8]) -> Bool {
        var changed = prune(at: now)
        let current = epochs[currentIndex(at: now)]
        guard epochs.last == current else { return changed }
        let due = current.start + length
        if now >= due - lead {
            // A switch missed while serve was not running: the next epoch begins shortly, not in the past.
            let start = max(due, now + Self.revocationLead)
            epochs.append(Epoch(number: current.number + 1, start: start, overlap: overlap, key: makeKey()))
            changed = true
        }
        return changed
    }

    /// A node was revoked: a new key, handed out now and used in `revocationLead` seconds. A next
    /// key handed out before is replaced, since the revoked node may hold it.
    public mutating func revoke(at now: Int, makeKey: () -> [UInt8]) {
        _ = prune(at: now)
        let current = epochs[currentIndex(at: now)]
        epochs.removeAll { $0.start > now }
        epochs.append(
            Epoch(number: current.number + 1, start: now + Self.revocationLead, overlap: Self.revocationOverlap, key: makeKey()))
    }

    /// Keeps the epoch before the current one only while its overlap lasts.
    private mutating func prune(at now: Int) -> Bool {
        let index = currentIndex(at: now)
        let keep = index > 0 && now < epochs[index].start + epochs[index].overlap ? index - 1 : index
        guard keep > 0 else { return false }
        epochs.removeFirst(keep)
        return true
    }

    /// `epoch N start S overlap O key HEX`, one line each, oldest first.
    public var text: String {
        "# clump key epochs, written by clumpbuild serve: the announcement keys joined drones get\n"
            + epochs.map { "epoch \($0.number) start \($0.start) overlap \($0.overlap) key \(Hex.encode($0.key))\n" }.joined()
    }

    /// The state in `text`; nil when it is not what `text` writes (then serve starts over from the spec's key).
    public static func parse(_ text: String, length: Int) -> KeyEpochs? {
        var epochs: [Epoch] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 8, words[0] == "epoch", words[2] == "start", words[4] == "overlap", words[6] == "key",
                let number = Int(words[1]), let start = Int(words[3]), let overlap = Int(words[5]),
                let key = Hex.decode(words[7]), key.count >= 16, epochs.last.map({ $0.number < number && $0.start <= start }) ?? true
            else { return nil }
            epochs.append(Epoch(number: number, start: start, overlap: overlap, key: key))
        }
        return epochs.isEmpty ? nil : KeyEpochs(length: length, epochs: epochs)
    }
}

extension KeyEpochs {
    /// Where serve keeps the epochs and the keys in use for the master's own view:
    /// `DIR/epochs` and `DIR/cluster.key`, `.previous`, `.next` (all 0600, written by rename; the
    /// key files in the order the drones write theirs, so a view that reads them between two
    /// renames holds every key in use). `clumpview --join NET --key DIR/cluster.key` follows them.
    public struct Files: Sendable {
        public let directory: String
        public init(directory: String) { self.directory = directory }

        public var state: String { directory + "/epochs" }
        public var clusterKey: String { directory + "/cluster.key" }

        /// The epochs on disk, or the first one with `key` when there are none (or they are unreadable: said in `problem`).
        public func load(first key: [UInt8], at now: Int, length: Int) -> (epochs: KeyEpochs, problem: String?) {
            guard SystemFile.exists(state) else { return (KeyEpochs(first: key, at: now, length: length), nil) }
            guard let text = try? SystemFile.readText(state, limit: 1 << 20), let epochs = KeyEpochs.parse(text, length: length) else {
                return (KeyEpochs(first: key, at: now, length: length), "\(state) is unreadable; key epochs start again from the cluster key")
            }
            return (epochs, nil)
        }

        public func save(_ epochs: KeyEpochs) throws {
            try AtomicWrite.write(Array(epochs.text.utf8), to: state, mode: 0o600)
        }

        public func write(_ keys: Keys) throws {
            func keep(_ key: [UInt8]?, _ path: String) throws {
                if let key {
                    try AtomicWrite.write(ClusterKeyFile.contents(of: key), to: path, mode: 0o600)
                } else {
                    unlink(path)
                }
            }
            try keep(keys.previous, clusterKey + ".previous")
            try keep(keys.current, clusterKey)
            try keep(keys.next, clusterKey + ".next")
        }
    }
}
