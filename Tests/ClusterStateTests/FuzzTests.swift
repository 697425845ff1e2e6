import Foundation
import Testing

@testable import ClusterState

/// A million random and mutated datagrams through framing, MAC check and decoding: nothing
/// traps, nothing forged gets in, every drop is counted.
struct FuzzTests {
    /// `count` random bytes, eight from each draw (the fuzz loop's cost is mostly here in debug builds).
    func noise(_ count: Int, _ random: inout SeededRandom) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = random.next()
            for _ in 0..<min(8, count - index) {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    @Test func millionDatagrams() {
        let key = [UInt8](repeating: 0x5A, count: 32)
        let sender = Authenticator(key: key)
        var receiver = Authenticator(key: key)
        var random = SeededRandom(seed: 0xC1_0000)
        var seeds: [[UInt8]] = []
        for index in 0..<16 {
            var datagram = DatagramTests.sample
            datagram.sequence = UInt32(index + 1)
            datagram.entries = Array(repeating: datagram.entries[0], count: index * 7)
            seeds.append(sender.seal(datagram))
        }
        let started = Date()
        let total = 1_000_000
        var accepted = 0
        for round in 0..<total {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:
                bytes = noise(Int.random(in: 0...1500, using: &random), &random)
            case 1:
                // A valid header in front of noise: gets as far as the MAC.
                bytes = Array(seeds[round % 16].prefix(19))
                bytes += noise(Int.random(in: 0...200, using: &random), &random)
            default:
                bytes = seeds[Int.random(in: 0..<16, using: &random)]
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                    case 1 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
                    default: bytes.append(UInt8.random(in: 0...255, using: &random))
                    }
                }
            }
            // A mutation can undo itself (append, then drop the last byte): the seed itself may
            // get in, once; anything else is a forgery.
            if receiver.open(bytes) != nil && !seeds.contains(bytes) { accepted += 1 }
            _ = Datagram.decode(bytes)
        }
        let seconds = Date().timeIntervalSince(started)
        print("fuzz: \(total) datagrams in \(String(format: "%.1f", seconds)) s; counters \(receiver.counters)")
        #expect(accepted == 0)
        #expect(receiver.counters.dropped + receiver.counters.accepted == total)
        #expect(receiver.counters.accepted <= seeds.count)
    }
}
