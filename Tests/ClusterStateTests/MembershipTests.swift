import Testing

@testable import ClusterState


struct MembershipTests {
    static let roster = Roster.classC(network: 0x0A00_0000)
    static let second: Int64 = 1_000_000_000

    func member(_ id: UInt16) -> Membership {
        var member = Membership(roster: Self.roster, id: id, address: 0x0A00_0000 | UInt32(id), incarnation: 1)
        var load = NodeLoad()
        load.load100 = UInt16(id)
        member.update(own: load)
        return member
    }

    func entry(_ id: UInt16, age20: UInt8, load100: UInt16 = 0) -> Datagram.Entry {
        var load = NodeLoad()
        load.load100 = load100
        return Datagram.Entry(id: id, age20: age20, load: load)
    }

    @Test func aloneANodeBroadcastsAJoinWithItsOwnEntry() {
        var random = SeededRandom(seed: 1)
        var node = member(5)
        let sends = node.tick(now: 0, random: &random)
        #expect(sends.count == 1)
        #expect(sends[0].destination == .broadcast)
        #expect(sends[0].datagram.flags == .join)
        #expect(sends[0].datagram.entries.map(\.id) == [5])
        #expect(sends[0].datagram.sequence == 1)
    }

    @Test func mergeKeepsTheYoungestCopy() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        let now = 10 * Self.second
        var datagram = Datagram(sender: 2, address: 0x0A00_0002, incarnation: 1, entries: [entry(7, age20: 20, load100: 70)])
        _ = node.receive(datagram, from: 0x0A00_0002, now: now, random: &random)
        datagram.entries = [entry(7, age20: 40, load100: 99)]
        _ = node.receive(datagram, from: 0x0A00_0002, now: now, random: &random)
        var seven = node.snapshot(now: now).first { $0.id == 7 }
        #expect(seven?.load.load100 == 70)
        #expect(seven?.age == Self.second)
        datagram.entries = [entry(7, age20: 2, load100: 12)]
        _ = node.receive(datagram, from: 0x0A00_0002, now: now + Self.second, random: &random)
        seven = node.snapshot(now: now + Self.second).first { $0.id == 7 }
        #expect(seven?.load.load100 == 12)
        #expect(seven?.age == Self.second / 10)
    }

    @Test func nodesOutsideTheMapAreIgnored() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        let datagram = Datagram(sender: 2, address: 0x0A00_0002, incarnation: 1, entries: [entry(300, age20: 0)])
        _ = node.receive(datagram, from: 0x0A00_0002, now: 0, random: &random)
        #expect(node.snapshot(now: 0).map(\.id) == [1])
    }

    @Test func aSilentNodeIsDownAfterTheTimeoutAndForgottenLater() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        let datagram = Datagram(sender: 2, address: 0x0A00_0002, incarnation: 1, entries: [entry(2, age20: 0)])
        _ = node.receive(datagram, from: 0x0A00_0002, now: 0, random: &random)
        #expect(node.downAfter == node.config.downAfter)
        #expect(node.snapshot(now: node.downAfter).first { $0.id == 2 }?.down == false)
        #expect(node.snapshot(now: node.downAfter + 1).first { $0.id == 2 }?.down == true)
        #expect(node.snapshot(now: node.downAfter + 1).first { $0.id == 2 }?.state == "down")
        _ = node.tick(now: 601 * Self.second, random: &random)
        #expect(node.snapshot(now: 601 * Self.second).map(\.id) == [1])
    }

    @Test func roundsOfTheAllGather() {
        #expect([1, 2, 3, 4, 5, 8, 9, 50, 254, 256, 257, 65535].map(Membership.rounds) == [0, 1, 2, 2, 3, 3, 4, 6, 8, 8, 9, 16])
    }

    /// Nodes that all know each other, one cycle, no loss: every node ends with every other's
    /// entry at age 0, having sent ceil(log2 n) round datagrams and n-1 entries.
    @Test(arguments: [2, 3, 5, 8, 13, 50])
    func oneCycleGathersEveryEntryOnce(nodes: Int) {
        var network = TestNetwork(nodes: nodes)
        network.introduce(at: 0)
        network.sent = []
        let start = Self.second  // the first cycle: `cycle` after the first tick
        network.tick(0, now: start)
        network.settle(now: start)
        for index in 0..<nodes {
            let known = network.members[index].snapshot(now: start).filter { !$0.isSelf }
            #expect(known.count == nodes - 1, "node \(index + 1) knows \(known.map(\.id))")
            #expect(known.allSatisfy { $0.age == 0 }, "node \(index + 1): \(known.map { ($0.id, $0.age) })")
            #expect(known.allSatisfy { $0.load.load100 == $0.id }, "node \(index + 1)")
            let rounds = network.sent.filter { $0.from == index && $0.datagram.round != Datagram.noRound }
            #expect(rounds.count == Membership.rounds(nodes))
            #expect(rounds.reduce(0) { $0 + $1.datagram.entries.count } == nodes - 1)
            #expect(network.members[index].counters.repairs == 0)
        }
        #expect(network.sent.allSatisfy { $0.datagram.round != Datagram.noRound }, "\(network.sent.filter { $0.datagram.round == Datagram.noRound }.map { ($0.from, $0.destination, $0.datagram.flags, $0.datagram.entries.map(\.id)) })")
    }

    /// Round 1 from node 7 to node 1 is lost: node 1 asks node 7 again when it is late, and the
    /// cycle still ends with every entry everywhere.
    @Test func aLostRoundIsAskedForAgain() {
        var network = TestNetwork(nodes: 8)
        network.introduce(at: 0)
        let start = Self.second  // the first cycle: `cycle` after the first tick
        network.drop = { from, to, datagram in from == 6 && to == 0 && datagram.round == 1 && !datagram.flags.contains(.repair) }
        network.tick(0, now: start)
        network.settle(now: start)
        #expect(network.members[0].snapshot(now: start).filter { !$0.isSelf && $0.age == 0 }.count < 7)
        network.drop = nil
        network.sent = []
        // Round 1 leaves its sender by start + 3 waits (repairs + 1 per round); it is asked for at 4.
        let wait = network.members[0].config.roundWait
        #expect(network.members[0].nextWake == start + 4 * wait)
        for index in 0..<8 { network.tick(index, now: start + 4 * wait) }
        network.settle(now: start + 4 * wait)
        let repairs = network.sent.filter { $0.datagram.flags.contains(.repair) }
        #expect(repairs.map(\.from) == [0])
        #expect(repairs.first?.destination == .unicast(0x0A00_0007))
        #expect(network.members[0].counters.repairs == 1)
        for index in 0..<8 {
            let fresh = network.members[index].snapshot(now: start + 4 * wait).filter { !$0.isSelf && $0.age <= 4 * wait }
            #expect(fresh.count == 7, "node \(index + 1): \(fresh.map(\.id))")
        }
    }

    /// Node 3 is dead (it receives and sends nothing): its successors give up on its rounds and
    /// then sleep until something is due, instead of waking at once over and over.
    @Test func aDeadPartnerDoesNotKeepTheOthersAwake() {
        var network = TestNetwork(nodes: 4)
        network.introduce(at: 0)
        network.drop = { from, to, _ in from == 2 || to == 2 }
        let start = Self.second
        network.tick(0, now: start)
        network.settle(now: start)
        let late = start + 10 * network.members[0].config.roundWait
        for index in [0, 1, 3] {
            network.tick(index, now: late)
            network.settle(now: late)
            #expect(network.members[index].nextWake > late + Self.second / 10, "node \(index + 1) wakes at \(network.members[index].nextWake - late) ns")
        }
        #expect(network.members[3].counters.missedRounds + network.members[3].counters.repairs > 0)
    }

    /// A datagram from a sender that has not answered this node's challenge may be a recording
    /// made before this node started: however many such datagrams come, their entries wait for
    /// the sender's answer to the challenge.
    @Test func anUnprovenSenderIsChallengedBeforeItCounts() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        for sequence: UInt32 in 1...3 {
            let join = Datagram(flags: .join, sender: 9, address: 0x0A00_0009, incarnation: 1, sequence: sequence, entries: [entry(9, age20: 0)])
            let sends = node.receive(join, from: 0x0B0B_0B0B, now: Int64(sequence), fresh: false, challenge: 0x5A5A, random: &random)
            #expect(sends.map(\.destination) == [.unicast(0x0A00_0009)], "challenged at the claimed address")
            #expect(sends.first?.datagram.flags == .probe)
            #expect(sends.first?.datagram.cycle == 0x5A5A)
        }
        #expect(node.snapshot(now: 4).map(\.id) == [1], "no recording counts")
        var answer = Datagram(sender: 9, address: 0x0A00_0009, incarnation: 1, sequence: 4, entries: [entry(9, age20: 0)])
        answer.cycle = 0x5A5A
        _ = node.receive(answer, from: 0x0A00_0009, now: 5, random: &random)
        #expect(node.snapshot(now: 5).map(\.id) == [1, 9])
    }

    /// A challenge is answered even from a sender not yet proven: two members that both just
    /// started would otherwise wait for each other. The answer echoes it and carries the entry.
    @Test func aChallengeIsAnsweredWithItsEcho() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        var probe = Datagram(flags: .probe, sender: 9, address: 0x0A00_0009, incarnation: 1, sequence: 1, entries: [entry(9, age20: 0)])
        probe.cycle = 0x1234
        let sends = node.receive(probe, from: 0x0A00_0009, now: 0, fresh: false, challenge: 0x4321, random: &random)
        #expect(sends.count == 2)
        #expect(sends.map(\.destination) == [.unicast(0x0A00_0009), .unicast(0x0A00_0009)])
        #expect(sends[0].datagram.flags == [] && sends[0].datagram.cycle == 0x1234)
        #expect(sends[0].datagram.entries.map(\.id) == [1])
        #expect(sends[1].datagram.flags == .probe && sends[1].datagram.cycle == 0x4321)
        // Challenges share the probe budget: a flood of unproven senders gets maxProbes of them.
        var flooded = member(1)
        var challenges = 0
        for id: UInt16 in 2...200 {
            let join = Datagram(flags: .join, sender: id, address: 0x0A00_0000 | UInt32(id), incarnation: 1, sequence: 1)
            challenges += flooded.receive(join, from: 0, now: 10, fresh: false, challenge: 7, random: &random).count
        }
        #expect(challenges == flooded.config.maxProbes)
    }

    /// A round from a node that this node's ranks do not expect means the two list different
    /// live nodes: it answers with its whole table, once a cycle.
    @Test func aRoundFromAnUnexpectedSenderIsAnsweredWithTheTable() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        for id: UInt16 in [2, 3, 4] {
            _ = node.receive(Datagram(sender: id, address: 0x0A00_0000 | UInt32(id), incarnation: 1, entries: [entry(id, age20: 0)]), from: 0x0A00_0000 | UInt32(id), now: 0, random: &random)
        }
        // Node 1's ranks are 1 2 3 4: round 0 comes from node 4. Node 3 sends it instead.
        var round = Datagram(sender: 3, address: 0x0A00_0003, incarnation: 1, sequence: 5, cycle: 9, round: 0, entries: [entry(3, age20: 0)])
        let answer = node.receive(round, from: 0x0A00_0003, now: Self.second, random: &random)
        let tables = answer.filter { $0.destination == .unicast(0x0A00_0003) }
        #expect(tables.count == 1)
        #expect(tables.first?.datagram.entries.map(\.id) == [1, 2, 3, 4])
        // The newer cycle started here too: node 1 sent its own round 0 to node 2.
        #expect(answer.contains { $0.destination == .unicast(0x0A00_0002) && $0.datagram.cycle == 9 && $0.datagram.round == 0 })
        #expect(node.counters.mismatches == 1)
        round.sequence = 6
        round.round = 1
        let again = node.receive(round, from: 0x0A00_0003, now: Self.second, random: &random)
        #expect(!again.contains { $0.datagram.round == Datagram.noRound && $0.datagram.entries.count > 1 })
    }

    /// A node whose information has missed a cycle is probed; the answer to a probe is the
    /// prober's own entry, and it refreshes the suspect.
    @Test func aSuspectIsProbedAndItsAnswerKeepsItUp() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        var two = member(2)
        _ = node.receive(Datagram(sender: 2, address: 0x0A00_0002, incarnation: 1, entries: [entry(2, age20: 0)]), from: 0x0A00_0002, now: 0, random: &random)
        _ = node.tick(now: 0, random: &random)
        let suspect = node.suspectAfter
        #expect(node.tick(now: suspect, random: &random).allSatisfy { !$0.datagram.flags.contains(.probe) })
        let probes = node.tick(now: suspect + 1, random: &random).filter { $0.datagram.flags.contains(.probe) }
        #expect(probes.map(\.destination) == [.unicast(0x0A00_0002)])
        #expect(node.nextWake <= suspect + 1 + node.config.probeEvery)
        let answers = two.receive(probes[0].datagram, from: 0x0A00_0001, now: suspect + 1, random: &random)
            .filter { $0.destination == .unicast(0x0A00_0001) && $0.datagram.entries.map(\.id) == [2] }
        #expect(answers.count == 1)
        _ = node.receive(answers[0].datagram, from: 0x0A00_0002, now: suspect + 2, random: &random)
        #expect(node.snapshot(now: suspect + 2).first { $0.id == 2 }?.age == 0)
        #expect(node.counters.probes == 1)
    }

    @Test func aJoinIsAnsweredWithTheWholeTable() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        let join = Datagram(flags: .join, sender: 9, address: 0x0A00_0009, incarnation: 1, entries: [entry(9, age20: 0)])
        let answers = node.receive(join, from: 0x0A00_0009, now: 0, random: &random)
        // Alone with the newcomer, this node answers for sure (3 expected repliers out of 1).
        #expect(answers.map(\.destination) == [.unicast(0x0A00_0009)])
        #expect(answers.first?.datagram.entries.map(\.id) == [1, 9])
    }

    @Test func observersReceiveGossipButAreNotNodes() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        let hello = Datagram(flags: [.observer], sender: 0, address: 0, incarnation: 1)
        _ = node.receive(hello, from: 0x0A00_00FE, now: 0, random: &random)
        #expect(node.observerCount == 1)
        // The view gets this node's own entry directly, every view interval.
        let sends = node.tick(now: 0, random: &random).filter { $0.destination != .broadcast }
        #expect(sends.map(\.destination) == [.unicast(0x0A00_00FE)])
        #expect(sends.first?.datagram.entries.map(\.id) == [1])
        #expect(node.tick(now: Self.second / 5, random: &random).filter { $0.destination != .broadcast }.isEmpty)
        #expect(
            node.tick(now: Self.second, random: &random).filter { $0.destination == .unicast(0x0A00_00FE) }.map(\.destination)
                == [.unicast(0x0A00_00FE)])
        #expect(node.snapshot(now: 0).map(\.id) == [1])
        // A view that stops saying hello is forgotten.
        _ = node.tick(now: 8 * Self.second, random: &random)
        #expect(node.observerCount == 0)

        var view = Membership(roster: Self.roster, id: 0, address: 0, incarnation: 1)
        let first = view.tick(now: 0, random: &random)
        #expect(first.map(\.datagram.flags) == [[.join, .observer]])
        #expect(first[0].datagram.entries.isEmpty)
        _ = view.receive(
            Datagram(sender: 1, address: 0x0A00_0001, incarnation: 1, entries: [entry(1, age20: 0)]), from: 0x0A00_0001,
            now: 0, random: &random)
        #expect(view.snapshot(now: 0).map(\.id) == [1])
        #expect(view.tick(now: Self.second / 2, random: &random).isEmpty)
        #expect(view.tick(now: Self.second, random: &random).map(\.datagram.flags) == [[.observer]])
    }

    /// A node whose cycles others' datagrams start (so its own timer never fires) still feeds a
    /// view that said hello: the first feed is due at once, and arrivals do not push it back.
    @Test func aBusyNodeFeedsAViewAtOnce() {
        var random = SeededRandom(seed: 1)
        var node = member(1)
        _ = node.tick(now: 0, random: &random)
        let hello = Datagram(flags: [.observer], sender: 0, address: 0, incarnation: 1)
        _ = node.receive(hello, from: 0x0A00_00FE, now: Self.second / 2, random: &random)
        for step in 1...20 {
            let now = Self.second / 2 + Int64(step) * 10_000_000
            let datagram = Datagram(sender: 2, address: 0x0A00_0002, incarnation: 1, entries: [entry(2, age20: 0)])
            _ = node.receive(datagram, from: 0x0A00_0002, now: now, random: &random)
            #expect(node.nextWake <= now + 1)
        }
        let feeds = node.tick(now: node.nextWake, random: &random).filter { $0.destination == .unicast(0x0A00_00FE) }
        #expect(feeds.map { $0.datagram.entries.map(\.id) } == [[1]])
    }

    /// A view hears each node only through its feed: when one is late, the view probes the node
    /// (three feeds lost in a row must not show it down), and the answer refreshes it.
    @Test func aViewProbesANodeWhoseFeedIsLate() {
        var random = SeededRandom(seed: 1)
        var view = Membership(roster: Self.roster, id: 0, address: 0x0A00_00FE, incarnation: 1)
        var node = member(1)
        _ = view.tick(now: 0, random: &random)
        let feed = Datagram(sender: 1, address: 0x0A00_0001, incarnation: 1, entries: [entry(1, age20: 0)])
        _ = view.receive(feed, from: 0x0A00_0001, now: 0, random: &random)
        #expect(view.nextWake <= view.suspectAfter + 1)
        let probes = view.tick(now: view.suspectAfter + 1, random: &random).filter { $0.datagram.flags.contains(.probe) }
        #expect(probes.map(\.destination) == [.unicast(0x0A00_0001)])
        #expect(probes.first?.datagram.entries.isEmpty == true)
        let answers = node.receive(probes[0].datagram, from: 0x0A00_00FE, now: view.suspectAfter + 1, random: &random)
            .filter { $0.destination == .unicast(0x0A00_00FE) && $0.datagram.entries.map(\.id) == [1] }
        #expect(!answers.isEmpty)
        _ = view.receive(answers[0].datagram, from: 0x0A00_0001, now: view.suspectAfter + 2, random: &random)
        #expect(view.snapshot(now: view.suspectAfter + 2).first { $0.id == 1 }?.age == 0)
        // Every feed and probe lost: down after `downAfter`, as for nodes.
        #expect(view.snapshot(now: view.suspectAfter + 2 + view.downAfter + 1).first { $0.id == 1 }?.down == true)
    }
}

/// Members 1...n of a class-C roster at 10.0.0.n, delivering every send at once (a LAN hop
/// takes no time here), with an optional loss rule.
struct TestNetwork {
    var members: [Membership]
    var random = SeededRandom(seed: 7)
    var sent: [(from: Int, destination: Membership.Destination, datagram: Datagram)] = []
    var drop: ((Int, Int, Datagram) -> Bool)?
    private var queue: [(from: Int, send: Membership.Send)] = []

    init(nodes: Int) {
        members = (1...nodes).map { id in
            var member = Membership(roster: MembershipTests.roster, id: UInt16(id), address: 0x0A00_0000 | UInt32(id), incarnation: 1)
            var load = NodeLoad()
            load.load100 = UInt16(id)
            member.update(own: load)
            return member
        }
    }

    /// Every node's first tick (its join broadcast), delivered: everyone knows everyone.
    mutating func introduce(at now: Int64) {
        for index in members.indices { tick(index, now: now) }
        settle(now: now)
    }

    mutating func tick(_ index: Int, now: Int64) {
        for send in members[index].tick(now: now, random: &random) { queue.append((index, send)) }
    }

    /// Delivers until nothing more is sent.
    mutating func settle(now: Int64) {
        while !queue.isEmpty {
            let (from, send) = queue.removeFirst()
            sent.append((from, send.destination, send.datagram))
            let receivers: [Int]
            switch send.destination {
            case .broadcast: receivers = members.indices.filter { $0 != from }
            case .unicast(let address): receivers = [Int(address & 0xFF) - 1]
            }
            for receiver in receivers where members.indices.contains(receiver) {
                if let drop, drop(from, receiver, send.datagram) { continue }
                let source = members[from].address
                for answer in members[receiver].receive(send.datagram, from: source, now: now, random: &random) {
                    queue.append((receiver, answer))
                }
            }
        }
    }
}

/// The reflector a recorded view hello made of every drone: its answers went to the UDP source,
/// which anyone can forge. Now they go to the address the datagram claims (under its MAC), only
/// once the view's incarnation has been heard twice, and to at most `maxObservers` views.
@Suite struct ObserverReflectionTests {
    static let roster = Roster((1...20).map { (UInt16($0), 0x0A00_0000 | UInt32($0)) })

    @Test func aViewIsFedAtTheAddressItClaimsOnlyOnceItAnswersTheChallenge() {
        var random = SeededRandom(seed: 1)
        var node = Membership(roster: Self.roster, id: 1, address: 0x0A00_0001, incarnation: 1)
        let hello = Datagram(flags: [.observer], sender: 0, address: 0x0A00_00C8, incarnation: 1, sequence: 1)
        // Hellos of a view that has not answered may be recordings: no view yet, whatever the source.
        for sequence: UInt32 in 1...3 {
            var recorded = hello
            recorded.sequence = sequence
            let sends = node.receive(recorded, from: 0x0B0B_0B0B, now: 0, fresh: false, challenge: 99, random: &random)
            #expect(sends.map(\.destination) == [.unicast(0x0A00_00C8)])
        }
        #expect(node.observerCount == 0)
        // The view answers the challenge (an observer answers nothing else).
        var view = Membership(roster: Self.roster, id: 0, address: 0x0A00_00C8, incarnation: 1)
        var challenge = Datagram(flags: .probe, sender: 1, address: 0x0A00_0001, incarnation: 1, sequence: 1)
        challenge.cycle = 99
        let answers = view.receive(challenge, from: 0x0A00_0001, now: 0, random: &random)
        #expect(answers.map(\.datagram.cycle) == [99])
        #expect(answers.first?.datagram.flags == .observer)
        challenge.cycle = 0
        challenge.sequence = 2
        #expect(view.receive(challenge, from: 0x0A00_0001, now: 0, random: &random).isEmpty)
        _ = node.receive(answers[0].datagram, from: 0x0B0B_0B0B, now: 1, random: &random)
        #expect(node.observerCount == 1)
        let feeds = node.tick(now: 2, random: &random).filter { $0.destination != .broadcast }
        #expect(feeds.map(\.destination) == [.unicast(0x0A00_00C8)], "fed at the claimed address, not the forged source")
    }

    @Test func theViewsFedAreBounded() {
        var random = SeededRandom(seed: 1)
        var node = Membership(roster: Self.roster, id: 1, address: 0x0A00_0001, incarnation: 1)
        for view in UInt32(1)...1000 {
            let hello = Datagram(flags: [.observer], sender: 0, address: 0x0A01_0000 | view, incarnation: 1, sequence: 2)
            _ = node.receive(hello, from: 0x0A01_0000 | view, now: Int64(view), random: &random)
        }
        #expect(node.observerCount == Membership.maxObservers)
    }
}
