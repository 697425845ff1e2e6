/// `/etc/ld.so.conf` (ldconfig(8)): the directories whose libraries go into ld.so.cache.
///
/// An image has no ld.so.cache, so instead of reading the cache we search these directories
/// in file order, which is the order ldconfig gives them priority in.
public enum LdSoConf {
    /// One line's meaning.
    public enum Line: Equatable, Sendable {
        case directory(String)
        /// `include PATTERN`: glob(3) patterns, relative to the including file's directory.
        case include(String)
    }

    /// Parses one file's text: `#` comments, `include` lines, `hwcap` lines (ignored, long
    /// obsolete) and directories, several per line separated by blanks, ':' or ','. A
    /// directory may carry a libc5-era `=TYPE` suffix, which is dropped.
    public static func parse(_ text: String) -> [Line] {
        var lines: [Line] = []
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first else { continue }
            if first == "include" {
                lines += words.dropFirst().map { .include(String($0)) }
            } else if first == "hwcap" {
                continue
            } else {
                for word in line.split(whereSeparator: { " \t:,".contains($0) }) {
                    let directory = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                    if !directory.isEmpty { lines.append(.directory(directory)) }
                }
            }
        }
        return lines
    }

    /// All directories listed by `<root>/etc/ld.so.conf` and the files it includes, in order,
    /// each once. A missing ld.so.conf is not an error (static-only systems have none).
    public static func directories(root: String = "/", file: String = "/etc/ld.so.conf") throws -> [String] {
        let fs = RootedFileSystem(root: root)
        var result: [String] = []
        var seenFiles: Set<String> = []
        try collect(file, fs: fs, depth: 0, seenFiles: &seenFiles, into: &result)
        var seen: Set<String> = []
        return result.filter { seen.insert($0).inserted }
    }

    private static func collect(
        _ file: String, fs: RootedFileSystem, depth: Int, seenFiles: inout Set<String>, into result: inout [String]
    ) throws {
        guard depth < 16, let real = try fs.realPath(file), seenFiles.insert(real).inserted else { return }
        guard try FileSystem.kind(fs.host(real)) == .regular else { return }
        let text = String(decoding: try FileSystem.readFile(fs.host(real)), as: UTF8.self)
        for line in parse(text) {
            switch line {
            case .directory(let directory):
                result.append(Paths.normalize(directory))
            case .include(let pattern):
                let absolute = pattern.hasPrefix("/") ? pattern : Paths.directory(of: file) + "/" + pattern
                for included in try fs.glob(absolute) {
                    try collect(included, fs: fs, depth: depth + 1, seenFiles: &seenFiles, into: &result)
                }
            }
        }
    }
}
