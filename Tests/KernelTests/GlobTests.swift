import Foundation
import Testing

@testable import Kernel

@Suite struct GlobTests {
    static let table: [(String, String, Bool)] = [
        ("pci:v00008086d0000100Esv*sd*bc*sc*i*", "pci:v00008086d0000100Esv00008086sd0000001Ebc02sc00i00", true),
        ("pci:v00008086d0000100Esv*sd*bc*sc*i*", "pci:v00008086d0000100Fsv00008086sd0000001Ebc02sc00i00", false),
        ("usb:v0BDAp8153d[0-2]*dc*", "usb:v0BDAp8153d0100dcFF", true),
        ("usb:v0BDAp8153d[0-2]*dc*", "usb:v0BDAp8153d3000dcFF", false),
        ("a?c", "abc", true), ("a?c", "ac", false), ("*", "", true), ("", "", true), ("", "a", false),
        ("a*", "a", true), ("*a", "ba", true), ("*a*b*c", "xaxbxc", true), ("*a*b*c", "xaxcxb", false),
        ("[!a]x", "bx", true), ("[!a]x", "ax", false), ("[^a]x", "bx", true),
        ("[]]", "]", true), ("[!]]", "a", true), ("[a-]", "-", true), ("[-a]", "-", true),
        ("[[:digit:]]x", "7x", true), ("[[:alpha:]]", "7", false), ("[[:xdigit:]][[:upper:]]", "fA", true),
        ("\\*", "*", true), ("\\*", "a", false), ("a\\", "a\\", false), ("[", "[", true), ("[a", "[a", true),
        ("[a-c]*[x-z]", "b---y", true), ("**x", "x", true), ("a*/b", "a/x/b", true),
        ("acpi*:PNP0C0A:*", "acpi:PNP0C0A:", true), ("acpi*:PNP0C0A:*", "acpiX:PNP0C0B:", false),
    ]

    @Test(arguments: table.indices)
    func matchesLikeFnmatch(_ index: Int) {
        let (pattern, text, expected) = Self.table[index]
        #expect(Glob.matches(pattern, text) == expected, "\(pattern) ~ \(text)")
        // The reference: glibc's fnmatch with flags 0, as modprobe calls it.
        #expect((fnmatch(pattern, text, 0) == 0) == expected, "glibc disagrees with the table: \(pattern) ~ \(text)")
    }

    @Test func randomPatternsAgreeWithGlibc() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        let patternAlphabet = Array("ab*?[]!-c\\^:")
        let textAlphabet = Array("abc-]\\[")
        var disagreements: [String] = []
        for _ in 0..<20_000 {
            let pattern = String((0..<next(8)).map { _ in patternAlphabet[next(patternAlphabet.count)] })
            let text = String((0..<next(7)).map { _ in textAlphabet[next(textAlphabet.count)] })
            let ours = Glob.matches(pattern, text)
            let theirs = fnmatch(pattern, text, 0) == 0
            if ours != theirs { disagreements.append("\(pattern) ~ \(text): ours \(ours), glibc \(theirs)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }
}
