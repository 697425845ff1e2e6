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
        #expect(node.snapshot(now: 4 * Self.second).first { $0.id == 2 }?.down == false)
        #expect(node.snapshot(now: 4 * Self.second + 1).first { $0.id == 2 }?.down == true)
        #expect(node.snapshot(now: 4 * Self.second + 1).first { $0.id == 2 }?.state == "down")
        _ = node.tick(now: 601 * Self.second, random: &random)
        #expect(node.snapshot(now: 601 * Self.second).map(\.id) == [1])
    }

    @Test func gossipGoesToAnAliveMemberWithTheFreshestWindow() {
        var random = SeededRandom(seed: 3)
        var config = Membership.Config()
        config.window = 3
        config.rotating = 0
        var node = Membership(config: config, roster: Self.roster, id: 1, address: 0x0A00_0001, incarnation: 1)
        let datagram = Datagram(
            sender: 2, address: 0x0A00_0002, incarnation: 1,
            entries: [entry(2, age20: 0), entry(3, age20: 30), entry(4, age20: 10), entry(5, age20: 100)])
        _ = node.receive(datagram, from: 0x0A00_0002, now: 0, random: &random)
        let sends = node.tick(now: 0, random: &random)
        #expect(sends.count == 1)
        guard case .unicast(let target) = sends.first?.destination else {
            Issue.record("expected a unicast: \(sends)")
            return
        }
        // Node 5 is 5 s old: down, not a target.
        #expect([0x0A00_0002, 0x0A00_0003, 0x0A00_0004].contains(target))
        #expect(sends[0].datagram.entries.map(\.id) == [1, 2, 4])
        #expect(sends[0].datagram.entries.map(\.age20) == [0, 0, 10])
        // The own entry carries its details; relayed ones one time in eight.
        #expect(sends[0].datagram.entries[0].detailed)
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
            node.tick(now: Self.second / 2, random: &random).filter { $0.destination != .broadcast }.map(\.destination)
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
        #expect(view.tick(now: Self.second, random: &random).isEmpty)
        #expect(view.tick(now: 2 * Self.second, random: &random).map(\.datagram.flags) == [[.observer]])
    }
}
