/// The files under `/etc/clump` a boot image carries for the agent: the builder writes them,
/// the agent and the announcer read them. `EngineSettings.path` is the engine's.
public enum ImageFiles {
    /// The cluster key (announcements are sealed with it).
    public static let clusterKey = "/etc/clump/cluster.key"
    /// The key being rotated out, while a rotation lasts.
    public static let previousClusterKey = "/etc/clump/cluster.key.previous"
    /// `key=value` lines about the image (version, kernel, build time, modes), for people.
    public static let imageInfo = "/etc/clump/image"

    /// `path` relative to the image's root, as archive entries name it (`etc/clump/...`).
    public static func entry(_ path: String) -> String { String(path.drop { $0 == "/" }) }
}

/// What the join delivers, where the drone keeps it: /run is a tmpfs, so the keys live in RAM
/// only, readable by root alone, and never in the image.
public enum JoinedFiles {
    public static let directory = "/run/clump/keys"
    public static let clusterKey = "/run/clump/keys/cluster.key"
    public static let previousClusterKey = "/run/clump/keys/cluster.key.previous"
    /// The next key epoch's key, once the master hands it out (`ClusterKeys.Watch`'s names).
    public static let nextClusterKey = "/run/clump/keys/cluster.key.next"
    public static let mungeKey = "/run/clump/keys/munge.key"
    /// The join's state for the console and the view: `waiting CODE MASTER`, `joined MASTER BY`, ...
    public static let state = "/run/clump/join"
}
