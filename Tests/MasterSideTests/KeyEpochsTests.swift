import AgentSupport
import Foundation
import Testing

@testable import MasterSide

/// The key epochs' schedule, with the time given: which keys are in use when, what a revocation
/// and a master that was down do to it, and the file it is kept in.
@Suite struct KeyEpochsTests {
    static let start = 1_800_000_000
    static let day = 86_400

    /// Keys 1, 2, 3, ... in the order they are made.
    final class Keys {
        var made = 0
        func make() -> [UInt8] {
            made += 1
            return [UInt8](repeating: UInt8(made), count: 32)
        }
    }

    static func key(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }

    func advance(_ epochs: inout KeyEpochs, _ now: Int, _ keys: Keys) -> Bool { epochs.advance(at: now, makeKey: keys.make) }

    @Test("a day's epoch: the next key is handed out 10 min ahead, the previous one accepted 10 min after")
    func schedule() {
        let keys = Keys()
        var epochs = KeyEpochs(first: Self.key(0), at: Self.start, length: Self.day)
        #expect(epochs.lead == 600 && epochs.overlap == 600)
        #expect(!advance(&epochs, Self.start + Self.day - 601, keys))
        #expect(epochs.keys(at: Self.start + Self.day - 601) == .init(epoch: 1, current: Self.key(0)))
        #expect(advance(&epochs, Self.start + Self.day - 600, keys))
        #expect(epochs.keys(at: Self.start + Self.day - 600) == .init(epoch: 1, current: Self.key(0), next: Self.key(1)))
        // Nothing more to do until the switch; then epoch 2 is current, and 1 is still accepted a while.
        #expect(!advance(&epochs, Self.start + Self.day - 1, keys))
        #expect(epochs.keys(at: Self.start + Self.day) == .init(epoch: 2, current: Self.key(1), previous: Self.key(0)))
        #expect(!advance(&epochs, Self.start + Self.day + 599, keys))
        #expect(advance(&epochs, Self.start + Self.day + 600, keys))
        #expect(epochs.keys(at: Self.start + Self.day + 600) == .init(epoch: 2, current: Self.key(1)))
        #expect(epochs.epochs.map(\.number) == [2])
        #expect(keys.made == 1)
    }

    @Test("a revocation: a new key at once, used 3 s later, the old one refused 30 s after that; a key handed out before is replaced")
    func revocation() {
        let keys = Keys()
        var epochs = KeyEpochs(first: Self.key(0), at: Self.start, length: Self.day)
        let handedOut = Self.start + Self.day - 100
        _ = epochs.advance(at: handedOut, makeKey: keys.make)
        #expect(epochs.keys(at: handedOut).next == Self.key(1))
        // The node revoked now may hold key 1: it is never used.
        epochs.revoke(at: handedOut + 10, makeKey: keys.make)
        let now = handedOut + 10
        #expect(epochs.keys(at: now) == .init(epoch: 1, current: Self.key(0), next: Self.key(2)))
        let begins = now + KeyEpochs.revocationLead
        #expect(epochs.keys(at: begins) == .init(epoch: 2, current: Self.key(2), previous: Self.key(0)))
        #expect(epochs.keys(at: begins + KeyEpochs.revocationOverlap) == .init(epoch: 2, current: Self.key(2)))
        #expect(!epochs.epochs.contains { $0.key == Self.key(1) })
        // The epoch begun by a revocation lasts a whole epoch from its start (the old one forgotten after its overlap).
        #expect(advance(&epochs, begins + KeyEpochs.revocationOverlap, keys))
        #expect(epochs.epochs.map(\.number) == [2])
        #expect(!advance(&epochs, begins + Self.day - 601, keys))
        #expect(advance(&epochs, begins + Self.day - 600, keys))
        #expect(epochs.keys(at: begins + Self.day) == .init(epoch: 3, current: Self.key(3), previous: Self.key(2)))
    }

    @Test("a master that was down through a switch starts a new epoch shortly, not one in the past")
    func missedSwitch() {
        let keys = Keys()
        var epochs = KeyEpochs(first: Self.key(0), at: Self.start, length: Self.day)
        let back = Self.start + 3 * Self.day
        #expect(advance(&epochs, back, keys))
        #expect(epochs.keys(at: back) == .init(epoch: 1, current: Self.key(0), next: Self.key(1)))
        #expect(epochs.keys(at: back + KeyEpochs.revocationLead).epoch == 2)
    }

    @Test("the file: what it writes it reads; anything else is refused, and serve starts again from the cluster key")
    func file() throws {
        let keys = Keys()
        var epochs = KeyEpochs(first: Self.key(0), at: Self.start, length: Self.day)
        epochs.revoke(at: Self.start + 5, makeKey: keys.make)
        #expect(KeyEpochs.parse(epochs.text, length: Self.day) == epochs)
        #expect(epochs.text.contains("epoch 2 start \(Self.start + 8) overlap 30 key " + Hex.encode(Self.key(1))))
        for broken in ["", "epoch 1 start x overlap 0 key 00", "epoch 2 start 5 overlap 0 key \(Hex.encode(Self.key(1)))\nepoch 1 start 6 overlap 0 key \(Hex.encode(Self.key(1)))"] {
            #expect(KeyEpochs.parse(broken, length: Self.day) == nil, "\(broken)")
        }
        let directory = NSTemporaryDirectory() + "clump-epochs-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = KeyEpochs.Files(directory: directory)
        try files.save(epochs)
        #expect(files.load(first: Self.key(9), at: Self.start + 6, length: Self.day).epochs == epochs)
        try "garbage\n".write(toFile: files.state, atomically: true, encoding: .utf8)
        let (fresh, problem) = files.load(first: Self.key(9), at: Self.start + 6, length: Self.day)
        #expect(fresh.keys(at: Self.start + 6) == .init(epoch: 1, current: Self.key(9)))
        #expect(problem?.contains("unreadable") == true)
    }
}
