import AgentSupport
import Foundation
import Glibc
import Testing

@testable import ClusterState

struct AuthenticatorTests {
    static let key = [UInt8](repeating: 7, count: 32)
    static let otherKey = [UInt8](repeating: 9, count: 32)

    func datagram(sequence: UInt32, incarnation: UInt32 = 100, sender: UInt16 = 3) -> Datagram {
        Datagram(sender: sender, address: 0x0A00_0000 | UInt32(sender), incarnation: incarnation, sequence: sequence)
    }

    @Test func forgedDatagramsAreCountedAndDropped() {
        var receiver = Authenticator(key: Self.key)
        let forged = Authenticator(key: Self.otherKey).seal(datagram(sequence: 1))
        #expect(receiver.open(forged) == nil)
        var flipped = Authenticator(key: Self.key).seal(datagram(sequence: 2))
        flipped[5] ^= 1
        #expect(receiver.open(flipped) == nil)
        #expect(receiver.counters.badMAC == 2)
        #expect(receiver.counters.accepted == 0)
    }

    /// Recordings made before a receiver started pass its new window: however many of them, the
    /// sender is not fresh until a datagram echoes the receiver's challenge, and each incarnation
    /// must prove itself again.
    @Test func aSenderIsFreshOnlyOnceItEchoesTheChallenge() {
        let sender = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key, secret: 42)
        for sequence: UInt32 in 1...5 {
            #expect(receiver.open(sender.seal(datagram(sequence: sequence))) != nil)
            #expect(!receiver.fresh, "recording \(sequence) is not fresh")
        }
        let challenge = receiver.challenge
        #expect(challenge != 0)
        // Another number in the cycle field, or the challenge inside a round, proves nothing.
        var wrong = datagram(sequence: 6)
        wrong.cycle = challenge &+ 1
        #expect(receiver.open(sender.seal(wrong)) != nil && !receiver.fresh)
        var inRound = datagram(sequence: 7)
        inRound.cycle = challenge
        inRound.round = 0
        #expect(receiver.open(sender.seal(inRound)) != nil && !receiver.fresh)
        var answer = datagram(sequence: 8)
        answer.cycle = challenge
        #expect(receiver.open(sender.seal(answer)) != nil && receiver.fresh)
        #expect(receiver.open(sender.seal(datagram(sequence: 9))) != nil && receiver.fresh)
        // A restart is a new incarnation, with a challenge of its own.
        #expect(receiver.open(sender.seal(datagram(sequence: 1, incarnation: 101))) != nil && !receiver.fresh)
        #expect(receiver.challenge != challenge)
        var old = answer
        old.incarnation = 101
        old.sequence = 2
        if receiver.challenge != challenge { #expect(receiver.open(sender.seal(old)) != nil && !receiver.fresh) }
        // Another sender, and the same sender at another receiver, get other challenges.
        #expect(receiver.open(sender.seal(datagram(sequence: 1, sender: 4))) != nil && !receiver.fresh)
        var other = Authenticator(key: Self.key, secret: 43)
        _ = other.open(sender.seal(datagram(sequence: 20)))
        #expect(other.challenge != challenge)
    }

    /// Challenges spread over the 16 bits: a recorded answer matches one by chance only.
    @Test func challengesAreSpreadAndNeverZero() {
        var seen = Set<UInt16>()
        for sender in UInt64(1)...4096 {
            let challenge = Authenticator.challenge(secret: 0x1234_5678, sender: sender << 16 | 7, incarnation: 100)
            #expect(challenge != 0)
            seen.insert(challenge)
        }
        // 4,096 draws from 65,535 values leave about 3,970 distinct ones.
        #expect(seen.count > 3_900, "\(seen.count) distinct challenges of 4096")
    }

    @Test func replaysAreCountedAndDropped() {
        let sender = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key)
        let first = sender.seal(datagram(sequence: 10))
        #expect(receiver.open(first) != nil)
        #expect(receiver.open(first) == nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 20))) != nil)
        // Reordered within the window: accepted once.
        let late = sender.seal(datagram(sequence: 15))
        #expect(receiver.open(late) != nil)
        #expect(receiver.open(late) == nil)
        // Too far behind the highest sequence.
        #expect(receiver.open(sender.seal(datagram(sequence: 200))) != nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 100))) == nil)
        #expect(receiver.counters.replayed == 3)
        #expect(receiver.counters.accepted == 4)
    }

    /// A sender numbers every datagram it sends, to anyone: a receiver it rarely sends to has a
    /// window full of holes. A datagram older than the first one this receiver heard (a broadcast
    /// join recorded before it started) must not fill one.
    @Test func aDatagramFromBeforeTheFirstOneHeardIsAReplay() {
        let sender = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key)
        let join = sender.seal(datagram(sequence: 1))
        #expect(receiver.open(sender.seal(datagram(sequence: 6))) != nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 30))) != nil)
        #expect(receiver.open(join) == nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 6))) == nil)
        #expect(receiver.counters.replayed == 2)
    }

    @Test func restartStartsANewWindowAndOldIncarnationsAreReplays() {
        let sender = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key)
        let old = sender.seal(datagram(sequence: 50, incarnation: 100))
        #expect(receiver.open(old) != nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 1, incarnation: 160))) != nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 51, incarnation: 100))) == nil)
        #expect(receiver.counters.replayed == 1)
    }

    @Test func sendersHaveTheirOwnWindows() {
        let sender = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key)
        #expect(receiver.open(sender.seal(datagram(sequence: 1, sender: 1))) != nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 1, sender: 2))) != nil)
    }

    /// A keyless attacker on the LAN replays one recorded view hello from thousands of forged
    /// sources: it is one replay, whatever the source; no window is made per source.
    @Test func aReplayFromForgedSourcesIsStillAReplay() {
        let view = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key)
        let hello = view.seal(Datagram(flags: .observer, sender: 0, address: 0x0A00_00C8, incarnation: 100, sequence: 1))
        #expect(receiver.open(hello, from: 0x0A00_00C8) != nil)
        for source in UInt32(1)...20_000 { #expect(receiver.open(hello, from: 0x0A01_0000 | source) == nil) }
        #expect(receiver.counters.replayed == 20_000)
        #expect(receiver.counters.accepted == 1)
    }

    @Test func aDatagramThatClaimsNoAddressIsMalformed() {
        var receiver = Authenticator(key: Self.key)
        let anonymous = Authenticator(key: Self.key).seal(Datagram(flags: .observer, sender: 0, address: 0, incarnation: 1, sequence: 1))
        #expect(receiver.open(anonymous, from: 0x0A00_0005) == nil)
        #expect(receiver.counters.malformed == 1)
    }

    /// An incarnation far ahead (0xFFFFFFFF) would make the node's real ones look like replays
    /// until it restarted: refused, and the window stays as it was.
    @Test func anIncarnationFarInTheFutureIsRefused() {
        let sender = Authenticator(key: Self.key)
        var receiver = Authenticator(key: Self.key)
        let now: UInt32 = 1_800_000_000
        #expect(receiver.open(sender.seal(datagram(sequence: 5, incarnation: now - 10)), now: now) != nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 1, incarnation: 0xFFFF_FFFF)), now: now) == nil)
        #expect(receiver.open(sender.seal(datagram(sequence: 1, incarnation: now + Authenticator.futureSlack + 1)), now: now) == nil)
        #expect(receiver.counters.future == 2)
        #expect(receiver.open(sender.seal(datagram(sequence: 6, incarnation: now - 10)), now: now) != nil)
        // A clock a few hours off (an RTC in local time) is not the future.
        #expect(receiver.open(sender.seal(datagram(sequence: 1, incarnation: now + 14 * 3600)), now: now) != nil)
    }

    @Test func previousKeyIsAcceptedDuringRotation() {
        var receiver = Authenticator(key: Self.key, previous: Self.otherKey)
        let old = Authenticator(key: Self.otherKey).seal(datagram(sequence: 1))
        #expect(receiver.open(old) != nil)
        #expect(receiver.counters.acceptedPreviousKey == 1)
        // Signing always uses the current key.
        var strict = Authenticator(key: Self.key)
        #expect(strict.open(receiver.seal(datagram(sequence: 2))) != nil)
    }

    /// A drone that has the next epoch's key a moment before this receiver is heard; a rekey keeps
    /// the replay windows, so a datagram heard under the old key is still a replay under the new.
    @Test func nextKeyIsAcceptedAndRekeyingKeepsTheWindows() {
        var receiver = Authenticator(key: Self.key, next: Self.otherKey)
        let early = Authenticator(key: Self.otherKey).seal(datagram(sequence: 1))
        #expect(receiver.open(early) != nil)
        #expect(receiver.counters.acceptedNextKey == 1)
        let recorded = Authenticator(key: Self.key).seal(datagram(sequence: 2))
        #expect(receiver.open(recorded) != nil)
        receiver.rekey(ClusterKeys.Set(current: Self.otherKey, previous: Self.key))
        #expect(receiver.open(recorded) == nil)
        #expect(receiver.counters.replayed == 1)
        #expect(receiver.open(Authenticator(key: Self.key).seal(datagram(sequence: 3))) != nil)
        #expect(receiver.counters.acceptedPreviousKey == 1)
        // The overlap over: the old key is refused, and only the current one signs.
        receiver.rekey(ClusterKeys.Set(current: Self.otherKey))
        #expect(receiver.open(Authenticator(key: Self.key).seal(datagram(sequence: 4))) == nil)
        #expect(receiver.counters.badMAC == 1)
        var strict = Authenticator(key: Self.otherKey)
        #expect(strict.open(receiver.seal(datagram(sequence: 5))) != nil)
    }

    /// The key files a member watches: read again once one of them is replaced, kept when the
    /// current one goes missing.
    @Test func keyFilesAreReadAgainWhenTheyChange() throws {
        let directory = NSTemporaryDirectory() + "clump-keys-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cluster.key"
        try SystemFile.writeAtomically(ClusterKeyFile.contents(of: Self.key), to: path)
        var watch = ClusterKeys.Watch(path)
        #expect(try watch.load() == ClusterKeys.Set(current: Self.key))
        #expect(watch.changed() == nil)
        try SystemFile.writeAtomically(ClusterKeyFile.contents(of: Self.otherKey), to: path + ".next")
        #expect(watch.changed() == ClusterKeys.Set(current: Self.key, next: Self.otherKey))
        #expect(watch.changed() == nil)
        try SystemFile.writeAtomically(ClusterKeyFile.contents(of: Self.key), to: path + ".previous")
        try SystemFile.writeAtomically(ClusterKeyFile.contents(of: Self.otherKey), to: path)
        unlink(path + ".next")
        #expect(watch.changed() == ClusterKeys.Set(current: Self.otherKey, previous: Self.key))
        unlink(path)
        #expect(watch.changed() == nil)
    }

    @Test func framingFailuresAreCounted() {
        var receiver = Authenticator(key: Self.key)
        let good = Authenticator(key: Self.key).seal(datagram(sequence: 1))
        _ = receiver.open(Array(good.prefix(10)))
        _ = receiver.open(good + [0])
        _ = receiver.open([UInt8](repeating: 0, count: 40))
        #expect(receiver.counters.truncated == 1)
        #expect(receiver.counters.oversized == 1)
        #expect(receiver.counters.foreign == 1)
        #expect(receiver.counters.dropped == 3)
    }

    @Test(arguments: [
        ("0001020304050607080900010203040506070809000102030405060708090a0b\n", 32),
        ("short", 0),
        ("not hex but long enough to be a raw key", 39),
    ])
    func keyFiles(contents: String, length: Int) {
        let key = ClusterKeyFile.key(from: Array(contents.utf8))
        #expect((key?.count ?? 0) == length)
    }
}

struct AnnouncerTests {
    @Test(arguments: [("10.77.0.0/24", 0x0A4D_00FF), ("192.168.1.7/16", 0xC0A8_FFFF), ("nonsense", 0xFFFF_FFFF)] as [(String, UInt32)])
    func directedBroadcast(network: String, expected: UInt32) {
        #expect(Announcer.broadcast(network: network) == expected)
    }
}

@Suite struct AuthenticatorClockTests {
    /// A drone whose clock has no real time yet (a flat CMOS battery: the year 2000) still hears
    /// everyone: the future bound needs a clock to measure from.
    @Test func aReceiverWithoutRealTimeBoundsNoIncarnation() {
        let key = [UInt8](repeating: 7, count: 32)
        var receiver = Authenticator(key: key)
        let datagram = Datagram(sender: 3, address: 0x0A00_0003, incarnation: 1_800_000_000, sequence: 1)
        #expect(receiver.open(Authenticator(key: key).seal(datagram), now: 946_684_800) != nil)
    }
}
