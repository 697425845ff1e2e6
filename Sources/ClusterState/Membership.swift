import AgentSupport
/// The dissemination state machine of one node or observer: what it knows about every node of
/// the map, what to send, what a received datagram changes. Pure: the clock (nanoseconds on a
/// monotonic clock) and the random source are passed in; sockets live in `ClusterEndpoint`.
///
/// **All-gather.** Every node needs every other node's entry once a cycle, so each cycle is an
/// all-gather over the live nodes sorted by id (Bruck, Kalns, Upfal, Ho, "Efficient algorithms for
/// all-to-all communications in multiport message-passing systems", 1997): in round k a node sends
/// the freshest entries it holds for the 2^k ranks ending at its own to the rank 2^k after it, and
/// starts round k+1 as soon as round k has arrived from the rank 2^k before it. After
/// ceil(log2 n) rounds every node holds every entry, each sent once: n-1 entries and log2 n
/// datagrams per node and cycle, where random push gossip (MOSIX, gossimon) sends the same young
/// entries many times and leaves some old for long. Rounds are driven by arrivals, not clocks, so
/// a cycle takes a few network hops; the datagram that starts a newer cycle starts it at the
/// receiver too, so the first timer to fire starts everyone's cycle and the cluster stays in step
/// without a common clock.
///
/// The cycle is as short as `cycle` and as long as the byte budget needs: traffic per node is
/// bounded whatever the cluster size, and information age grows with it past ~300 nodes.
///
/// **Loss.** A round that does not arrive within `roundWait` is asked for again (a repair
/// datagram to its sender); after another `roundWait` the node goes on without it, keeping the
/// older copies of that block until the next cycle. A node whose information has missed a
/// cycle is suspected and probed directly (SWIM: Das, Gupta, Motivala, 2002) every `probeEvery`;
/// its answer refreshes it. It is down when it answered none of them: loss alone does not make
/// a node look down, and a dead node is down within `downAfter`.
///
/// Broadcast is only for discovery: a newcomer (or a view) that knows no one broadcasts a join,
/// and about `joinRepliers` of the nodes that hear it answer with their whole table. Views (the
/// master's `clumpview`) are fed directly: every node sends its own entry to every view that
/// said hello, each `viewInterval`.
public struct Membership: Sendable {
    /// The knobs; the defaults are what `bench/gossip.sh` measures.
    public struct Config: Sendable {
        /// The shortest time between two cycles.
        public var cycle: Int64 = 1_000_000_000
        /// UDP payload bytes per second one node may spend on the all-gather: a cycle costs about
        /// (n-1) x 8.3 + log2(n) x 38 bytes (2.4 KB at 254 nodes), so clusters above ~110 nodes get
        /// cycles longer than `cycle`. Repairs, probes and view feeds add about 10 % under 5 % loss,
        /// which this leaves room for below 1.5 KB/s.
        public var budget = 1_200
        /// How long a node waits for a round before it asks for it again (`repairs` times), and
        /// again before it goes on without it. A hop on a LAN takes well under a millisecond.
        public var roundWait: Int64 = 30_000_000
        public var repairs = 2
        /// A node is down when its freshest information is older than this, or than a missed
        /// cycle and `probes` unanswered probes when cycles are longer. The views that show it
        /// refresh once a second, so users see a dead node down within about 4.5 s.
        public var downAfter: Int64 = 3_500_000_000
        /// Probes sent to a suspected node, `probeEvery` apart, before it is down (at least; more
        /// when `downAfter` leaves time). Six keep 10 % loss from making false downs at 254 nodes.
        public var probes = 6
        public var probeEvery: Int64 = 250_000_000
        /// At most this many probes per `probeEvery` (a partition suspects everyone at once).
        public var maxProbes = 64
        /// A down node is dropped from the table after this long (10 minutes).
        public var forgetAfter: Int64 = 600_000_000_000
        /// A view re-announces itself this often (broadcast, header only: 38 bytes); a newcomer
        /// whose join the view missed feeds it after the next hello.
        public var observerHello: Int64 = 1_000_000_000
        /// Each node sends its own entry to every view this often.
        public var viewInterval: Int64 = 1_000_000_000
        /// An entry carries its details (cpus, memory total, uptime) one cycle in this many.
        public var detailsEvery: UInt16 = 16
        /// Nodes forget a view that has not said hello for this long.
        public var observerTimeout: Int64 = 7_000_000_000
        /// On average this many nodes answer a join (each with probability joinRepliers / alive).
        public var joinRepliers = 3
        /// While alone, a node broadcasts a join every `cycle` for this long, then every `lonelyJoin`.
        public var eagerJoin: Int64 = 10_000_000_000
        public var lonelyJoin: Int64 = 5_000_000_000

        public init() {}

        /// The cycle length for `nodes` live nodes.
        public func cycleLength(nodes: Int) -> Int64 {
            let entries = Double(max(nodes - 1, 0)) * (Double(Datagram.entrySize) + Double(Datagram.detailsSize) / Double(max(detailsEvery, 1)))
            let headers = Double(Membership.rounds(nodes) * (Datagram.headerSize + Datagram.macSize))
            return max(cycle, Int64((entries + headers) / Double(max(budget, 1)) * 1e9))
        }
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
    /// This node's slot in the roster; nil for a view or a node outside the map (no one relays for it).
    private let ownSlot: Int?

    /// Indexed by roster slot; nil: never heard of (or forgotten).
    public private(set) var table: [Known?]
    private var observers: [UInt32: Int64] = [:]
    private var sequence: UInt32 = 0
    private var started: Int64?
    private var lastBroadcast: Int64?
    private var lastViewFeed: Int64?
    private var own = NodeLoad()
    private var lastProbe: [Int: Int64] = [:]
    private var lastProbeRound: Int64 = .min / 2
    private var probesThisRound = 0

    // The current cycle.
    private var cycle: UInt16 = 0
    private var inCycle = false
    private var nextCycle: Int64?
    /// The live slots of this cycle, ascending, this node's own among them at `rank`.
    private var ranks: [Int] = []
    private var rank = 0
    /// Each roster slot's rank in this cycle, -1 when not ranked.
    private var rankOf: [Int32] = []
    /// Per round: which entries of its block have arrived (bit i: i ranks back from the block's end).
    private var seen: [[UInt64]] = []
    private var seenCount: [Int] = []
    /// Length of the current cycle (from its node count).
    public private(set) var cycleLength: Int64
    /// The next round to send, and the rounds whose (last) datagram has arrived.
    private var nextRound = 0
    private var arrived: UInt32 = 0
    /// When this cycle started, and how often this node asked again for round `nextRound - 1`.
    private var cycleStart: Int64 = 0
    private var repairsAsked = 0
    /// Whether this cycle's whole-table answer to a node with other ranks has gone out.
    private var answeredMismatch = false
    /// What the all-gather had to work around, for the bench and for tests.
    public struct Counters: Equatable, Sendable {
        public var cycles = 0
        /// Rounds asked for again, and rounds the node went on without.
        public var repairs = 0
        public var missedRounds = 0
        /// Rounds from another node than the ranks said (answered with the whole table once a cycle).
        public var mismatches = 0
        public var probes = 0
    }
    public private(set) var counters = Counters()
    /// When `tick` has something to do next.
    public private(set) var nextWake: Int64 = .min

    /// A member of the cluster `roster`; `id` 0 makes it an observer (a view).
    public init(config: Config = Config(), roster: Roster, id: UInt16, address: UInt32, incarnation: UInt32) {
        self.config = config
        self.roster = roster
        self.id = id
        self.address = address
        self.incarnation = incarnation
        ownSlot = id == 0 ? nil : roster.slot(of: id)
        table = Array(repeating: nil, count: roster.count)
        cycleLength = config.cycle
    }

    /// Rounds of an all-gather among `nodes`: ceil(log2 nodes).
    public static func rounds(_ nodes: Int) -> Int {
        nodes <= 1 ? 0 : Int.bitWidth - (nodes - 1).leadingZeroBitCount
    }

    /// Information this old has missed a whole cycle: probe. A cycle's rounds end within
    /// (repairs + 1) x rounds x roundWait of its start.
    public var suspectAfter: Int64 {
        cycleLength + Int64((config.repairs + 1) * max(Self.rounds(ranks.count), 1)) * config.roundWait + 100_000_000
    }

    /// Information older than this means the node is down.
    public var downAfter: Int64 {
        max(config.downAfter, suspectAfter + Int64(config.probes) * config.probeEvery)
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

    /// What to send now; call when `nextWake` has come (more often does no harm).
    public mutating func tick(now: Int64, random: inout some RandomNumberGenerator) -> [Send] {
        if started == nil { started = now }
        forget(now: now)
        var sends: [Send] = []
        defer { nextWake = wake(now: now) }
        let alive = aliveSlots(now: now, within: downAfter)
        if isObserver {
            if alive.isEmpty || now - (lastBroadcast ?? .min / 2) >= config.observerHello {
                lastBroadcast = now
                let flags: Datagram.Flags = alive.isEmpty ? [.join, .observer] : [.observer]
                sends.append(Send(destination: .broadcast, datagram: header(flags)))
            }
            // A view hears each node once a `viewInterval`: it probes a node whose feed is late
            // too, or three feeds lost in a row (5 % loss: about every 30 s among 250 nodes)
            // would show it down.
            return sends + probes(now: now)
        }
        // A node's first datagram is a broadcast join, so every running node lists it from the
        // start; a node alone repeats it.
        if alive.isEmpty || lastBroadcast == nil {
            let pause = now - (started ?? now) < config.eagerJoin ? config.cycle : config.lonelyJoin
            if now - (lastBroadcast ?? .min / 2) >= pause {
                lastBroadcast = now
                var datagram = header(.join)
                datagram.entries = [ownEntry()]
                sends.append(Send(destination: .broadcast, datagram: datagram))
            }
        }
        if !observers.isEmpty && now - (lastViewFeed ?? .min / 2) >= config.viewInterval {
            lastViewFeed = now
            for view in observers.keys.sorted() {
                var datagram = header([])
                datagram.entries = [ownEntry()]
                sends.append(Send(destination: .unicast(view), datagram: datagram))
            }
        }
        guard ownSlot != nil else { return sends }
        // A node that just started listens for a cycle before it starts one of its own.
        if nextCycle == nil { nextCycle = now + config.cycle }
        if let next = nextCycle, now >= next { startCycle(inCycle ? cycle &+ 1 : 1, now: now) }
        sends += advance(now: now)
        sends += probes(now: now)
        return sends
    }

    /// Takes in an authenticated datagram; returns what it makes this member send at once (the
    /// next rounds, a repeated round, the answer to a probe or a join).
    /// `udpSource` is the address the datagram came from, used only for a datagram that claims none.
    ///
    /// `fresh` false: the sender has not yet answered this member's challenge in its incarnation
    /// (`Authenticator`), so the datagram may be a recording made before this member started (a
    /// restarted node, a fresh view); replayed, two recorded joins would show a dead node up.
    /// Nothing of it counts: no entry, no view, no round, no answer to a join. The sender gets
    /// `challenge` in a probe (within the probe budget), and its answer, a datagram it must seal
    /// now, is fresh and brings its entry. A challenge the datagram carries is answered even so,
    /// or two members that both just started would wait for each other. That costs a round trip
    /// once per sender and incarnation.
    ///
    /// Answers go to the address the datagram claims, which its MAC covers, not to the UDP source,
    /// which anyone can forge: a recorded datagram replayed from spoofed sources cannot aim this
    /// member's answers at another host. At most `maxObservers` views are fed, the longest silent
    /// forgotten first.
    public mutating func receive(
        _ datagram: Datagram, from udpSource: UInt32, now: Int64, fresh: Bool = true, challenge: UInt16 = 0,
        random: inout some RandomNumberGenerator
    ) -> [Send] {
        let source = datagram.address != 0 ? datagram.address : udpSource
        var sends: [Send] = []
        defer { nextWake = wake(now: now) }
        guard source != address else { return sends }
        // A challenge is in the `cycle` of a probe; a plain probe (a suspicion) carries 0.
        let challenged = datagram.flags.contains(.probe) && datagram.round == Datagram.noRound && datagram.cycle != 0
        if challenged || (datagram.flags.contains(.probe) && fresh && !isObserver) {
            var answer = header(isObserver ? .observer : [])
            answer.cycle = challenged ? datagram.cycle : 0
            if !isObserver { answer.entries = [ownEntry()] }
            sends.append(Send(destination: .unicast(source), datagram: answer))
        }
        guard fresh else {
            if challenge != 0 && takeProbe(now: now) {
                var probe = header(isObserver ? [.probe, .observer] : .probe)
                probe.cycle = challenge
                if !isObserver { probe.entries = [ownEntry()] }
                sends.append(Send(destination: .unicast(source), datagram: probe))
            }
            return sends
        }
        if datagram.flags.contains(.observer) { registerObserver(source, now: now) }
        merge(datagram.entries, now: now)
        guard !isObserver else { return sends }
        if ownSlot != nil && datagram.round != Datagram.noRound {
            if !inCycle || Int16(bitPattern: datagram.cycle &- cycle) > 0 { startCycle(datagram.cycle, now: now) }
            let round = Int(datagram.round & 0x1F)
            if datagram.cycle == cycle {
                if datagram.flags.contains(.repair) {
                    if round < nextRound, round < rounds { sends += roundSends(round, to: source, now: now) }
                } else {
                    collect(datagram.entries, round: round)
                    // The round came from another node than this one's ranks say: the two list
                    // different live nodes, and neither would ever relay the entries the other
                    // lacks. The whole table, once a cycle, makes the lists agree.
                    let expected = round < rounds ? ranks[(rank - (1 << round) + ranks.count * 2) % ranks.count] : -1
                    if roster.slot(of: datagram.sender) != expected { counters.mismatches += 1 }
                    if roster.slot(of: datagram.sender) != expected && !answeredMismatch {
                        answeredMismatch = true
                        sends += everything(now: now).map { Send(destination: .unicast(source), datagram: $0) }
                    }
                }
            }
            sends += advance(now: now)
        }
        guard datagram.flags.contains(.join) else { return sends }
        let alive = aliveSlots(now: now, within: downAfter).count
        guard Int.random(in: 0..<max(alive, 1), using: &random) < config.joinRepliers else { return sends }
        return sends + everything(now: now).map { Send(destination: .unicast(source), datagram: $0) }
    }

    /// Keeps, per node, the youngest copy (and details from any copy).
    private mutating func merge(_ entries: [Datagram.Entry], now: Int64) {
        for entry in entries where entry.id != id {
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
    }

    private var rounds: Int { Self.rounds(ranks.count) }

    /// Entries in round `round`'s block: 2^round, fewer in the last round.
    private func blockSize(_ round: Int) -> Int { min(1 << round, ranks.count - (1 << round)) }

    /// Counts the entries of round `round`'s block that arrived (a round of many datagrams is
    /// complete when every entry has, not when its last datagram has: any of them may be lost).
    private mutating func collect(_ entries: [Datagram.Entry], round: Int) {
        guard round < rounds, arrived & (1 << UInt32(round)) == 0 else { return }
        let count = ranks.count
        let size = blockSize(round)
        if seen[round].isEmpty { seen[round] = [UInt64](repeating: 0, count: (size + 63) / 64) }
        for entry in entries {
            guard let slot = roster.slot(of: entry.id) else { continue }
            let position = rankOf[slot]
            guard position >= 0 else { continue }
            // Distance back from the block's last rank (the sender's).
            let back = (rank - (1 << round) - Int(position) + 2 * count) % count
            guard back < size, seen[round][back / 64] & (1 << UInt64(back % 64)) == 0 else { continue }
            seen[round][back / 64] |= 1 << UInt64(back % 64)
            seenCount[round] += 1
        }
        if seenCount[round] == size { arrived |= 1 << UInt32(round) }
    }

    /// Starts cycle `number`: the ranks are the nodes up now and this one.
    private mutating func startCycle(_ number: UInt16, now: Int64) {
        guard let ownSlot else { return }
        cycle = number
        inCycle = true
        counters.cycles += 1
        if rankOf.count != roster.count { rankOf = [Int32](repeating: -1, count: roster.count) }
        for slot in ranks { rankOf[slot] = -1 }
        ranks = aliveSlots(now: now, within: downAfter)
        let position = ranks.firstIndex { $0 > ownSlot } ?? ranks.count
        ranks.insert(ownSlot, at: position)
        rank = position
        for (index, slot) in ranks.enumerated() { rankOf[slot] = Int32(index) }
        seen = Array(repeating: [], count: Self.rounds(ranks.count))
        seenCount = Array(repeating: 0, count: Self.rounds(ranks.count))
        cycleLength = config.cycleLength(nodes: ranks.count)
        nextCycle = now + cycleLength
        nextRound = 0
        arrived = 0
        repairsAsked = 0
        answeredMismatch = false
        cycleStart = now
    }

    /// Sends every round whose predecessor has arrived (or is late past repair), and asks again
    /// for a round that is late.
    ///
    /// Deadlines count from the cycle's start, not from the previous round. With s = repairs + 1
    /// slots of `roundWait` per round, round k leaves its sender by start + s k x roundWait even
    /// when every earlier round was late; it is asked for again at start + (s k + j) x roundWait,
    /// j = 1...repairs, and given up at start + s (k+1) x roundWait. Waits measured from the
    /// previous round would add up along a chain: a node would give up on a sender that is itself
    /// still waiting, and pass stale entries on.
    private mutating func advance(now: Int64) -> [Send] {
        guard inCycle else { return [] }
        var sends: [Send] = []
        let slots = Int64(config.repairs + 1)
        while true {
            let waiting = nextRound - 1
            let late = now - cycleStart
            let ready = nextRound == 0 || arrived & (1 << UInt32(waiting)) != 0
                || late >= slots * Int64(nextRound) * config.roundWait
            if ready {
                guard nextRound < rounds else { break }
                if nextRound > 0 && arrived & (1 << UInt32(waiting)) == 0 { counters.missedRounds += 1 }
                sends += roundSends(nextRound, to: nil, now: now)
                nextRound += 1
                repairsAsked = 0
                continue
            }
            // Repairs whose time has come; one request stands for all of them when this node
            // wakes late.
            let due = min(config.repairs, Int(late / max(config.roundWait, 1) - slots * Int64(waiting)))
            if due > repairsAsked {
                repairsAsked = due
                counters.repairs += 1
                let from = ranks[(rank - (1 << waiting) + ranks.count * 2) % ranks.count]
                var request = header(.repair)
                request.cycle = cycle
                request.round = UInt8(waiting)
                sends.append(Send(destination: .unicast(roster.addresses[from]), datagram: request))
            }
            break
        }
        return sends
    }

    /// Round `round`: the freshest entries of the 2^round ranks ending at this one (fewer in the
    /// last round), to the rank 2^round after this one, or to `requester`.
    private mutating func roundSends(_ round: Int, to requester: UInt32?, now: Int64) -> [Send] {
        let count = ranks.count
        let size = blockSize(round)
        let destination = requester ?? roster.addresses[ranks[(rank + (1 << round)) % count]]
        var entries: [Datagram.Entry] = []
        entries.reserveCapacity(size)
        for offset in stride(from: size - 1, through: 0, by: -1) {
            let slot = ranks[(rank - offset + count) % count]
            let detailed = (roster.ids[slot] &+ cycle) % max(config.detailsEvery, 1) == 0
            if slot == ownSlot {
                entries.append(Datagram.Entry(id: id, age20: 0, load: own, detailed: detailed))
            } else if let entry = entry(slot: slot, now: now, detailed: detailed) {
                entries.append(entry)
            }
        }
        var sends: [Send] = []
        var start = 0
        repeat {
            var room = Datagram.maxEntryBytes
            var end = start
            while end < entries.count && entries[end].size <= room {
                room -= entries[end].size
                end += 1
            }
            var datagram = header([])
            datagram.cycle = cycle
            datagram.round = UInt8(round) | (end < entries.count ? Datagram.moreParts : 0)
            datagram.entries = Array(entries[start..<end])
            sends.append(Send(destination: .unicast(destination), datagram: datagram))
            start = end
        } while start < entries.count
        return sends
    }

    /// Whether one more probe fits in this `probeEvery`'s budget (`maxProbes`), and takes it.
    /// Challenges share it: recordings replayed from a thousand claimed senders get no more.
    private mutating func takeProbe(now: Int64) -> Bool {
        if now - lastProbeRound >= config.probeEvery {
            lastProbeRound = now
            probesThisRound = 0
        }
        guard probesThisRound < config.maxProbes else { return false }
        probesThisRound += 1
        return true
    }

    /// Probes nodes whose information has missed a cycle (a view: a feed), each every `probeEvery`.
    private mutating func probes(now: Int64) -> [Send] {
        var sends: [Send] = []
        for slot in table.indices where slot != ownSlot {
            guard let known = table[slot] else { continue }
            let age = now - known.stamp
            guard age > suspectAfter, age <= downAfter else {
                lastProbe[slot] = nil
                continue
            }
            guard now - (lastProbe[slot] ?? .min / 2) >= config.probeEvery, roster.addresses[slot] != 0,
                takeProbe(now: now)
            else { continue }
            lastProbe[slot] = now
            counters.probes += 1
            var probe = header(isObserver ? [.probe, .observer] : .probe)
            if !isObserver { probe.entries = [ownEntry()] }
            sends.append(Send(destination: .unicast(roster.addresses[slot]), datagram: probe))
        }
        return sends
    }

    /// When `tick` next has work: the next cycle, a round's wait running out, a probe, a view feed.
    private func wake(now: Int64) -> Int64 {
        var wake = now + config.cycle
        // A feed or hello that never went out is due now: "interval from now" would be pushed
        // back by every arrival, and a node that others' datagrams keep busy never sent it.
        if isObserver { wake = min(wake, lastBroadcast.map { $0 + config.observerHello } ?? now) }
        if let nextCycle { wake = min(wake, nextCycle) }
        if inCycle && nextRound >= 1 && arrived & (1 << UInt32(nextRound - 1)) == 0 {
            // The next repair, or the give-up. Past the give-up of the last round (it never
            // came) nothing is due until the next cycle; past any other, the next round is.
            let slots = Int64(config.repairs + 1)
            let giveUp = cycleStart + slots * Int64(nextRound) * config.roundWait
            let repair = cycleStart + (slots * Int64(nextRound - 1) + Int64(repairsAsked + 1)) * config.roundWait
            if now >= giveUp {
                if nextRound < rounds { wake = now }
            } else {
                wake = min(wake, repairsAsked < config.repairs ? max(repair, now) : giveUp)
            }
        }
        if !observers.isEmpty { wake = min(wake, lastViewFeed.map { $0 + config.viewInterval } ?? now) }
        for slot in table.indices {
            guard let known = table[slot] else { continue }
            let age = now - known.stamp
            if age <= suspectAfter {
                wake = min(wake, known.stamp + suspectAfter + 1)
            } else if age <= downAfter {
                // The next probe (the first is due now), or the moment it is down.
                wake = min(wake, lastProbe[slot].map { $0 + config.probeEvery } ?? now, known.stamp + downAfter + 1)
            }
        }
        return max(wake, now + 1)
    }

    /// A header-only datagram with the next sequence number.
    private mutating func header(_ flags: Datagram.Flags) -> Datagram {
        sequence &+= 1
        return Datagram(flags: flags, sender: id, address: address, incarnation: incarnation, sequence: sequence)
    }

    private func ownEntry() -> Datagram.Entry { Datagram.Entry(id: id, age20: 0, load: own) }

    private func entry(slot: Int, now: Int64, detailed: Bool = true) -> Datagram.Entry? {
        guard let known = table[slot] else { return nil }
        let age = now - known.stamp
        return Datagram.Entry(
            id: roster.ids[slot], age20: UInt8.clamped(Int(age / 50_000_000)), load: known.load,
            detailed: detailed && known.detailed)
    }

    /// The whole table (entries of nodes up, with details), in as many datagrams as it takes, at most 8.
    private mutating func everything(now: Int64) -> [Datagram] {
        var entries = [ownEntry()]
        for slot in table.indices where roster.ids[slot] != id {
            guard let known = table[slot], now - known.stamp <= downAfter, let entry = entry(slot: slot, now: now)
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
                    down: age > downAfter, isSelf: false))
        }
        if !isObserver && roster.slot(of: id) == nil {
            nodes.append(ClusterSnapshot.Node(id: id, address: address, load: own, age: 0, down: false, isSelf: true))
        }
        return nodes
    }

    /// The most views a node feeds at once.
    public static let maxObservers = 64

    private mutating func registerObserver(_ view: UInt32, now: Int64) {
        if observers[view] == nil && observers.count >= Self.maxObservers,
            let oldest = observers.min(by: { $0.value < $1.value })
        {
            observers.removeValue(forKey: oldest.key)
        }
        observers[view] = now
    }

    /// How many views this node currently sends to.
    public var observerCount: Int { observers.count }
}

/// The seeded generator of simulations and tests (see `SplitMix64`).
public typealias SeededRandom = SplitMix64
