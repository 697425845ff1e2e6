/// What `patch --dry-run` said about one patch of a series, read from its output, and the
/// failing hunk named as the patch file writes it (`@@ -1007,6 +1007,7 @@`), so the message
/// points into the patch rather than into patch(1)'s numbering only.
public struct PatchReport: Equatable, Sendable {
    /// One hunk patch(1) could not place.
    public struct Failure: Equatable, Sendable {
        /// The file in the source tree the hunk is for.
        public var file: String
        /// patch(1)'s number of the hunk within that file, from 1.
        public var hunk: Int
        /// Where patch(1) last tried it in the file, when it says.
        public var line: Int?
        /// The hunk's `@@ ... @@` header in the patch, when found.
        public var header: String?
    }

    public var failures: [Failure]
    /// Files the patch names that the tree does not have.
    public var missingFiles: [String]

    public var applies: Bool { failures.isEmpty && missingFiles.isEmpty }

    /// Reads GNU patch's output ("checking file F", "Hunk #2 FAILED at 120.", "can't find file
    /// to patch at input line 3") and looks up each failing hunk's header in `patch`'s text.
    public init(output: String, patch: String) {
        var failures: [Failure] = []
        var missing: [String] = []
        var file = ""
        for line in output.split(separator: "\n").map(String.init) {
            for prefix in ["checking file ", "patching file "] where line.hasPrefix(prefix) {
                file = String(line.dropFirst(prefix.count))
            }
            if line.hasPrefix("can't find file to patch") { missing.append("?") }
            if line.hasPrefix("Hunk #"), line.contains(" FAILED") {
                let digits = line.dropFirst("Hunk #".count).prefix { $0.isNumber }
                let at = line.range(of: " at ").map { line[$0.upperBound...].prefix { $0.isNumber } }
                let hunk = Int(digits) ?? 0
                failures.append(
                    Failure(
                        file: file, hunk: hunk, line: at.flatMap { Int($0) },
                        header: Self.hunkHeader(in: patch, file: file, hunk: hunk)))
            }
        }
        if !missing.isEmpty {
            // patch(1) names the missing file only in the diff header it echoes; take the patch's own list.
            let named = Self.files(in: patch)
            missing = named.isEmpty ? missing : named
        }
        self.failures = failures
        self.missingFiles = missing
    }

    /// The target files a unified diff names (`+++ b/init/main.c` -> `init/main.c`).
    static func files(in patch: String) -> [String] {
        patch.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("+++ ") else { return nil }
            let path = line.dropFirst(4).prefix { $0 != "\t" }
            guard let slash = path.firstIndex(of: "/") else { return String(path) }
            return String(path[path.index(after: slash)...])
        }
    }

    /// The `@@` line of the `hunk`-th hunk (from 1) of `file` in a unified diff.
    static func hunkHeader(in patch: String, file: String, hunk: Int) -> String? {
        var inFile = false
        var count = 0
        for line in patch.split(separator: "\n") {
            if line.hasPrefix("+++ ") {
                inFile = line.dropFirst(4).prefix { $0 != "\t" }.hasSuffix(file)
                count = 0
            } else if inFile, line.hasPrefix("@@ ") {
                count += 1
                if count == hunk { return String(line) }
            }
        }
        return nil
    }

    /// "init/main.c hunk #1 (@@ -1007,6 +1007,7 @@) FAILED at 1007; ..." for messages.
    public var summary: String {
        var parts = failures.map { failure in
            "\(failure.file) hunk #\(failure.hunk)" + (failure.header.map { " (\($0))" } ?? "")
                + " FAILED" + (failure.line.map { " at line \($0)" } ?? "")
        }
        parts += missingFiles.map { "\($0): no such file in the source tree" }
        return parts.isEmpty ? "patch(1) refused it" : parts.joined(separator: "; ")
    }
}
