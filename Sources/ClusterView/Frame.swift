/// The attributes of one screen cell, packed in a byte so a frame diffs byte by byte.
/// Only what every target draws: the eight ANSI colours, bold and reverse video (the Linux VT,
/// a serial terminal and any emulator agree on those; 256 colours and italics they do not).
public struct Style: Equatable, Hashable, Sendable {
    /// Bits 0-2: colour (0 is the terminal's default); bit 3: bold; bit 4: reverse.
    public var bits: UInt8

    public init(bits: UInt8) { self.bits = bits & 0x1F }

    public init(_ colour: Colour = .normal, bold: Bool = false, reverse: Bool = false) {
        bits = colour.rawValue | (bold ? 0x08 : 0) | (reverse ? 0x10 : 0)
    }

    public static let plain = Style()

    public var colour: Colour { Colour(rawValue: bits & 0x07) ?? .normal }
    public var isBold: Bool { bits & 0x08 != 0 }
    public var isReverse: Bool { bits & 0x10 != 0 }

    /// The foreground colours, numbered as SGR 30-37 less 30, except that 0 means the default.
    public enum Colour: UInt8, Sendable, CaseIterable {
        case normal = 0
        case red, green, yellow, blue, magenta, cyan, white

        /// SGR foreground parameter.
        var sgr: Int { self == .normal ? 39 : 30 + Int(rawValue) }
    }

    /// The SGR sequence that sets exactly this style from any other.
    var sgr: [UInt8] {
        var text = "\u{1B}[0"
        if isBold { text += ";1" }
        if isReverse { text += ";7" }
        if colour != .normal { text += ";\(colour.sgr)" }
        return Array((text + "m").utf8)
    }

    /// One character per style for snapshot files: colour letters (`.` default), capital when
    /// bold; under reverse video the digits 0-7, or `!@#$%^&*` when bold as well.
    var code: Character {
        let table: [Character]
        switch (isReverse, isBold) {
        case (false, false): table = Array(".rgybmcw")
        case (false, true): table = Array("_RGYBMCW")
        case (true, false): table = Array("01234567")
        case (true, true): table = Array("!@#$%^&*")
        }
        return table[Int(colour.rawValue)]
    }
}

/// A screen's worth of cells: one ASCII byte and one style each. Everything drawn is ASCII:
/// a serial console or the VT's default font has no box or block glyphs to rely on, and one
/// byte per column keeps widths exact.
public struct Frame: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// Row-major characters, `width * height`.
    public private(set) var characters: [UInt8]
    /// Row-major styles, `width * height`.
    public private(set) var styles: [Style]

    public init(width: Int, height: Int) {
        self.width = max(width, 0)
        self.height = max(height, 0)
        characters = [UInt8](repeating: 0x20, count: self.width * self.height)
        styles = [Style](repeating: .plain, count: self.width * self.height)
    }

    /// Writes `text` at row, column, clipped to the frame; other characters than printable
    /// ASCII become `?` (node names come from the network and must not reach the terminal raw).
    public mutating func put(_ text: String, row: Int, column: Int, style: Style = .plain) {
        guard row >= 0, row < height else { return }
        var x = column
        for byte in text.utf8 {
            // A multi-byte UTF-8 sequence counts once: continuation bytes take no column.
            if byte & 0xC0 == 0x80 { continue }
            if x >= width { break }
            if x >= 0 {
                characters[row * width + x] = (byte >= 0x20 && byte < 0x7F) ? byte : UInt8(ascii: "?")
                styles[row * width + x] = style
            }
            x += 1
        }
    }

    /// Sets the style of `count` cells from row, column (a highlighted row, a bar).
    public mutating func paint(row: Int, column: Int, count: Int, style: Style) {
        guard row >= 0, row < height else { return }
        for x in max(column, 0)..<max(min(column + count, width), max(column, 0)) {
            styles[row * width + x] = style
        }
    }

    /// Row `row` as text, trailing blanks kept.
    public func text(row: Int) -> String {
        String(decoding: characters[(row * width)..<((row + 1) * width)], as: UTF8.self)
    }

    /// Every row as text, trailing blanks removed (what a person or `capture-pane` reads).
    public var lines: [String] {
        (0..<height).map { row in
            var line = text(row: row)
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// The frame as a snapshot file: the text, then the same grid with one style code per
    /// cell (see `Style.code`), so a colour change shows in a diff as plainly as a text change.
    public var snapshot: String {
        var out = "size \(width)x\(height)\n"
        for row in 0..<height { out += "|" + text(row: row) + "|\n" }
        out += "styles (. default, rgybmcw colours, capitals bold, 0-7 reverse, !@#$%^&* reverse bold)\n"
        for row in 0..<height {
            var line = "|"
            for x in 0..<width { line.append(styles[row * width + x].code) }
            out += line + "|\n"
        }
        return out
    }
}
