/// The progress line of a kernel build, from kbuild's short output (`  CC      kernel/fork.o`):
/// what stage it is in and how many objects are done. Pure: feed it lines, read `line`.
public struct BuildProgress: Equatable, Sendable {
    /// Objects compiled so far (CC and AS lines).
    public private(set) var objects = 0
    /// "configuring", "compiling", "linking", "packing the image", "installing modules".
    public private(set) var stage = "configuring"
    /// The last file kbuild named.
    public private(set) var current = ""

    public init() {}

    /// Takes one line of make's output; returns true when the line moved the progress.
    @discardableResult
    public mutating func take(_ line: String) -> Bool {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2, line.hasPrefix("  ") else { return false }
        let verb = String(words[0])
        let target = String(words[words.count - 1])
        switch verb {
        case "CC", "AS", "CC [M]":
            objects += 1
            stage = "compiling"
        case "LD", "AR", "KSYMS", "SORTTAB", "NM", "MODPOST", "LDS":
            if target.hasPrefix("vmlinux") || verb == "MODPOST" { stage = "linking" }
        case "OBJCOPY", "ZSTD22", "ZSTD", "GZIP", "XZKERN", "LZ4", "LZMA", "BUILD", "MKPIGGY", "VOFFSET", "ZOFFSET":
            // The vDSO is objcopied early too; only arch/x86/boot is the image being packed.
            guard target.hasPrefix("arch/x86/boot") else { return false }
            stage = "packing the image"
        case "INSTALL", "DEPMOD", "SIGN", "STRIP":
            stage = "installing modules"
        default:
            return false
        }
        current = target
        return true
    }

    /// `kernel: compiling, 1234 objects (kernel/fork.o)`.
    public var line: String {
        "kernel: \(stage), \(objects) objects" + (current.isEmpty ? "" : " (\(current))")
    }
}
