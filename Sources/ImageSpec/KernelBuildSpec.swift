import Yams

extension Spec {
    /// `kernel.build:` in the spec: build the drone kernel from source (`clumpbuild kernel`)
    /// instead of taking `kernel.image/modules/config` from the host.
    public struct KernelBuild: Sendable, Equatable {
        /// A kernel source tree or tarball; nil: the newest `/usr/src/linux-source-*.tar.*` (Debian `linux-source`).
        public var source: String?
        /// `tinyconfig`, `defconfig`, `allnoconfig`, or a config file; nil: the first profile's `# clump: base`.
        public var base: String?
        /// Profile names (`drone`, `drone-minimal`), fragment names of kernel-config/, or fragment files, in order.
        public var fragments: [String]
        /// Patch files applied in order with `patch -p1`.
        public var patches: [String]
        /// Options (`E1000`, `CONFIG_VIRTIO_NET`) built in (=y) after every fragment.
        public var builtin: [String]
        /// KBUILD_BUILD_TIMESTAMP; nil: the spec's source-date-epoch, else a fixed date.
        public var timestamp: String?
        /// KBUILD_BUILD_USER.
        public var user: String
        /// KBUILD_BUILD_HOST.
        public var host: String

        /// The drone-minimal profile from Debian's source.
        public init(
            source: String? = nil, base: String? = nil, fragments: [String] = ["drone-minimal"], patches: [String] = [],
            builtin: [String] = [], timestamp: String? = nil, user: String = "clump", host: String = "clump"
        ) {
            self.source = source
            self.base = base
            self.fragments = fragments
            self.patches = patches
            self.builtin = builtin
            self.timestamp = timestamp
            self.user = user
            self.host = host
        }
    }
}

extension ValueType where Value == Spec.KernelBuild? {
    /// `{source, base, fragments, patches, builtin, timestamp, user, host}`, or empty for none.
    static var kernelBuild: Self {
        ValueType(decode: KernelBuildDecoder.decode, render: { $0.map(KernelBuildDecoder.render) ?? "" })
    }
}

enum KernelBuildDecoder {
    static let keys = ["source", "base", "fragments", "patches", "builtin", "timestamp", "user", "host"]

    @Sendable static func decode(_ node: Node, _ path: String, _ decoding: inout Decoding) -> Spec.KernelBuild?? {
        if node.isNull { return .some(nil) }
        guard case .mapping(let mapping) = node else {
            decoding.error(
                path, at: node, "expected a mapping, got \(node.described)",
                hint: "write e.g. `build: {fragments: [drone-minimal], patches: [patches/banner.patch]}`")
            return nil
        }
        var build = Spec.KernelBuild()
        var ok = true
        let before = decoding.diagnostics.count
        let names = ValueType<[String]>.list(
            of: "names or paths", example: "[drone-minimal]", .string("a name or a path", check: PathCheck.hostPath))
        let options = ValueType<[String]>.list(
            of: "option names", example: "[E1000, VIRTIO_NET]", .string("an option name", check: optionProblem))
        for entry in decoding.entries(of: mapping, at: path) {
            decoding.record(entry.path, entry.value)
            switch entry.key {
            case "source":
                build.source = ValueType<String?>.optionalPath.decode(entry.value, entry.path, &decoding) ?? nil
            case "base":
                build.base = ValueType<String?>.optionalPath.decode(entry.value, entry.path, &decoding) ?? nil
            case "fragments":
                if let value = names.decode(entry.value, entry.path, &decoding) { build.fragments = value } else { ok = false }
            case "patches":
                if let value = ValueType<[String]>.paths.decode(entry.value, entry.path, &decoding) {
                    build.patches = value
                } else {
                    ok = false
                }
            case "builtin":
                if let value = options.decode(entry.value, entry.path, &decoding) { build.builtin = value } else { ok = false }
            case "timestamp":
                build.timestamp = ScalarDecoder.text(entry.value, entry.path, &decoding, expected: "a date")
            case "user", "host":
                let value = ScalarDecoder.text(entry.value, entry.path, &decoding, expected: "a name")
                if entry.key == "user" { build.user = value ?? build.user } else { build.host = value ?? build.host }
            default:
                SpecLoader.unknownKey(entry, among: keys, &decoding)
                ok = false
            }
        }
        return ok && decoding.diagnostics.count == before ? .some(build) : nil
    }

    /// A Kconfig symbol, with or without `CONFIG_`.
    @Sendable static func optionProblem(_ text: String) -> (message: String, hint: String?)? {
        let name = text.hasPrefix("CONFIG_") ? String(text.dropFirst("CONFIG_".count)) : text
        let ok = !name.isEmpty && name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        return ok ? nil : ("\(text.debugDescription) is not a kernel option name", "write it as in .config, e.g. `E1000`")
    }

    @Sendable static func render(_ build: Spec.KernelBuild) -> String {
        var parts: [String] = []
        if let source = build.source { parts.append("source: \(YAMLText.string(source))") }
        if let base = build.base { parts.append("base: \(YAMLText.string(base))") }
        parts.append("fragments: [" + build.fragments.map(YAMLText.string).joined(separator: ", ") + "]")
        if !build.patches.isEmpty { parts.append("patches: [" + build.patches.map(YAMLText.string).joined(separator: ", ") + "]") }
        if !build.builtin.isEmpty { parts.append("builtin: [" + build.builtin.joined(separator: ", ") + "]") }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
