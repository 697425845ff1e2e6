import Foundation
import TestSupport
import Testing

@testable import ClusterState

/// A keyless PC on the LAN against three real `clumpnode announce` processes and the master's
/// view, each in its own namespace on one bridge. It records every broadcast from the start,
/// then replays 20,000 copies from forged sources (a raw socket): once, one recorded view hello
/// made each drone answer every forged source, a reflector multiplied by the drones. Then a
/// view opened after a node died must not list it up on that node's recorded joins, and a
/// datagram with a far-future incarnation (which only a key holder could seal) changes nothing.
@Suite(.timeLimit(.minutes(3))) struct ReplayNamespaceTests {
    static let drones = [1, 2, 3]

    @Test func replaysFromForgedSourcesReflectNothingAndShowNoDeadNodeUp() throws {
        guard let net = GossipNetwork.make(nodes: 3) else { return }
        defer { net.remove() }
        for node in Self.drones { try net.acceptAnySource(node) }
        try net.startForger()
        try net.startObserver()
        // Node 3 starts alone, so it broadcasts a join each second: recordings of one incarnation.
        try net.startAnnouncer(3)
        Thread.sleep(forTimeInterval: 2.5)
        try net.startAnnouncer(1)
        try net.startAnnouncer(2)
        let all = Set(Self.drones)
        #expect(net.waitFor(seconds: 10) { net.everyViewSeesUp(all) }, "before the attack: \(net.diagnosis())")

        // A quiet 10 s (the forger goes on recording: view hellos, nothing else is broadcast).
        let quietStart = try Self.drones.map { try net.transmitted(by: $0) }
        Thread.sleep(forTimeInterval: 10)
        let quiet = try zip(Self.drones, quietStart).map { try net.transmitted(by: $0) - $1 }

        // 10 s of replays: 20,000 copies of what was recorded, from forged sources on and off
        // the LAN, to the broadcast address (where their MACs hold) and to each drone.
        let recordings = net.recordings()
        #expect(recordings.count >= 10, "recorded \(recordings.count) datagrams")
        let attackStart = try Self.drones.map { try net.transmitted(by: $0) }
        let began = Date()
        let copies = 20_000
        for copy in 0..<copies {
            let source: UInt32 = copy % 2 == 0 ? 0xCB00_7100 | UInt32(copy % 250 + 1) : 0x0A4D_0000 | UInt32(copy % 90 + 100)
            let destination: UInt32 = copy % 4 == 0 ? 0x0A4D_0000 | UInt32(copy % 3 + 1) : 0x0A4D_00FF
            net.sendSpoofed(recordings[copy % recordings.count], from: source, to: destination)
            // 2,000 a second.
            if copy % 200 == 199 {
                let due = began.addingTimeInterval(Double(copy + 1) / 2000)
                if due > Date() { Thread.sleep(until: due) }
            }
        }
        Thread.sleep(until: began.addingTimeInterval(10))
        let attacked = try zip(Self.drones, attackStart).map { try net.transmitted(by: $0) - $1 }
        print("replay: drones sent \(quiet) packets in a quiet 10 s, \(attacked) in 10 s of \(copies) replays")
        for (index, node) in Self.drones.enumerated() {
            #expect(
                Double(attacked[index]) <= 1.5 * Double(quiet[index]),
                "node \(node) sent \(attacked[index]) packets under replay, \(quiet[index]) in quiet")
        }
        #expect(net.everyViewSeesUp(all), "after the replays: \(net.diagnosis())")
        #expect(net.observerCounters().replayed > copies / 4, "observer counters \(net.observerCounters())")

        // Node 3 dies; a view opened now hears its recorded joins again and again, from forged sources.
        net.stop([3])
        #expect(net.waitFor(seconds: 10) { net.everyViewSeesDown([3], up: [1, 2]) }, "node 3 down: \(net.diagnosis())")
        let joins = recordings.filter {
            guard case .success(let datagram) = Datagram.decode($0) else { return false }
            return datagram.sender == 3 && datagram.flags.contains(.join)
        }
        #expect(joins.count >= 2, "recorded \(joins.count) joins of node 3")
        try net.startFreshView()
        var shownUp: [Double] = []
        var listedAfter: Double?
        let opened = Date()
        for repeat_ in 0..<30 {
            for (index, bytes) in joins.enumerated() {
                net.sendSpoofed(bytes, from: 0x0A4D_0000 | UInt32(100 + index + repeat_), to: 0x0A4D_00FF)
            }
            Thread.sleep(forTimeInterval: 0.1)
            let up = net.freshViewUp()
            if up.contains(3) { shownUp.append(Date().timeIntervalSince(opened)) }
            if listedAfter == nil && up.isSuperset(of: [1, 2]) { listedAfter = Date().timeIntervalSince(opened) }
        }
        #expect(shownUp.isEmpty, "the fresh view showed dead node 3 up at \(shownUp.prefix(5)) s")
        let listed = net.waitFor(seconds: 5) { net.freshViewUp() == [1, 2] }
        print(
            "fresh view: lists nodes 1 and 2 after \(listedAfter.map { String(format: "%.1f", $0) } ?? "more than 3") s,"
                + " node 3 up in \(shownUp.count) of 30 checks under its replayed joins")
        #expect(listed, "the fresh view lists \(net.freshViewUp().sorted()), not [1, 2]")

        // A far-future incarnation for node 1, sealed with the key: refused everywhere.
        var load = NodeLoad()
        load.configuration = .configured
        let future = Datagram(
            sender: 1, address: 0x0A4D_0001, incarnation: UInt32.max, sequence: 1,
            entries: [Datagram.Entry(id: 1, age20: 0, load: load)])
        let before = net.observerCounters().future
        net.sendSpoofed(try net.sealed(future, to: 0x0A4D_00FF), from: 0x0A4D_00C9, to: 0x0A4D_00FF)
        Thread.sleep(forTimeInterval: 4)
        #expect(net.observerCounters().future == before + 1, "observer counters \(net.observerCounters())")
        #expect(net.everyViewSeesDown([3], up: [1, 2]), "after the far-future incarnation: \(net.diagnosis())")
        #expect(net.freshViewUp() == [1, 2])
    }
}
