/// Decodes the bytes a terminal sends into keys.
///
/// A lone ESC and the start of a sequence (`ESC [ A`) begin with the same byte; the only way
/// to tell them apart is time: a terminal sends a sequence in one write, a person presses ESC
/// alone. So `feed` holds a trailing ESC (or an unfinished sequence) back, and the loop calls
/// `flush` when nothing more came within `KeyDecoder.escapeTimeoutMilliseconds`.
///
/// Handles CSI (`ESC [` params final) and SS3 (`ESC O` final, the application cursor mode some
/// consoles use), the VT/xterm/rxvt spellings of Home/End/PgUp/PgDn, and the replies to the
/// size queries (`CSI 8;rows;cols t`, `CSI row;col R`). Unknown sequences are swallowed whole,
/// never read as letters (`ESC [ 2 1 ~` must not type `2`, `1`, `~`).
public struct KeyDecoder: Sendable {
    /// How long a lone ESC waits for the rest of a sequence. Short enough that ESC feels
    /// immediate; long enough for a sequence split across a 9600-baud line's bytes.
    public static let escapeTimeoutMilliseconds: Int32 = 60

    /// Bytes of an unfinished escape sequence (starting with ESC), or empty.
    private var pending: [UInt8] = []
    /// Inside an overlong sequence: bytes are dropped up to its final byte.
    private var discarding = false

    /// Longest sequence kept; anything longer is garbage and dropped.
    static let maximumSequence = 32

    public init() {}

    /// True when a lone ESC or a partial sequence waits for more bytes (the loop then polls
    /// with the escape timeout).
    public var isWaiting: Bool { !pending.isEmpty || discarding }

    /// Decodes `bytes`, returning every complete key.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Key] where Bytes.Element == UInt8 {
        var keys: [Key] = []
        for byte in bytes {
            if discarding {
                // Up to and including the final byte, or a control byte that aborts it.
                if byte >= 0x40 || byte < 0x20 { discarding = false }
                if byte != 0x1B { continue }
            }
            if pending.isEmpty {
                if byte == 0x1B {
                    pending = [byte]
                } else {
                    keys.append(plain(byte))
                }
                continue
            }
            if byte == 0x1B && pending.count >= 2 {
                // A new ESC inside a sequence: the partial one was cut off; start afresh.
                pending = [byte]
                continue
            }
            pending.append(byte)
            switch step() {
            case .incomplete:
                if pending.count > Self.maximumSequence {
                    pending = []
                    discarding = true
                }
            case .done(let key):
                pending = []
                if let key { keys.append(key) }
            case .escapeThen(let next):
                // ESC followed by something that starts no sequence: the ESC was a key of its
                // own (pressed twice, or ESC then a letter); decode the next byte afresh.
                pending = []
                keys.append(.escape)
                keys += feed([next])
            }
        }
        return keys
    }

    /// The wait for more bytes is over: a held ESC is the ESC key; a partial sequence is dropped.
    public mutating func flush() -> [Key] {
        defer {
            pending = []
            discarding = false
        }
        return pending == [0x1B] ? [.escape] : []
    }

    private enum Step {
        case incomplete
        case done(Key?)
        case escapeThen(UInt8)
    }

    private func plain(_ byte: UInt8) -> Key {
        switch byte {
        case 0x0D, 0x0A: return .enter
        default: return .character(byte)
        }
    }

    /// Looks at `pending` (ESC plus at least one byte).
    private func step() -> Step {
        let introducer = pending[1]
        if pending.count == 2 {
            if introducer == UInt8(ascii: "[") || introducer == UInt8(ascii: "O") { return .incomplete }
            return .escapeThen(introducer)
        }
        let last = pending[pending.count - 1]
        if introducer == UInt8(ascii: "O") {
            // SS3: one final byte.
            return .done(final(last, parameters: []))
        }
        // rxvt's ESC [ [ A (F1-F5 on the Linux VT): '[' would be a final, so it is special-cased.
        if pending[2] == UInt8(ascii: "[") { return pending.count == 3 ? .incomplete : .done(nil) }
        // CSI: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, then a final 0x40-0x7E (ECMA-48 5.4).
        if last >= 0x20 && last <= 0x3F { return .incomplete }
        guard last >= 0x40 && last <= 0x7E else {
            // A control byte inside a sequence aborts it (ECMA-48).
            return .done(nil)
        }
        return .done(final(last, parameters: numbers(pending[2..<(pending.count - 1)])))
    }

    private func numbers(_ bytes: ArraySlice<UInt8>) -> [Int] {
        var result: [Int] = []
        var current = 0
        var any = false
        for byte in bytes {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                current = min(current * 10 + Int(byte - UInt8(ascii: "0")), 100_000)
                any = true
            } else if byte == UInt8(ascii: ";") {
                result.append(any ? current : 0)
                current = 0
                any = false
            }
        }
        result.append(any ? current : 0)
        return result
    }

    private func final(_ byte: UInt8, parameters: [Int]) -> Key? {
        switch byte {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return .right
        case UInt8(ascii: "D"): return .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "t"):
            if parameters.count == 3 && parameters[0] == 8 {
                return .sizeReport(rows: parameters[1], columns: parameters[2])
            }
            return nil
        case UInt8(ascii: "R"):
            // Also Shift-F3 in some terminals (CSI 1;2R); the loop only believes it while it
            // waits for its own query.
            if parameters.count == 2 { return .cursorReport(row: parameters[0], column: parameters[1]) }
            return nil
        case UInt8(ascii: "~"):
            switch parameters.first ?? 0 {
            case 1, 7: return .home  // VT220 Find / rxvt Home
            case 4, 8: return .end  // VT220 Select / rxvt End
            case 5: return .pageUp
            case 6: return .pageDown
            default: return nil
            }
        default: return nil
        }
    }
}
