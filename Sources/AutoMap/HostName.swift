/// Host name rules (RFC 1123 section 2.1 on RFC 952), for map lines, DHCP option 12 and /etc/hostname.
public enum HostName {
    /// Dot-separated labels of 1-63 letters, digits and '-', not starting or ending with '-',
    /// at most 253 characters; the last label is not all digits, so a name never reads as a dotted quad.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
            else { return false }
            for byte in label where !(isAlphanumeric(byte) || byte == UInt8(ascii: "-")) { return false }
        }
        guard let last = labels.last, !last.allSatisfy(isDigit) else { return false }
        return true
    }

    static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
}
