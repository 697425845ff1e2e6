/// The code an operator approves a waiting drone by: six digits from the session's secret
/// approval seed (`NoiseXK.approvalSeed`), shown on the drone's console and by serve. Both ends
/// compute it; nobody who only listens on the LAN can, and nobody can choose it, so only someone
/// who reads that console can name that session (another session hits the same code one time in
/// a million, and then approving it is refused as ambiguous).
public enum ApprovalCode {
    /// `482-913` for a seed.
    public static func code(seed: [UInt8]) -> String {
        precondition(seed.count >= 4)
        let value = seed.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % 1_000_000
        let digits = String(value)
        let padded = String(repeating: "0", count: 6 - digits.count) + digits
        return String(padded.prefix(3)) + "-" + String(padded.suffix(3))
    }

    /// A code as typed: `482-913`, `482913` or `482 913`; nil for anything else.
    public static func normalise(_ text: String) -> String? {
        let digits = text.filter { $0 != "-" && $0 != " " }
        guard digits.count == 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return String(digits.prefix(3)) + "-" + String(digits.suffix(3))
    }
}
