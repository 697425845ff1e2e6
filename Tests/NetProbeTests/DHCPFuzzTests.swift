import Foundation
import Testing

@testable import NetProbe

/// A million random and mutated packets through the decoder, the frame parser and the state
/// machine: no crash, no hang. Seeded (a fixed seed), so a crash reproduces on every run.
/// CLUMP_FUZZ_COUNT changes the count.
@Suite struct DHCPFuzzTests {
    static let fixtures = [
        "dnsmasq-offer.hex", "dnsmasq-ack.hex", "dnsmasq-discover-udhcpc.hex", "dnsmasq-rapid-ack.hex",
        "dnsmasq-nak.hex", "clump-discover.hex", "clump-init-reboot-request.hex", "overload-both.hex",
    ]
    static let frames = ["dnsmasq-offer.frame.hex", "clump-renew-request.frame.hex", "dnsmasq-renew-ack.frame.hex"]

    @Test func millionPackets() throws {
        let count = ProcessInfo.processInfo.environment["CLUMP_FUZZ_COUNT"].flatMap { Int($0) } ?? 1_000_000
        let seed: UInt64 = 0xC1_0E9D_4C9F
        var random = DHCPRandom(seed: seed)
        let messages = try Self.fixtures.map { try Fixture.hex($0) }
        // Frames: the captured ones, plus every message wrapped as a server reply to port 68.
        let frames =
            try Self.frames.map { try Fixture.hex($0) }
            + messages.map {
                DHCPFrame.build(payload: $0, sourceMAC: droneMAC, sourcePort: 67, destinationPort: 68)
            }
        var machine = DHCPClientStateMachine(
            configuration: .init(interface: "eth0", mac: droneMAC), random: DHCPRandom(seed: 7))
        _ = machine.start(now: DHCPInstant(milliseconds: 0))

        var decoded = 0
        var parsed = 0
        var slowest: Int64 = 0
        let started = DHCPClock.now()
        for index in 0..<count {
            let isFrame = index % 3 == 2
            let corpus = isFrame ? frames : messages
            var packet: [UInt8]
            if index % 10 == 0 {
                packet = Self.randomBytes(Int.random(in: 0...700, using: &random), &random)
            } else {
                packet = corpus[Int.random(in: 0..<corpus.count, using: &random)]
                Self.mutate(&packet, random: &random)
            }
            let before = DHCPClock.now()
            if isFrame {
                for flag in [false, true] {
                    if let datagram = try? DHCPFrame.parse(packet, checksumNotReady: flag) {
                        parsed += 1
                        _ = try? DHCPMessage(decoding: datagram.payload)
                    }
                }
            } else if let message = try? DHCPMessage(decoding: packet) {
                decoded += 1
                _ = message.encoded()
                _ = message.description
                var reply = message
                reply.xid = machine.xid
                _ = machine.receive(reply, from: droneMAC, now: DHCPInstant(milliseconds: Int64(index)))
            }
            let elapsed = DHCPClock.now().milliseconds - before.milliseconds
            // Reported, not asserted: a busy machine stalls any packet now and then. A decoder
            // that loops forever never gets here, and the run never ends.
            slowest = max(slowest, elapsed)
        }
        let total = DHCPClock.now().milliseconds - started.milliseconds
        // Both paths must have been exercised for real, not only rejected at the first check.
        #expect(decoded > count / 20, "only \(decoded) of \(count) decoded")
        #expect(parsed > count / 100, "only \(parsed) frames parsed")
        print(
            "fuzz: \(count) packets in \(total) ms, \(decoded) decoded, \(parsed) frames parsed, slowest \(slowest) ms")
    }

    static func randomBytes(_ count: Int, _ random: inout DHCPRandom) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = random.next()
            for _ in 0..<8 where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    /// One to four mutations: flip bytes, set a byte to an edge value, truncate, append or
    /// insert random bytes, or overwrite a length byte in the options area.
    static func mutate(_ packet: inout [UInt8], random: inout DHCPRandom) {
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let choice = Int.random(in: 0..<7, using: &random)
            let position = packet.isEmpty ? 0 : Int.random(in: 0..<packet.count, using: &random)
            switch choice {
            case 0 where !packet.isEmpty:
                packet[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1 where !packet.isEmpty:
                packet[position] = [0, 1, 2, 3, 52, 53, 127, 128, 254, 255].randomElement(using: &random) ?? 0
            case 2:
                packet.removeLast(Int.random(in: 0...min(packet.count, 64), using: &random))
            case 3:
                packet += randomBytes(Int.random(in: 1...32, using: &random), &random)
            case 4:
                let bytes = randomBytes(Int.random(in: 1...8, using: &random), &random)
                packet.insert(contentsOf: bytes, at: min(position, packet.count))
            case 5 where packet.count > 241:
                // An options-area byte (often a length) to an extreme.
                packet[Int.random(in: 240..<packet.count, using: &random)] =
                    [0, 1, 255].randomElement(using: &random) ?? 0
            default:
                if !packet.isEmpty { packet[position] = UInt8.random(in: 0...255, using: &random) }
            }
        }
    }
}
