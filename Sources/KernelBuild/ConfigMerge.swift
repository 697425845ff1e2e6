import Foundation
import Kernel

/// Merging config fragments into a base `.config` the way the kernel's
/// `scripts/kconfig/merge_config.sh` does: fragments apply in order, a later value of an
/// option replaces an earlier one (with a note when it differs), and every option a fragment
/// set is remembered so that what Kconfig later refused can be found (`droppedOptions`).
public enum ConfigMerge {
    /// One option as a fragment asked for it.
    public struct Request: Equatable, Sendable {
        public var name: String
        public var value: KernelConfig.Value
        /// The fragment's file and line, for messages.
        public var file: String
        public var line: Int
    }

    /// The merged config text (to hand to `make olddefconfig`) and what was asked.
    public struct Result: Sendable {
        public var text: String
        /// The last request for each option, in the order options were first asked for.
        public var requests: [Request]
        /// merge_config.sh's "Value of X is redefined by fragment": the option, old and new value, where.
        public var redefinitions: [String]
    }

    /// Merges `fragments` (already parsed, in order) over `base` (a full .config text).
    public static func merge(base: String, fragments: [KernelConfig]) -> Result {
        var requests: [Request] = []
        var index: [String: Int] = [:]
        var redefinitions: [String] = []
        let baseConfig = try? KernelConfig(parsing: base, file: ".config")
        for fragment in fragments {
            for entry in fragment.entries {
                let request = Request(name: entry.name, value: entry.value, file: fragment.file, line: entry.line)
                let previous = index[entry.name].map { requests[$0].value } ?? baseConfig?.entry(entry.name)?.value
                if let previous, previous != entry.value {
                    redefinitions.append(
                        "\(entry.name): \(previous) -> \(entry.value) (\(fragment.file):\(entry.line))")
                }
                if let at = index[entry.name] {
                    requests[at] = request
                } else {
                    index[entry.name] = requests.count
                    requests.append(request)
                }
            }
        }
        // merge_config.sh deletes the base's line of every option a fragment sets and appends the fragment.
        var lines: [String] = []
        for line in base.split(separator: "\n", omittingEmptySubsequences: false) {
            if let name = optionName(of: String(line)), index[name] != nil { continue }
            lines.append(String(line))
        }
        while lines.last == "" { lines.removeLast() }
        lines += requests.map(render)
        return Result(text: lines.joined(separator: "\n") + "\n", requests: requests, redefinitions: redefinitions)
    }

    /// An option line as .config writes it.
    public static func render(_ request: Request) -> String {
        switch request.value {
        case .builtin: return "\(request.name)=y"
        case .module: return "\(request.name)=m"
        case .notSet: return "# \(request.name) is not set"
        case .number(let text): return "\(request.name)=\(text)"
        case .string(let text):
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\(request.name)=\"\(escaped)\""
        }
    }

    /// `CONFIG_X` of `CONFIG_X=...` or `# CONFIG_X is not set`, nil for any other line.
    static func optionName(of line: String) -> String? {
        if line.hasPrefix("CONFIG_"), let equals = line.firstIndex(of: "=") { return String(line[..<equals]) }
        if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
            return String(line.dropFirst(2).dropLast(" is not set".count))
        }
        return nil
    }

    /// Requests the final config does not honour (merge_config.sh's "Value requested for X
    /// not in final .config"). A request for `m` met by `y` is honoured, as Kconfig may promote it.
    public static func droppedOptions(_ requests: [Request], final: KernelConfig) -> [Request] {
        requests.filter { request in
            let actual = final[request.name]
            if request.value == .module, actual == .builtin { return false }
            return actual != request.value
        }
    }
}
