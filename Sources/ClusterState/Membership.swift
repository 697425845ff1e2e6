import AgentSupport
/// The gossip state machine of one node or observer: what it knows about every node of the map,
/// what to send each interval, what a received datagram changes. Pure: the clock (nanoseconds
/// on a monotonic clock) and the random source are passed in; sockets live in `Announcer`.
///
/// Dissemination follows MOSIX (Amar, Barak, Shiloh, "The MOSIX Algorithms for Managing Cluster,
/// Multi-Clusters, GPU Clusters and Clouds"; gossimon): every interval a node sends to `fanout`
/// random alive members a window of the freshest entries it holds, its own (age 0) first.
/// The receiver keeps, per node, the youngest copy. Traffic per node is `fanout` datagrams of at
/// most `window` entries per interval, whatever the cluster size. Broadcast is only for
/// discovery: a newcomer (or a view) that knows no one broadcasts a join, and about `joinRepliers`
/// of the nodes that hear it answer with their whole table.
///
/// Views (the master's `clumpview`) are fed directly: every node sends its own entry to every
/// view that said hello, each `viewInterval`. Random gossip reached a view only when the view
/// was the random pick (1 in N+1 datagrams), so a view at 50 nodes heard about 5 datagrams a
/// second and never saw every node up; direct feeding costs each node 96 bytes/s per view and
/// gives a view information at most `viewInterval` old.
public struct Membership: Sendable {
    /// The knobs; the defaults are what `bench/gossip.sh` measures.
    public struct Config: Sendable {
        /// Time between sends: 0.2 s (bench/gossip.sh compares 0.1-0.5 s: shorter intervals make
        /// each relay hop shorter, which matters more than bigger windows).
        public var interval: Int64 = 200_000_000
        /// Datagrams per interval.
        public var fanout = 1
        /// Entries per datagram, the sender's own included: 24 make about 250 bytes (8-byte entries,
        /// one in eight with details), 1.25 KB/s per node.
        public var window = 24
        /// Of the window, this many entries are taken in turn from the whole table instead of
        /// the youngest: the youngest spread news fast, the rotation bounds how old any entry gets.
        public var rotating = 6
        /// A node whose freshest information is older than this is down.
        ///
        /// 4 s, because a live node's own entry leaves it 20 times in 4 s, each time to a random
        /// member that forwards it (now youngest of its table) to another random member within
        /// 0.5 s, and so on: the copies double every interval. With 5 % loss a single hop fails
        /// with p = 0.05; for a given node to hear nothing for 4 s, all of the ~20 direct sends and
        /// the ~2^k relayed copies (k = 1...7) must miss it: at N = 256 each copy reaches a given
        /// node with p ~ 1/255 per hop and the mean number of fresh copies arriving in 4 s is above
        /// 30, so P(none) ~ e^-30. The bench counts false downs under loss; the namespace test
        /// checks 50 nodes with netem 5 % loss. A dead node is down 4 s after its last send plus
        /// the age its last copy had: within 5 s.
        public var downAfter: Int64 = 4_000_000_000
        /// Entries older than this are not gossiped any more (they are down everywhere anyway).
        public var gossipHorizon: Int64 = 10_000_000_000
        /// A down node is dropped from the table after this long (10 minutes).
        public var forgetAfter: Int64 = 600_000_000_000
        /// A view re-announces itself this often (broadcast, header only: 35 bytes).
        public var observerHello: Int64 = 2_000_000_000
        /// Each node sends its own entry to every view this often.
        public var viewInterval: Int64 = 500_000_000
        /// Relayed entries carry their details (cpus, memory total, uptime) one time in this many.
        public var detailsEvery: UInt32 = 8
        /// Nodes forget a view that has not said hello for this long.
        public var observerTimeout: Int64 = 7_000_000_000
        /// On average this many nodes answer a join (each with probability joinRepliers / alive).
        public var joinRepliers = 3
        /// While alone, a node broadcasts a join every interval for this long, then every `lonelyJoin`.
        public var eagerJoin: Int64 = 10_000_000_000
        public var lonelyJoin: Int64 = 5_000_000_000

        public init() {}
    }

    /// Where a datagram goes.
    public enum Destination: Equatable, Sendable {
        case broadcast
        case unicast(UInt32)
    }

    /// A datagram to send (sequence numbers already assigned).
    public struct Send: Equatable, Sendable {
        public var destination: Destination
        public var datagram: Datagram
    }

    /// One node as this member knows it.
    public struct Known: Equatable, Sendable {
        public var load: NodeLoad
        /// Local monotonic time the information was fresh (receive time minus its age).
        public var stamp: Int64
        /// Whether `load`'s cpus, memory total and uptime have been heard (entries with details).
        public var detailed: Bool

        public init(load: NodeLoad, stamp: Int64, detailed: Bool = true) {
            self.load = load
            self.stamp = stamp
            self.detailed = detailed
        }
    }

    public let config: Config
    public let roster: Roster
    /// This member's node id; 0 for a view that is no node.
    public let id: UInt16
    public let address: UInt32
    public let incarnation: UInt32
    public var isObserver: Bool { id == 0 }

    /// Indexed by roster slot; nil: never heard of (or forgotten).
    public private(set) var table: [Known?]
    private var observers: [UInt32: Int64] = [:]
    private var sequence: UInt32 = 0
    private var started: Int64?
    private var lastBroadcast: Int64?
    private var lastViewFeed: Int64?
    private var own = NodeLoad()
    private var cursor = 0

    /// A member of the cluster `roster`; `id` 0 makes it an observer (a view).
    public init(config: Config = Config(), roster: Roster, id: UInt16, address: UInt32, incarnation: UInt32) {
        self.config = config
        self.roster = roster
        self.id = id
        self.address = address
        self.incarnation = incarnation
        table = Array(repeating: nil, count: roster.count)
    }

    /// This node's latest sample.
    public mutating func update(own load: NodeLoad) {
        own = load
        if isObserver { own.mode = .observer }
    }

    /// Members other than this one heard of within `within`, by slot.
    private func aliveSlots(now: Int64, within: Int64) -> [Int] {
        var slots: [Int] = []
        for slot in table.indices {
            if let known = table[slot], now - known.stamp <= within, roster.ids[slot] != id {
                slots.append(slot)
            }
        }
        return slots
    }

    /// What to send now; call every `config.interval`.
    public mutating func tick(now: Int64, random: inout some RandomNumberGenerator) -> [Send] {
        if started == nil { started = now }
        forget(now: now)
        // Targets are the members heard of within the gossip horizon, not only the ones up: a
        // node whose own table went stale must keep sending, or it never hears back.
        let alive = aliveSlots(now: now, within: config.gossipHorizon)
        var sends: [Send] = []
        if isObserver {
            if alive.isEmpty || now - (lastBroadcast ?? .min / 2) >= config.observerHello {
                lastBroadcast = now
                let flags: Datagram.Flags = alive.isEmpty ? [.join, .observer] : [.observer]
                sends.append(Send(destination: .broadcast, datagram: header(flags)))
            }
            return sends
        }
        if alive.isEmpty {
            let pause = now - (started ?? now) < config.eagerJoin ? config.interval : config.lonelyJoin
            if now - (lastBroadcast ?? .min / 2) >= pause {
                lastBroadcast = now
                sends.append(Send(destination: .broadcast, datagram: gossip(now: now, flags: .join)))
            }
        }
        if !observers.isEmpty && now - (lastViewFeed ?? .min / 2) >= config.viewInterval {
            lastViewFeed = now
            for view in observers.keys.sorted() {
                var datagram = header([])
                datagram.entries = [Datagram.Entry(id: id, age20: 0, load: own)]
                sends.append(Send(destination: .unicast(view), datagram: datagram))
            }
        }
        let targets = alive.count
        guard targets > 0 else { return sends }
        var chosen: [Int] = []
        for _ in 0..<min(config.fanout, targets) {
            var pick = Int.random(in: 0..<targets, using: &random)
            while chosen.contains(pick) { pick = (pick + 1) % targets }
            chosen.append(pick)
            sends.append(Send(destination: .unicast(roster.addresses[alive[pick]]), datagram: gossip(now: now)))
        }
        return sends
    }

    /// Takes in an authenticated datagram; returns the answer to a join, if this node gives one.
    /// `source` is the address the datagram came from: answers and views are reached there.
    public mutating func receive(
        _ datagram: Datagram, from source: UInt32, now: Int64, random: inout some RandomNumberGenerator
    ) -> [Send] {
        if datagram.flags.contains(.observer) { observers[source] = now }
        for entry in datagram.entries where entry.id != id {
            guard let slot = roster.slot(of: entry.id) else { continue }
            let stamp = now - Int64(entry.age20) * 50_000_000
            if var known = table[slot] {
                if known.stamp >= stamp {
                    // An older copy still brings details this member lacks.
                    if entry.detailed && !known.detailed {
                        known.load.takeDetails(of: entry.load)
                        known.detailed = true
                        table[slot] = known
                    }
                    continue
                }
                var load = entry.load
                if !entry.detailed { load.takeDetails(of: known.load) }
                table[slot] = Known(load: load, stamp: stamp, detailed: entry.detailed || known.detailed)
            } else {
                table[slot] = Known(load: entry.load, stamp: stamp, detailed: entry.detailed)
            }
        }
        guard datagram.flags.contains(.join), !isObserver, source != address else { return [] }
        let alive = aliveSlots(now: now, within: config.downAfter).count
        guard Int.random(in: 0..<max(alive, 1), using: &random) < config.joinRepliers else { return [] }
        return everything(now: now).map { Send(destination: .unicast(source), datagram: $0) }
    }

    /// A header-only datagram with the next sequence number.
    private mutating func header(_ flags: Datagram.Flags) -> Datagram {
        sequence &+= 1
        return Datagram(flags: flags, sender: id, address: address, incarnation: incarnation, sequence: sequence)
    }

    private func entry(slot: Int, now: Int64, detailed: Bool = true) -> Datagram.Entry? {
        guard let known = table[slot] else { return nil }
        let age = now - known.stamp
        return Datagram.Entry(
            id: roster.ids[slot], age20: UInt8.clamped(Int(age / 50_000_000)), load: known.load,
            detailed: detailed && known.detailed)
    }

    /// Relayed entries carry details one time in `detailsEvery`, in turn by id and sequence number.
    private func detailed(slot: Int, sequence: UInt32) -> Bool {
        (UInt32(roster.ids[slot]) &+ sequence) % max(config.detailsEvery, 1) == 0
    }

    /// Own entry first, then the `window - 1` youngest entries younger than the horizon.
    private mutating func gossip(now: Int64, flags: Datagram.Flags = []) -> Datagram {
        // Keep the best `room` (largest stamp) in a small array sorted youngest first: a linear
        // scan with an insertion, cheaper than sorting the table when it is far larger than the window.
        let rotating = min(config.rotating, config.window - 1)
        let room = config.window - 1 - rotating
        var best: [(stamp: Int64, slot: Int)] = []
        best.reserveCapacity(room + 1)
        let oldest = now - config.gossipHorizon
        for slot in table.indices {
            guard let known = table[slot], known.stamp > oldest, roster.ids[slot] != id else { continue }
            if best.count == room, let last = best.last, last.stamp >= known.stamp { continue }
            var index = best.count
            while index > 0 && best[index - 1].stamp < known.stamp { index -= 1 }
            best.insert((known.stamp, slot), at: index)
            if best.count > room { best.removeLast() }
        }
        var datagram = header(flags)
        datagram.entries.append(Datagram.Entry(id: id, age20: 0, load: own))
        let sequence = datagram.sequence
        for item in best {
            if let entry = entry(slot: item.slot, now: now, detailed: detailed(slot: item.slot, sequence: sequence)) {
                datagram.entries.append(entry)
            }
        }
        var added = 0
        var visited = 0
        while added < rotating && visited < table.count {
            cursor = (cursor + 1) % table.count
            visited += 1
            guard roster.ids[cursor] != id, let known = table[cursor], known.stamp > oldest,
                !best.contains(where: { $0.slot == cursor }),
                let entry = entry(slot: cursor, now: now, detailed: detailed(slot: cursor, sequence: sequence))
            else { continue }
            datagram.entries.append(entry)
            added += 1
        }
        return datagram
    }

    /// The whole table (entries younger than the horizon, with details), in as many datagrams as
    /// it takes, at most 8.
    private mutating func everything(now: Int64) -> [Datagram] {
        var entries = [Datagram.Entry(id: id, age20: 0, load: own)]
        for slot in table.indices where roster.ids[slot] != id {
            guard let known = table[slot], now - known.stamp < config.gossipHorizon,
                let entry = entry(slot: slot, now: now)
            else { continue }
            entries.append(entry)
        }
        var datagrams: [Datagram] = []
        var start = 0
        let perDatagram = Datagram.maxEntryBytes / (Datagram.entrySize + Datagram.detailsSize)
        while start < entries.count && datagrams.count < 8 {
            var datagram = header([])
            datagram.entries = Array(entries[start..<min(entries.count, start + perDatagram)])
            datagrams.append(datagram)
            start += perDatagram
        }
        return datagrams
    }

    private mutating func forget(now: Int64) {
        for slot in table.indices {
            if let known = table[slot], now - known.stamp > config.forgetAfter { table[slot] = nil }
        }
        observers = observers.filter { now - $0.value <= config.observerTimeout }
    }

    /// The view's model of the cluster now: every node this member knows of, in map order, and itself.
    public func snapshot(now: Int64) -> [ClusterSnapshot.Node] {
        var nodes: [ClusterSnapshot.Node] = []
        for slot in table.indices {
            let nodeID = roster.ids[slot]
            if nodeID == id {
                nodes.append(ClusterSnapshot.Node(id: id, address: address, load: own, age: 0, down: false, isSelf: true))
                continue
            }
            guard let known = table[slot] else { continue }
            let age = max(0, now - known.stamp)
            nodes.append(
                ClusterSnapshot.Node(
                    id: nodeID, address: roster.addresses[slot], load: known.load, age: age,
                    down: age > config.downAfter, isSelf: false))
        }
        if !isObserver && roster.slot(of: id) == nil {
            nodes.append(ClusterSnapshot.Node(id: id, address: address, load: own, age: 0, down: false, isSelf: true))
        }
        return nodes
    }

    /// How many views this node currently sends to.
    public var observerCount: Int { observers.count }
}

/// The seeded generator of simulations and tests (see `SplitMix64`).
public typealias SeededRandom = SplitMix64
