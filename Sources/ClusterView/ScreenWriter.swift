/// Turns frames into the bytes that bring the terminal from the last frame to the next,
/// sending only what changed: a 115200-baud serial console carries about 11 KB/s, so a full
/// 132x43 repaint (with colours, ~10 KB) every second would saturate it.
///
/// It keeps the frame on screen, the cursor position and the current attributes, and emits
/// for each row the runs that differ, joining runs separated by a few unchanged cells (jumping
/// the cursor costs more than rewriting them). Pure: no I/O, the loop writes the bytes.
public struct ScreenWriter: Sendable {
    /// What the terminal is believed to show; nil forces a full repaint (first frame, resize,
    /// ctrl-L, after another program wrote to the screen).
    private var screen: Frame?
    /// The cursor's cell, when known. After writing into the last column it is not: terminals
    /// differ on the pending wrap.
    private var cursor: (row: Int, column: Int)?
    /// The attributes last sent; nil when unknown.
    private var style: Style?

    /// Gaps of at most this many unchanged cells are rewritten rather than jumped over: a
    /// cursor move (`ESC [ r ; c H`) is 6 to 8 bytes.
    static let joinGap = 6

    public init() {}

    /// Forgets the screen, so the next frame is drawn in full.
    public mutating func invalidate() {
        screen = nil
        cursor = nil
        style = nil
    }

    /// The bytes that update the terminal to `frame`.
    public mutating func update(to frame: Frame) -> [UInt8] {
        var out: [UInt8] = []
        let previous: Frame?
        if let screen, screen.width == frame.width, screen.height == frame.height {
            previous = screen
        } else {
            // Reset attributes, home, clear: a known blank screen to diff against.
            out += Array("\u{1B}[0m\u{1B}[H\u{1B}[2J".utf8)
            style = .plain
            cursor = (0, 0)
            previous = Frame(width: frame.width, height: frame.height)
        }
        guard let previous else { return out }
        for row in 0..<frame.height {
            var x = 0
            while x < frame.width {
                guard differs(previous, frame, row: row, column: x) else {
                    x += 1
                    continue
                }
                // A run: extend while cells differ or an unchanged gap is short.
                var end = x + 1
                var gap = 0
                var scan = x + 1
                while scan < frame.width {
                    if differs(previous, frame, row: row, column: scan) {
                        end = scan + 1
                        gap = 0
                    } else {
                        gap += 1
                        if gap > Self.joinGap { break }
                    }
                    scan += 1
                }
                write(frame, row: row, from: x, to: end, into: &out)
                x = end
            }
        }
        screen = frame
        return out
    }

    private func differs(_ a: Frame, _ b: Frame, row: Int, column: Int) -> Bool {
        let index = row * b.width + column
        return a.characters[index] != b.characters[index] || a.styles[index] != b.styles[index]
    }

    private mutating func write(_ frame: Frame, row: Int, from start: Int, to end: Int, into out: inout [UInt8]) {
        let alreadyThere = cursor.map { $0.row == row && $0.column == start } ?? false
        if !alreadyThere {
            if let cursor, cursor.row == row, cursor.column < start, start - cursor.column <= 3 {
                // Closer than a move: rewrite the cells in between (they are unchanged).
                for column in cursor.column..<start { emit(frame, row: row, column: column, into: &out) }
            } else {
                out += Array("\u{1B}[\(row + 1);\(start + 1)H".utf8)
            }
        }
        for column in start..<end { emit(frame, row: row, column: column, into: &out) }
        cursor = end < frame.width ? (row, end) : nil
    }

    private mutating func emit(_ frame: Frame, row: Int, column: Int, into out: inout [UInt8]) {
        let index = row * frame.width + column
        let cellStyle = frame.styles[index]
        if style != cellStyle {
            out += cellStyle.sgr
            style = cellStyle
        }
        out.append(frame.characters[index])
    }
}
