import Yams

extension Spec {
    /// `engine:` in the spec: the batch system the drones join. Off unless a controller is named.
    public struct Engine: Sendable, Equatable {
        /// `engine.slurm`: Slurm's dynamic nodes (22.05, `slurmd -Z`).
        public var slurm = Slurm()

        /// The defaults: no engine.
        public init() {}

        /// Whether an engine is on.
        public var isOn: Bool { slurm.controller != nil }
    }

    /// `engine.slurm`: each drone runs `munged` and `slurmd -Z --conf-server CONTROLLER`.
    public struct Slurm: Sendable, Equatable {
        /// The configless slurmctld the drones register with; nil leaves the engine off.
        public var controller: SlurmController? = SpecTable.slurmController.default
        /// The cluster's MUNGE key (the same file as the controller's).
        public var mungeKeyFile: String = SpecTable.slurmMungeKeyFile.default
        /// The MUNGE socket slurm.conf's `AuthInfo=socket=` names; the drone's munged answers there too.
        public var mungeSocket: String = SpecTable.slurmMungeSocket.default
        /// Node features the drones register with (`Feature=`), for `sbatch --constraint`.
        public var features: [String] = SpecTable.slurmFeatures.default
        /// The partition the master's slurm.conf puts the drones in.
        public var partition: String = SpecTable.slurmPartition.default

        /// The defaults.
        public init() {}
    }
}

/// `HOST[:PORT]`: where slurmctld listens (its SlurmctldPort, 6817 unless set).
public struct SlurmController: Sendable, Hashable, CustomStringConvertible {
    /// slurmctld's default port (slurm.conf(5), SlurmctldPort).
    public static let defaultPort = 6817
    /// A host name or an IPv4 address.
    public var host: String
    /// The port; nil for the default.
    public var port: Int?

    /// A controller at `host`, `port`.
    public init(host: String, port: Int? = nil) {
        self.host = host
        self.port = port
    }

    /// `HOST` or `HOST:PORT`, the form `slurmd --conf-server` takes.
    public var description: String { port.map { "\(host):\($0)" } ?? host }

    /// Parses `HOST[:PORT]`; the error says what is wrong.
    public static func parse(_ text: String) -> Result<SlurmController, ControllerProblem> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return .failure(.init("\(text.debugDescription) has more than one `:`")) }
        let host = String(parts[0])
        guard isHostName(host) else {
            return .failure(.init("\(host.debugDescription) is not a host name or an IPv4 address"))
        }
        guard parts.count == 2 else { return .success(SlurmController(host: host)) }
        guard let port = Int(parts[1]), (1...65535).contains(port), parts[1].allSatisfy(\.isASCIIDigit) else {
            return .failure(.init("\(String(parts[1]).debugDescription) is not a port (1 to 65535)"))
        }
        return .success(SlurmController(host: host, port: port))
    }

    /// RFC 1123 section 2.1 host names (letters, digits, hyphens; labels of 1-63, not starting or ending
    /// with a hyphen); a dotted quad passes as one too.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count == 4, labels.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) && !$0.isEmpty }) {
            return labels.allSatisfy { Int($0).map { $0 <= 255 } ?? false }
        }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// Why a controller address was refused.
    public struct ControllerProblem: Error, Sendable, Equatable {
        /// What is wrong.
        public var message: String
        init(_ message: String) { self.message = message }
    }
}

/// Slurm's names for nodes, partitions and features: letters, digits, `_`, `-` and `.`
/// (slurm.conf(5) splits on `,`, `=`, spaces and brackets).
enum SlurmName {
    static func check(_ what: String) -> @Sendable (String) -> (message: String, hint: String?)? {
        { text in
            let allowed =
                !text.isEmpty && text.count <= 64
                && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
            return allowed
                ? nil
                : ("\(text.debugDescription) is not a Slurm \(what)", "use letters, digits, `_`, `-` and `.`")
        }
    }
}

extension ValueType where Value == SlurmController? {
    /// `HOST[:PORT]`, or empty for no engine.
    static var optionalController: Self {
        ValueType(
            decode: { node, path, decoding in
                if node.isNull { return .some(nil) }
                guard let text = ScalarDecoder.text(node, path, &decoding, expected: "HOST[:PORT]") else { return nil }
                switch SlurmController.parse(text) {
                case .success(let controller): return .some(controller)
                case .failure(let problem):
                    decoding.error(
                        path, at: node, problem.message,
                        hint: "name the slurmctld host as HOST or HOST:PORT, e.g. `controller: 10.0.2.1:6817`")
                    return nil
                }
            },
            render: { $0.map { YAMLText.string($0.description) } ?? "" })
    }
}

extension ValueType where Value == [String] {
    /// Slurm node features.
    static var slurmFeatures: Self {
        .list(
            of: "feature names", example: "[clump, x86]", .string("a feature name", check: SlurmName.check("feature")))
    }
}
