#if canImport(Glibc)
    import Glibc
#endif

/// Runs libarchive work with this thread's locale set to C.UTF-8 (`uselocale`, per thread,
/// so nothing else in the process changes). libarchive converts names through the current
/// locale's character set: under the default "C" locale a name like "café" cannot be
/// converted ("Pathname required" in cpio, an empty Joliet name in ISO 9660). Swift strings
/// are UTF-8, so UTF-8 is the locale that matches them.
enum UTF8Locale {
    static func run<T>(_ body: () throws -> T) rethrows -> T {
        // Only the character type category: LC_CTYPE_MASK is (1 << LC_CTYPE) in glibc.
        guard let utf8 = newlocale(Int32(1) << LC_CTYPE, "C.UTF-8", nil) else { return try body() }
        let previous = uselocale(utf8)
        defer {
            if let previous { uselocale(previous) }
            freelocale(utf8)
        }
        return try body()
    }
}
