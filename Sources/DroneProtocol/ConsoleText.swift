/// Text that came from another host (a DHCP server's host name or root path, an NFS tree, an
/// announcement) as the console may show it: printable ASCII only and bounded, so a PC on the
/// LAN cannot send terminal escapes (clear the screen, retitle it, rewrite earlier lines) to every
/// drone's console, nor flood it with one line.
public enum ConsoleText {
    /// `text` with every byte outside printable ASCII (0x20-0x7E) shown as `?`, cut at `limit`
    /// characters with `...`.
    public static func printable(_ text: some StringProtocol, limit: Int = 200) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit { return out + "..." }
            out.unicodeScalars.append(scalar.value >= 0x20 && scalar.value < 0x7F ? scalar : "?")
            count += 1
        }
        return out
    }
}
