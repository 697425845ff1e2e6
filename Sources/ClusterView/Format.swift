/// Number and column formatting without Foundation (the agent links no Foundation, and
/// `String(format:)` lives there).
enum Format {
    /// `value` with exactly `decimals` digits after the point, rounded half away from zero.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        // Clamped so the conversion cannot trap; no load or percentage comes near.
        let scaled = min((abs(value) * scale).rounded(), 9.0e15)
        let whole = UInt64(scaled)
        let unit = UInt64(scale)
        var text = String(whole / unit)
        if decimals > 0 {
            var fraction = String(whole % unit)
            while fraction.count < decimals { fraction = "0" + fraction }
            text += "." + fraction
        }
        return (negative && whole != 0 ? "-" : "") + text
    }

    /// `text` right-aligned in `width` columns (cut from the left when longer).
    static func right(_ text: String, _ width: Int) -> String {
        if text.count >= width { return String(text.suffix(width)) }
        return String(repeating: " ", count: width - text.count) + text
    }

    /// `text` left-aligned in `width` columns (cut when longer).
    static func left(_ text: String, _ width: Int) -> String {
        if text.count >= width { return String(text.prefix(width)) }
        return text + String(repeating: " ", count: width - text.count)
    }

    /// An age in the largest unit that keeps it short: `0s`, `59s`, `12m`, `5h`, `3d`.
    static func age(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let whole = Int(min(seconds, 1.0e9))
        if whole < 100 { return "\(whole)s" }
        if whole < 60 * 100 { return "\(whole / 60)m" }
        if whole < 3600 * 48 { return "\(whole / 3600)h" }
        return "\(whole / 86400)d"
    }

    /// Memory as `used/total` with the unit of the total: `1.2/3.8G`, `12/16G`, `512/993M`.
    static func memory(usedKiB: UInt64, totalKiB: UInt64) -> String {
        guard totalKiB > 0 else { return "-" }
        let (divisor, unit): (Double, String) =
            totalKiB >= 1 << 20 ? (Double(1 << 20), "G") : totalKiB >= 1 << 10 ? (Double(1 << 10), "M") : (1, "K")
        func short(_ kib: UInt64) -> String {
            let value = Double(kib) / divisor
            return value < 9.95 ? fixed(value, decimals: 1) : fixed(value, decimals: 0)
        }
        return short(usedKiB) + "/" + short(totalKiB) + unit
    }
}
