/// The engine settings an image carries in `/etc/clump/engine`: the builder writes them from the
/// spec's `engine.slurm`, the agent reads them to start munged and slurmd.
///
/// Format: `key=value` lines, `\n` after each, in the order below; readers ignore keys they do
/// not know. A file without `engine=slurm` and a non-empty `controller` starts no engine.
///
/// | key | value |
/// |---|---|
/// | `engine` | `slurm` |
/// | `controller` | `HOST` or `HOST:PORT` of the configless slurmctld |
/// | `features` | node features, comma-separated (`Feature=`) |
/// | `partition` | the partition the controller puts drones in (the controller's business; shown, not used) |
/// | `munge-socket` | the MUNGE socket named by the controller's `AuthInfo=socket=` |
/// | `munge-uid` | the munge user's id (munged drops to it) |
public struct EngineSettings: Equatable, Sendable {
    /// Where the image keeps them.
    public static let path = "/etc/clump/engine"
    /// munged's default socket: slurmd uses it to fetch the configuration, before it knows AuthInfo.
    public static let defaultMungeSocket = "/run/munge/munge.socket.2"
    /// The only engine so far.
    public static let slurm = "slurm"

    /// `HOST` or `HOST:PORT` of the configless slurmctld; empty for none (no line is written).
    public var controller: String
    /// Node features (`Feature=`).
    public var features: [String] = []
    /// The partition, nil when the file names none.
    public var partition: String?
    /// The MUNGE socket named by the controller's `AuthInfo=socket=`.
    public var mungeSocket = EngineSettings.defaultMungeSocket
    /// The munge user's id (munged drops to it).
    public var mungeUID: UInt32 = SlurmNode.mungeUser.id

    /// Settings for `controller`.
    public init(controller: String) { self.controller = controller }

    /// The file text.
    public var rendered: String {
        var lines = ["engine=\(Self.slurm)"]
        if !controller.isEmpty { lines.append("controller=\(controller)") }
        lines.append("features=" + features.joined(separator: ","))
        if let partition { lines.append("partition=\(partition)") }
        lines.append("munge-socket=\(mungeSocket)")
        lines.append("munge-uid=\(mungeUID)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses the file; nil without `engine=slurm` and a controller.
    public static func parse(_ text: String) -> EngineSettings? {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard values["engine"] == slurm, let controller = values["controller"], !controller.isEmpty else {
            return nil
        }
        var settings = EngineSettings(controller: controller)
        settings.features = (values["features"] ?? "").split(separator: ",").map(String.init)
        settings.partition = values["partition"].flatMap { $0.isEmpty ? nil : $0 }
        if let socket = values["munge-socket"], socket.hasPrefix("/") { settings.mungeSocket = socket }
        if let uid = values["munge-uid"].flatMap({ UInt32($0) }) { settings.mungeUID = uid }
        return settings
    }
}
