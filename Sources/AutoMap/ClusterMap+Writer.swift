extension ClusterMap {
    /// The same map in canonical order: range lines by node id, then ALIAS lines by node id and address.
    public var canonical: ClusterMap {
        let ranges = rangeLines.sorted { ($0.id, $0.host) < ($1.id, $1.host) }
        let aliases = aliasLines.sorted { ($0.id, $0.host) < ($1.id, $1.host) }
        return ClusterMap(checked: ranges + aliases)
    }

    /// The map as file text: `header` lines as `#` comments, then the canonical lines in
    /// left-aligned columns separated by two spaces, no trailing blanks, `\n` after every line.
    ///
    /// Comments only ever fill whole lines and fields never start with a blank, so the text
    /// reads the same through a `sscanf("%d %s %s")`-style reader such as `setpe`.
    public func rendered(header: [String] = []) -> String {
        var text = ""
        for comment in header {
            text += comment.isEmpty ? "#\n" : "# \(comment)\n"
        }
        let sorted = canonical.lines
        let idWidth = sorted.map { "\($0.id)".count }.max() ?? 0
        let hostWidth = sorted.map { $0.host.description.count }.max() ?? 0
        for line in sorted {
            text +=
                Self.pad("\(line.id)", idWidth) + "  " + Self.pad(line.host.description, hostWidth) + "  "
                + line.size.description + "\n"
        }
        return text
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
