/// Orders version strings the way `sort -V` and dpkg do, so `6.10` comes after `6.9`.
public enum VersionOrder {
    /// Negative when `a` is older than `b`, zero when equal, positive when newer (dpkg's `verrevcmp`).
    public static func compare(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            // Non-digit runs compare character by character, `~` first, letters before other marks.
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let left = i < a.count ? order(a[i]) : 0
                let right = j < b.count ? order(b[j]) : 0
                if left != right { return left - right }
                i += 1
                j += 1
            }
            while i < a.count, a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count, b[j] == UInt8(ascii: "0") { j += 1 }
            // Digit runs compare as numbers: the longer run wins, else the first differing digit.
            var firstDifference = 0
            while i < a.count, j < b.count, isDigit(a[i]), isDigit(b[j]) {
                if firstDifference == 0 { firstDifference = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.count, isDigit(a[i]) { return 1 }
            if j < b.count, isDigit(b[j]) { return -1 }
            if firstDifference != 0 { return firstDifference }
        }
        return 0
    }

    /// Whether `a` is older than `b`; a sort predicate.
    public static func isOlder(_ a: String, than b: String) -> Bool {
        compare(a, b) < 0
    }

    private static func isDigit(_ c: UInt8) -> Bool {
        c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
    }

    private static func order(_ c: UInt8) -> Int {
        if isDigit(c) { return 0 }
        if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) {
            return Int(c)
        }
        if c == UInt8(ascii: "~") { return -1 }
        return Int(c) + 256
    }
}
