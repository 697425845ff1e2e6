/// The commented `clump.yaml` that `clumpbuild init` writes: every key, its default and its help.
public enum StarterSpec {
    /// Renders the starter spec; `kernel`, when given, is named in comments only so the file stays all defaults.
    public static func render(kernel: ResolvedKernel? = nil) -> String {
        var lines = [
            "# clump.yaml: the image spec clumpbuild reads.",
            "# Every key is shown with its default value, so deleting a line changes nothing.",
            "# Relative paths are relative to the directory of this file; an empty value means automatic.",
        ]
        var section: [String]?
        for setting in SpecTable.all {
            let parts = setting.key.split(separator: ".").map(String.init)
            let owner = Array(parts.dropLast())
            let indent = String(repeating: "  ", count: owner.count)
            if owner != section || owner.isEmpty {
                lines.append("")
                // Nested sections (`engine:` then `  slurm:`): a header for each level not already open.
                let open = section.map { zip($0, owner).prefix { $0.0 == $0.1 }.count } ?? 0
                for level in open..<owner.count {
                    let header = String(repeating: "  ", count: level)
                    if level == 0 { lines += comment(SpecTable.sections[owner[0]] ?? "", indent: "") }
                    lines.append("\(header)\(owner[level]):")
                }
                section = owner
            }
            lines += comment(setting.help, indent: indent)
            if let found = found(setting.key, in: kernel) {
                lines.append("\(indent)# Found now: \(found)")
            }
            let value = setting.renderDefault()
            lines.append("\(indent)\(parts.last ?? setting.key):" + (value.isEmpty ? "" : " \(value)"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func found(_ key: String, in kernel: ResolvedKernel?) -> String? {
        guard let kernel else { return nil }
        switch key {
        case "kernel.image": return kernel.image
        case "kernel.modules": return kernel.modulesDir
        case "kernel.config": return kernel.config ?? "none"
        default: return nil
        }
    }

    /// Help text as `#` lines wrapped at 100 columns; explicit line breaks in the help are kept.
    private static func comment(_ text: String, indent: String) -> [String] {
        let width = 100 - indent.count - 2
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                if !line.isEmpty, line.count + 1 + word.count > width {
                    lines.append(line)
                    line = ""
                }
                line += line.isEmpty ? String(word) : " " + word
            }
            lines.append(line)
        }
        return lines.map { "\(indent)# \($0)" }
    }
}
