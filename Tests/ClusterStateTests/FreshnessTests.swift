import Testing

@testable import ClusterState

/// Members that seal and open every datagram as the endpoints do (the MAC bound to the
/// destination, replay windows, challenges), on a LAN of instant hops. A recorder keeps every
/// broadcast, as a keyless PC on the LAN would.
struct SealedNetwork {
    static let key = [UInt8](repeating: 5, count: 32)
    static let broadcast: UInt32 = 0x0A00_00FF
    var members: [Int: (membership: Membership, authenticator: Authenticator)] = [:]
    var recorded: [[UInt8]] = []
    var random = SeededRandom(seed: 3)

    /// Node `id` (0: a view at .200), started with `incarnation`.
    mutating func start(_ id: Int, incarnation: UInt32, secret: UInt64) {
        let address = id == 0 ? 0x0A00_00C8 : 0x0A00_0000 | UInt32(id)
        var membership = Membership(
            roster: MembershipTests.roster, id: UInt16(id), address: address, incarnation: incarnation)
        var load = NodeLoad()
        load.configuration = .configured
        membership.update(own: load)
        members[id] = (membership, Authenticator(key: Self.key, secret: secret))
    }

    mutating func stop(_ id: Int) { members[id] = nil }

    func address(of id: Int) -> UInt32 { members[id]!.membership.address }

    /// Delivers `bytes` sent to `destination`: the broadcast reaches everyone but `except`.
    mutating func deliver(_ bytes: [UInt8], to destination: UInt32, except: Int?, now: Int64) {
        var queue = [(bytes, destination, except)]
        while !queue.isEmpty {
            let (bytes, destination, except) = queue.removeFirst()
            if destination == Self.broadcast { recorded.append(bytes) }
            for id in members.keys.sorted() where id != except {
                guard var member = members[id], destination == Self.broadcast || destination == member.membership.address
                else { continue }
                guard let datagram = member.authenticator.open(bytes, to: destination) else { continue }
                let sends = member.membership.receive(
                    datagram, from: 0x0B0B_0B0B, now: now, fresh: member.authenticator.fresh,
                    challenge: member.authenticator.challenge, random: &random)
                members[id] = member
                for send in sends { queue.append(seal(send, from: id)) }
            }
        }
    }

    private func seal(_ send: Membership.Send, from id: Int) -> ([UInt8], UInt32, Int?) {
        let destination: UInt32
        switch send.destination {
        case .broadcast: destination = Self.broadcast
        case .unicast(let address): destination = address
        }
        return (members[id]!.authenticator.seal(send.datagram, to: destination), destination, id)
    }

    /// Runs every member's ticks from `from` to `to`, 10 ms apart.
    mutating func run(from: Int64, to: Int64) {
        var now = from
        while now <= to {
            for id in members.keys.sorted() {
                guard var member = members[id], member.membership.nextWake <= now else { continue }
                let sends = member.membership.tick(now: now, random: &random)
                members[id] = member
                for send in sends {
                    let (bytes, destination, except) = seal(send, from: id)
                    deliver(bytes, to: destination, except: except, now: now)
                }
            }
            now += 10_000_000
        }
    }

    func up(in id: Int, now: Int64) -> Set<Int> {
        Set(members[id]!.membership.snapshot(now: now).filter { !$0.down && !$0.isSelf }.map { Int($0.id) })
    }
}

/// Two replayed broadcast joins once made a node that is down show up in a fresh view: the
/// view's window was new, so the second recording counted. Now a node counts only once it has
/// answered the view's challenge, which a dead node cannot.
@Suite struct FreshnessTests {
    static let second: Int64 = 1_000_000_000

    @Test func aFreshViewListsTheLiveNodesAndNoRecordingOfADeadOne() {
        var net = SealedNetwork()
        // Node 3 starts alone and broadcasts its joins (one a second) while the recorder listens.
        net.start(3, incarnation: 1000, secret: 31)
        net.run(from: 0, to: 3 * Self.second)
        let joins = net.recorded
        #expect(joins.count >= 3, "recorded \(joins.count) joins of node 3")
        net.stop(3)
        net.start(1, incarnation: 1001, secret: 11)
        net.start(2, incarnation: 1001, secret: 21)
        net.run(from: 3 * Self.second, to: 6 * Self.second)
        #expect(net.up(in: 1, now: 6 * Self.second) == [2])
        // A fresh view; the recorder replays node 3's joins, in order, one every 100 ms.
        net.start(0, incarnation: 1002, secret: 1)
        var now = 6 * Self.second
        for bytes in joins {
            net.deliver(bytes, to: SealedNetwork.broadcast, except: nil, now: now)
            net.run(from: now, to: now + Self.second / 10)
            now += Self.second / 10
            #expect(!net.up(in: 0, now: now).contains(3), "a recording of node 3 shows it up")
        }
        net.run(from: now, to: now + 2 * Self.second)
        now += 2 * Self.second
        #expect(net.up(in: 0, now: now) == [1, 2], "the fresh view lists the live nodes")
        #expect(net.up(in: 1, now: now) == [2])
    }

    /// Every member restarting at once still converges: each challenges the others and answers
    /// their challenges.
    @Test func membersThatAllJustStartedProveEachOther() {
        var net = SealedNetwork()
        for id in 1...6 { net.start(id, incarnation: 5000, secret: UInt64(id)) }
        net.start(0, incarnation: 5000, secret: 99)
        net.run(from: 0, to: 3 * Self.second)
        for id in 1...6 { #expect(net.up(in: id, now: 3 * Self.second) == Set(1...6).subtracting([id]), "node \(id)") }
        #expect(net.up(in: 0, now: 3 * Self.second) == Set(1...6))
    }
}
