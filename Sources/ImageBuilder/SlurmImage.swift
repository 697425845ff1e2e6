import DroneProtocol
import ImageSpec

/// The engine's part of the image: Slurm's node daemon, MUNGE, the plugins a dynamic node loads,
/// the key and the users, as entries (pure; `HostResolver` finds the files).
///
/// The plugin set (`SlurmNode.plugins`) is the one the controller's slurm.conf from `clumpbuild generate` asks for
/// (`SlurmConfig`): a drone never loads another, so shipping the 110 plugins of
/// slurm-wlm (8 MiB) would be waste.
public enum SlurmImage {
    /// The programs, where slurmd expects them (it runs `SBINDIR/slurmstepd` for every job step),
    /// and the Debian package of each, for the hint when one is missing.
    public static let programs: [(path: String, package: String)] = [
        ("/usr/sbin/slurmd", "slurmd"), ("/usr/sbin/slurmstepd", "slurmd"), ("/usr/sbin/munged", "munge"),
        // The drone drains itself at shutdown with `scontrol update`.
        ("/usr/bin/scontrol", "slurm-client"),
    ]

    /// Where the key goes; munged's default `--key-file`.
    public static let keyPath = "etc/munge/munge.key"
    /// The agent reads the engine's settings here (`EngineSettings.path`, relative to the image root).
    public static let settingsPath = ImageFiles.entry(EngineSettings.path)

    /// The entries: `programs` as (image path, host file), `libraries` (the closure, plugins included),
    /// the key's host path (nil: the key comes by the join, into RAM), and the image's passwd and group text to extend.
    public static func entries(
        settings: Spec.Slurm, programs: [(path: String, host: String)], libraries: [ImageEntry], keyFile: String?,
        passwd: String, group: String, accounts: (passwd: [String], group: [String]) = ([], [])
    ) -> [ImageEntry] {
        let munge = SlurmNode.mungeUser.id
        var entries = programs.map { ImageEntry.hostFile(String($0.path.dropFirst()), from: $0.host, mode: 0o755) }
        entries += libraries
        entries += [
            ImageEntry(path: "etc/munge", content: .directory, mode: 0o700, uid: munge, gid: munge),
            ImageEntry(path: "var/lib/munge", content: .directory, mode: 0o700, uid: munge, gid: munge),
            ImageEntry(path: "var/log/munge", content: .directory, mode: 0o700, uid: munge, gid: munge),
            .directory("var/spool"), .directory("var/spool/slurmd"), .directory("var/log/slurm"),
            .file("etc/passwd", text: extend(passwd, with: [SlurmNode.mungeUser.passwdLine, SlurmNode.slurmUser.passwdLine] + accounts.passwd)),
            .file("etc/group", text: extend(group, with: [SlurmNode.mungeUser.groupLine, SlurmNode.slurmUser.groupLine] + accounts.group)),
            .file(settingsPath, text: settingsText(settings)),
        ]
        if let keyFile {
            entries.append(ImageEntry(path: keyPath, content: .file(.host(path: keyFile)), mode: 0o400, uid: munge, gid: munge))
        }
        return entries
    }

    /// `etc/clump/engine`: what the agent needs to start the engine, as `key=value` lines.
    public static func settingsText(_ settings: Spec.Slurm) -> String {
        var engine = EngineSettings(controller: settings.controller.map { "\($0)" } ?? "")
        engine.features = features(settings)
        engine.partition = settings.partition
        engine.mungeSocket = settings.mungeSocket
        engine.mungeUID = SlurmNode.mungeUser.id
        return engine.rendered
    }

    /// The features a drone registers with: `SlurmNode.droneFeature` first, then the spec's.
    public static func features(_ settings: Spec.Slurm) -> [String] {
        [SlurmNode.droneFeature] + settings.features.filter { $0 != SlurmNode.droneFeature }
    }

    /// The accounts jobs run as, from the master's passwd and group (the controller has
    /// `DisableRootJobs=YES`, and slurmd refuses a job whose user it cannot look up): the regular
    /// users (Debian's adduser range, 1000-59999) and `nobody`, with their primary groups, without
    /// passwords (no shadow file goes into the image) and with /bin/sh, the image's shell.
    public static func jobAccounts(passwd: String, group: String) -> (passwd: [String], group: [String]) {
        var users: [String] = []
        var groups: Set<Substring> = []
        for line in passwd.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 7, let uid = UInt32(fields[2]), (1000..<60000).contains(uid) || uid == 65534,
                !fields[0].isEmpty, !fields[0].hasPrefix("+"), !fields[0].hasPrefix("-")
            else { continue }
            users.append("\(fields[0]):x:\(uid):\(fields[3]):\(fields[4]):\(fields[5]):/bin/sh")
            groups.insert(fields[3])
        }
        let groupLines = group.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, groups.contains(fields[2]) else { return nil }
            return "\(fields[0]):x:\(fields[2]):"
        }
        return (users, groupLines)
    }

    /// `text` with each line of `lines` whose name (first field) is not there yet.
    static func extend(_ text: String, with lines: [String]) -> String {
        let names = Set(text.split(separator: "\n").compactMap { $0.split(separator: ":").first.map(String.init) })
        var result = text.isEmpty || text.hasSuffix("\n") ? text : text + "\n"
        for line in lines where !names.contains(String(line.prefix { $0 != ":" })) { result += line + "\n" }
        return result
    }
}
