import AgentSupport
import Foundation
import Kernel

/// Everything a kernel build depends on, read and resolved, and the cache key derived from
/// it: the same inputs give the same key, and any change (one byte of a patch, another gcc)
/// gives another. Pure once read: `key` and `manifest` only look at the values.
public struct KernelBuildInputs: Equatable, Sendable {
    /// A file's name for messages and its bytes.
    public struct Part: Equatable, Sendable {
        public var name: String
        public var path: String
        public var text: String
    }

    /// The source tree or tarball.
    public var source: String
    /// How the source is identified in the key: a tarball's size and mtime, a tree's files.
    public var sourceIdentity: String
    /// `tinyconfig`, `defconfig`, `allnoconfig`, or the config file.
    public var base: String
    /// The base config file's text when `base` is a file.
    public var baseText: String?
    /// required.config, then the fragments in order, then the builtin options as a fragment.
    public var fragments: [Part]
    public var patches: [Part]
    /// `gcc --version`, `ld --version`, `make --version` first lines.
    public var toolchain: [String]
    /// KBUILD_BUILD_TIMESTAMP, _USER, _HOST.
    public var timestamp: String
    public var user: String
    public var host: String

    /// Bump when the way an entry is built changes, so old entries are not reused.
    static let format = "clump-kernel-build 1"

    /// The text the key hashes, also kept in the entry (`inputs.txt`) to say what it was built from.
    public var manifest: String {
        var lines = [Self.format, "source \(source)", "source-identity \(sourceIdentity)"]
        lines.append("base \(base)" + (baseText.map { " sha256:\(Self.digest($0))" } ?? ""))
        lines += fragments.map { "fragment \($0.name) sha256:\(Self.digest($0.text))" }
        lines += patches.map { "patch \($0.name) sha256:\(Self.digest($0.text))" }
        lines += toolchain.map { "toolchain \($0)" }
        lines += ["KBUILD_BUILD_TIMESTAMP=\(timestamp)", "KBUILD_BUILD_USER=\(user)", "KBUILD_BUILD_HOST=\(host)"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The cache entry's name: the first 24 hex digits of the manifest's SHA-256.
    public var key: String { String(Self.digest(manifest).prefix(24)) }

    static func digest(_ text: String) -> String {
        SHA256.hash(Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The builtin options as a fragment: `CONFIG_X=y` each.
    static func builtinFragment(_ options: [String]) -> String {
        options.map { ($0.hasPrefix("CONFIG_") ? $0 : "CONFIG_" + $0) + "=y" }.joined(separator: "\n") + "\n"
    }

    /// The fragment files a name stands for: a profile (`kernel-config/profiles/NAME.config`,
    /// with the profiles it includes first), a fragment (`kernel-config/NAME.config`), or a path.
    static func fragmentPaths(_ name: String, kernelConfig: String, seen: inout Set<String>) throws -> [String] {
        let candidates =
            name.contains("/") || name.hasSuffix(".config")
            ? [name] : ["\(kernelConfig)/profiles/\(name).config", "\(kernelConfig)/\(name).config"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            let profiles = (try? FileManager.default.contentsOfDirectory(atPath: kernelConfig + "/profiles")) ?? []
            throw KernelBuildError(
                "config", "no profile or fragment \(name.debugDescription)", file: candidates.last,
                hint: "profiles: " + profiles.map { String($0.dropLast(".config".count)) }.sorted().joined(separator: ", "))
        }
        guard seen.insert(path).inserted else { return [] }
        var paths: [String] = []
        for include in directives(in: try read(path), named: "include") {
            paths += try fragmentPaths(include, kernelConfig: kernelConfig, seen: &seen)
        }
        return paths + [path]
    }

    /// The values of `# clump: NAME value` lines.
    static func directives(in text: String, named name: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let prefix = "# clump: \(name) "
            return line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) : nil
        }
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KernelBuildError("config", "cannot read the file", file: path)
        }
        return String(decoding: data, as: UTF8.self)
    }
}
