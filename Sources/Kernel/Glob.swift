/// fnmatch(3)-style matching with flags 0, which is what modprobe uses to compare a device's
/// modalias with the patterns of modules.alias (kmod, libkmod-index.c / libkmod-module.c).
///
/// `*` matches any run of bytes (including '/', since FNM_PATHNAME is not set), `?` any one
/// byte, `[...]` a set with ranges (`a-f`), negation (`!` or `^`), a leading `]` as a literal
/// and the POSIX classes `[:alpha:]` & co; `\` quotes the next byte (a pattern ending in a lone
/// `\` matches nothing, as in glibc). A `[` without a closing `]` is an ordinary byte.
/// Matching is over bytes: aliases are ASCII.
public enum Glob {
    /// True if `text` matches the whole `pattern`.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        var pattern = pattern
        var text = text
        return pattern.withUTF8 { p in text.withUTF8 { t in matches(p, t) } }
    }

    /// Byte version of `matches(_:_:)`.
    static func matches(_ pattern: UnsafeBufferPointer<UInt8>, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0
        var t = 0
        // The position after the last '*' and the text position it currently stands for: on a
        // mismatch the star swallows one more byte and matching resumes there. One backtrack
        // point is enough because a later star can always absorb what an earlier one would.
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < pattern.count {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
                    if p == pattern.count { return true }
                    starP = p
                    starT = t
                    continue
                case UInt8(ascii: "?"):
                    p += 1
                    t += 1
                    continue
                case UInt8(ascii: "["):
                    if let (matched, next) = matchSet(pattern, from: p, byte: text[t]) {
                        if matched {
                            p = next
                            t += 1
                            continue
                        }
                    } else if text[t] == UInt8(ascii: "[") {
                        p += 1
                        t += 1
                        continue
                    }
                case UInt8(ascii: "\\"):
                    // A lone trailing backslash makes the pattern invalid: glibc never matches it.
                    if p + 1 == pattern.count { return false }
                    if pattern[p + 1] == text[t] {
                        p += 2
                        t += 1
                        continue
                    }
                case let byte:
                    if byte == text[t] {
                        p += 1
                        t += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            starT += 1
            t = starT
            p = starP
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Matches `byte` against the set starting at `pattern[start] == '['`. Returns whether it
    /// matched and the index after the closing ']', or nil if the set is never closed.
    private static func matchSet(_ pattern: UnsafeBufferPointer<UInt8>, from start: Int, byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.count && (pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^")) {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.count {
            var low = pattern[i]
            if low == UInt8(ascii: "]") && !first { return (matched != negate, i + 1) }
            first = false
            if low == UInt8(ascii: "[") && i + 1 < pattern.count && pattern[i + 1] == UInt8(ascii: ":") {
                if let (name, next) = className(pattern, from: i + 2) {
                    if classContains(name, byte) { matched = true }
                    i = next
                    continue
                }
            }
            if low == UInt8(ascii: "\\") && i + 1 < pattern.count {
                i += 1
                low = pattern[i]
            }
            i += 1
            var high = low
            if i + 1 < pattern.count && pattern[i] == UInt8(ascii: "-") && pattern[i + 1] != UInt8(ascii: "]") {
                high = pattern[i + 1]
                if high == UInt8(ascii: "\\") && i + 2 < pattern.count {
                    i += 1
                    high = pattern[i + 1]
                }
                i += 2
            }
            if low <= byte && byte <= high { matched = true }
        }
        return nil
    }

    /// Reads "name:]" starting at `start`; returns the class name and the index after "]".
    private static func className(_ pattern: UnsafeBufferPointer<UInt8>, from start: Int) -> (String, Int)? {
        var i = start
        while i + 1 < pattern.count {
            if pattern[i] == UInt8(ascii: ":") && pattern[i + 1] == UInt8(ascii: "]") {
                return (String(decoding: pattern[start..<i], as: UTF8.self), i + 2)
            }
            i += 1
        }
        return nil
    }

    private static func classContains(_ name: String, _ byte: UInt8) -> Bool {
        let isUpper = byte >= 65 && byte <= 90
        let isLower = byte >= 97 && byte <= 122
        let isDigit = byte >= 48 && byte <= 57
        switch name {
        case "alpha": return isUpper || isLower
        case "digit": return isDigit
        case "alnum": return isUpper || isLower || isDigit
        case "upper": return isUpper
        case "lower": return isLower
        case "xdigit": return isDigit || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
        case "space": return byte == 32 || (byte >= 9 && byte <= 13)
        case "blank": return byte == 32 || byte == 9
        case "punct": return byte > 32 && byte < 127 && !(isUpper || isLower || isDigit)
        case "print": return byte >= 32 && byte < 127
        case "graph": return byte > 32 && byte < 127
        case "cntrl": return byte < 32 || byte == 127
        default: return false
        }
    }
}
