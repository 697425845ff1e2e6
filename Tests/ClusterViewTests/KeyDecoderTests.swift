import Testing

@testable import ClusterView

@Suite struct KeyDecoderTests {
    static let sequences: [(String, [Key])] = [
        ("\u{1B}[A", [.up]), ("\u{1B}[B", [.down]), ("\u{1B}[C", [.right]), ("\u{1B}[D", [.left]),
        ("\u{1B}OA", [.up]), ("\u{1B}OB", [.down]),  // application cursor mode
        ("\u{1B}[5~", [.pageUp]), ("\u{1B}[6~", [.pageDown]),
        ("\u{1B}[H", [.home]), ("\u{1B}[F", [.end]), ("\u{1B}OH", [.home]), ("\u{1B}OF", [.end]),
        ("\u{1B}[1~", [.home]), ("\u{1B}[4~", [.end]), ("\u{1B}[7~", [.home]), ("\u{1B}[8~", [.end]),
        ("\u{1B}[1;5A", [.up]),  // ctrl-up: modifiers ignored
        ("\u{1B}[8;43;132t", [.sizeReport(rows: 43, columns: 132)]),
        ("\u{1B}[24;80R", [.cursorReport(row: 24, column: 80)]),
        ("\u{1B}[21~", []), ("\u{1B}[[A", []), ("\u{1B}[?1;2c", []),  // F10, Linux VT F1, device attributes
        ("sgq", [.character(0x73), .character(0x67), .character(0x71)]),
        ("\r", [.enter]),
        ("\u{1B}\u{1B}", [.escape]),  // the second ESC waits for the timeout
        ("\u{1B}q", [.escape, .character(0x71)]),
        ("\u{1B}[2\u{1B}[B", [.down]),  // a sequence cut off by another
        ("\u{1B}[1\u{03}x", [.character(0x78)]),  // a control byte aborts a sequence
    ]

    @Test(arguments: sequences)
    func decodesWholeSequences(_ input: String, _ expected: [Key]) {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array(input.utf8)) == expected)
    }

    @Test(arguments: sequences)
    func decodesSequencesSplitIntoSingleBytes(_ input: String, _ expected: [Key]) {
        var decoder = KeyDecoder()
        var keys: [Key] = []
        for byte in input.utf8 { keys += decoder.feed([byte]) }
        #expect(keys == expected)
    }

    @Test func aLoneEscapeIsAKeyOnlyAfterTheTimeout() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x1B]).isEmpty)
        #expect(decoder.isWaiting)
        #expect(decoder.flush() == [.escape])
        #expect(!decoder.isWaiting)
        #expect(decoder.flush().isEmpty)
    }

    @Test func aPartialSequenceIsDroppedAtTheTimeout() {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array("\u{1B}[1;".utf8)).isEmpty)
        #expect(decoder.flush().isEmpty)
        #expect(decoder.feed(Array("q".utf8)) == [.character(0x71)])
    }

    @Test func endlessGarbageDoesNotGrowWithoutBound() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x1B, 0x5B] + [UInt8](repeating: 0x31, count: 10_000)).isEmpty)
        // The final byte ends even an overlong sequence; the next key is a key again.
        #expect(decoder.feed(Array("~q".utf8)) == [.character(0x71)])
        #expect(decoder.feed([0x1B, 0x5B] + [UInt8](repeating: 0x31, count: 100)).isEmpty)
        // So does the escape timeout.
        #expect(decoder.flush().isEmpty)
        #expect(decoder.feed(Array("1".utf8)) == [.character(0x31)])
    }
}
