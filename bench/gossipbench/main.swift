import ClusterState
import Glibc

// Simulates the announcements (the `Membership` state machine the drones run: all-gather cycles,
// repairs, probes, joins, view feeds) for a cluster of N nodes and one view on a single LAN, with
// a simulated clock (10 ms steps; a hop takes no time) and random loss, and prints information
// age, discovery and failure detection times, and traffic per node.
// Usage: gossipbench N [loss-percent] [seconds]; GOSSIP_DEBUG=1 adds traffic by kind and every
// false down.


let arguments = CommandLine.arguments
guard arguments.count >= 2, let count = Int(arguments[1]), count >= 3, count <= 65535 else {
    print("usage: gossipbench N [loss-percent] [seconds]")
    exit(2)
}
let loss = arguments.count > 2 ? Double(arguments[2]) ?? 0 : 0
let measured = arguments.count > 3 ? Int64(arguments[3]) ?? 20 : 20
let second: Int64 = 1_000_000_000
let step: Int64 = 10_000_000
let base: UInt32 = 0x0A00_0000
let roster = Roster.range(first: 1, address: base | 1, count: count)
let viewAddress: UInt32 = 0xC0A8_0001
var random = SeededRandom(seed: 42)

// Node index i has id i+1 and address base+i+1; index `count` is the view. The newcomer (the
// last node) and the node that dies (the first) are chosen here.
// GOSSIP_CYCLE_MS, GOSSIP_BUDGET and GOSSIP_DETAILS_EVERY override the defaults, to compare settings.
var config = Membership.Config()
@MainActor func setting(_ name: String) -> Int? { getenv(name).flatMap { Int(String(cString: $0)) } }
if let value = setting("GOSSIP_CYCLE_MS") { config.cycle = Int64(value) * 1_000_000 }
if let value = setting("GOSSIP_BUDGET") { config.budget = value }
if let value = setting("GOSSIP_DETAILS_EVERY") { config.detailsEvery = UInt16(value) }
var members: [Membership] = (0..<count).map {
    Membership(config: config, roster: roster, id: UInt16($0 + 1), address: base | UInt32($0 + 1), incarnation: 1)
}
members.append(Membership(config: config, roster: roster, id: 0, address: viewAddress, incarnation: 1))
let view = count
let newcomer = count - 1
let victim = 0
var running = [Bool](repeating: true, count: count + 1)
running[newcomer] = false
// Nodes (and the view) start at random times within the first 2 s.
var startAt: [Int64] = (0...count).map { _ in Int64.random(in: 0..<(2 * second), using: &random) }
for index in 0..<count {
    var load = NodeLoad()
    load.load100 = UInt16(index % 400)
    members[index].update(own: load)
}
@MainActor func index(of address: UInt32) -> Int? {
    if address == viewAddress { return view }
    let value = Int(address - base) - 1
    return value >= 0 && value < count ? value : nil
}

var sentBytes = 0
var sentDatagrams = 0
var queue: [(from: Int, send: Membership.Send)] = []
var kinds: [String: (count: Int, bytes: Int)] = [:]
let debugging = getenv("GOSSIP_DEBUG") != nil
@MainActor func kind(_ datagram: Datagram) -> String {
    if datagram.flags.contains(.probe) { return "probe" }
    if datagram.flags.contains(.repair) { return "repair" }
    if datagram.flags.contains(.join) { return "join" }
    if datagram.flags.contains(.observer) { return "hello" }
    if datagram.round != Datagram.noRound { return "round" }
    return datagram.entries.count > 1 ? "table" : "answer"
}

@MainActor func deliver(_ now: Int64) {
    var position = 0
    while position < queue.count {
        let (from, send) = queue[position]
        position += 1
        let size = send.datagram.size
        sentBytes += size
        sentDatagrams += 1
        if debugging {
            let name = kind(send.datagram)
            kinds[name, default: (0, 0)].count += 1
            kinds[name, default: (0, 0)].bytes += size
        }
        var receivers: [Int] = []
        switch send.destination {
        case .broadcast: receivers = (0...count).filter { $0 != from }
        case .unicast(let address): if let target = index(of: address) { receivers = [target] }
        }
        // A node that has not started yet has no socket.
        for receiver in receivers where running[receiver] && startAt[receiver] <= now {
            if loss > 0 && Double.random(in: 0..<100, using: &random) < loss { continue }
            let source = members[from].address
            for answer in members[receiver].receive(send.datagram, from: source, now: now, random: &random) {
                queue.append((receiver, answer))
            }
        }
    }
    queue.removeAll(keepingCapacity: true)
}

@MainActor func run(until end: Int64, from start: Int64, every: (Int64) -> Void) {
    var now = start
    while now < end {
        for index in 0...count where running[index] && startAt[index] <= now && members[index].nextWake <= now {
            for send in members[index].tick(now: now, random: &random) { queue.append((index, send)) }
            deliver(now)
        }
        every(now)
        now += step
    }
}

/// How many running nodes (and whether the view) know `target` with information from `since` on.
@MainActor func knowing(_ target: Int, since: Int64) -> (nodes: Int, view: Bool) {
    var nodes = 0
    for index in 0..<count where running[index] && index != target {
        if let known = members[index].table[target], known.stamp >= since { nodes += 1 }
    }
    let seen = members[view].table[target].map { $0.stamp >= since } ?? false
    return (nodes, seen)
}

@MainActor func formatted(_ nanoseconds: Int64?) -> String {
    guard let nanoseconds else { return "never" }
    let tenths = (nanoseconds + 50_000_000) / 100_000_000
    return "\(tenths / 10).\(tenths % 10) s"
}

// 1. Warm-up: every node but the newcomer starts within 2 s and the tables fill; three cycles
// more let the ranks of big clusters (long cycles) agree.
var now: Int64 = 0
let warmUp = 10 * second + 3 * config.cycleLength(nodes: count - 1)
run(until: warmUp, from: now) { _ in }
now = warmUp
if debugging {
    for index in [0, 1, count / 2, view] {
        let known = members[index].table.filter { $0 != nil }.count
        if count < 10 { print("debug: member \(index) table \(members[index].table.enumerated().compactMap { $0.element == nil ? nil : "\($0.offset + 1)@\((now - $0.element!.stamp) / 1_000_000)" })") }
        print("debug: member \(index) knows \(known), cycle length \(members[index].cycleLength), wake \(members[index].nextWake - now)")
    }
    print("debug: sent \(sentDatagrams) datagrams, \(sentBytes) bytes")
}

// 2. Steady state: information age over every (node, node) pair, sampled each second; traffic.
var ageSum = 0.0
var ageSamples = 0
var maxAge: Int64 = 0
var falseDowns = 0
let bytesBefore = sentBytes
kinds = [:]
let measureStart = now
run(until: now + measured * second, from: now) { time in
    guard (time - measureStart) % second == 0 else { return }
    let observers = Array(0..<count).filter { running[$0] } + [view]
    for observer in observers {
        let member = members[observer]
        for slot in 0..<count where running[slot] && slot != observer {
            guard let known = member.table[slot] else {
                if debugging { print("debug: false down at \(time / 1_000_000) ms: \(observer) never heard of \(slot)") }
                falseDowns += 1
                continue
            }
            let age = time - known.stamp
            ageSum += Double(age)
            ageSamples += 1
            maxAge = max(maxAge, age)
            if age > member.downAfter {
                falseDowns += 1
                if debugging { print("debug: false down at \(time / 1_000_000) ms: \(observer) sees \(slot) \(age / 1_000_000) ms old; \(member.counters)") }
            }
        }
    }
}
now += measured * second
let bytesPerNode = Double(sentBytes - bytesBefore) / Double(count - 1) / Double(measured)
if debugging {
    for (name, value) in kinds.sorted(by: { $0.key < $1.key }) {
        print("debug: \(name): \(value.count) datagrams, \(value.bytes / (count - 1) / Int(measured)) B/node/s")
    }
}

// 3. A newcomer boots: time until 99 % of the nodes, and the view, know it.
running[newcomer] = true
startAt[newcomer] = now
let joined = now
var known99: Int64?
var knownView: Int64?
run(until: now + 15 * second, from: now) { time in
    let (nodes, seen) = knowing(newcomer, since: joined)
    if known99 == nil && nodes * 100 >= (count - 1) * 99 { known99 = time - joined }
    if knownView == nil && seen { knownView = time - joined }
}
now += 15 * second

// 4. A node dies: time until 99 % of the nodes, and the view, mark it down.
running[victim] = false
let died = now
var down99: Int64?
var downView: Int64?
run(until: now + 15 * second, from: now) { time in
    var down = 0
    for index in 0..<count where running[index] {
        if let known = members[index].table[victim], time - known.stamp <= members[index].downAfter { continue }
        down += 1
    }
    let viewDown = members[view].table[victim].map { time - $0.stamp > members[view].downAfter } ?? true
    if down99 == nil && down * 100 >= (count - 1) * 99 { down99 = time - died }
    if downView == nil && viewDown { downView = time - died }
}

let average = ageSamples == 0 ? 0 : Int64(ageSum / Double(ageSamples))
let lossText = loss == 0 ? "0 %" : "\(Int(loss)) %"
print(
    "| \(count) | \(lossText) | \(formatted(average)) | \(formatted(maxAge)) | \(formatted(known99)) | \(formatted(knownView))"
        + " | \(formatted(down99)) | \(formatted(downView)) | \(falseDowns) | \(Int(bytesPerNode)) |")
