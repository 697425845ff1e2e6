import AgentSupport
import Glibc

/// One `mount(2)` the agent performs at boot.
public struct MountOperation: Equatable, Sendable, CustomStringConvertible {
    /// The source (`proc`, `sysfs`, ...; these filesystems ignore it, but it shows in /proc/mounts).
    public var source: String
    /// The absolute mount point in the drone's root.
    public var target: String
    /// The filesystem type.
    public var type: String
    /// The MS_* flags.
    public var flags: UInt
    /// The filesystem's own options (`mode=1777`), if any.
    public var data: String?
    /// The mode for the mount point when the agent has to create it.
    public var directoryMode: mode_t

    /// Creates one mount operation.
    public init(
        source: String, target: String, type: String, flags: UInt = 0, data: String? = nil,
        directoryMode: mode_t = 0o755
    ) {
        self.source = source
        self.target = target
        self.type = type
        self.flags = flags
        self.data = data
        self.directoryMode = directoryMode
    }

    /// As `mount(8)` would be typed: `mount -t proc -o nosuid,nodev,noexec proc /proc`.
    public var description: String {
        var options: [String] = []
        for (flag, name) in Self.flagNames where flags & flag != 0 { options.append(name) }
        if let data { options.append(data) }
        let optionText = options.isEmpty ? "" : " -o " + options.joined(separator: ",")
        return "mount -t \(type)\(optionText) \(source) \(target)"
    }

    static let flagNames: [(UInt, String)] = [
        (UInt(MS_RDONLY), "ro"), (UInt(MS_NOSUID), "nosuid"), (UInt(MS_NODEV), "nodev"),
        (UInt(MS_NOEXEC), "noexec"), (UInt(MS_RELATIME), "relatime"),
    ]
}

/// The mounts the agent makes as PID 1, in order: what the kernel leaves to init. Only
/// /dev/console exists at first (the kernel's built-in initramfs part); devtmpfs brings the
/// tty devices the shells need.
public enum MountPlan {
    static let nosuid = UInt(MS_NOSUID)
    static let nodev = UInt(MS_NODEV)
    static let noexec = UInt(MS_NOEXEC)

    /// proc, sysfs, devtmpfs (+ devpts, shm), /run and /tmp, with the options a distribution uses.
    public static let standard: [MountOperation] = [
        MountOperation(source: "proc", target: "/proc", type: "proc", flags: nosuid | nodev | noexec),
        MountOperation(source: "sysfs", target: "/sys", type: "sysfs", flags: nosuid | nodev | noexec),
        MountOperation(source: "devtmpfs", target: "/dev", type: "devtmpfs", flags: nosuid, data: "mode=0755"),
        // gid 5 is the `tty` group in Debian's base-passwd; ptys are mode 620 like on the master.
        MountOperation(
            source: "devpts", target: "/dev/pts", type: "devpts", flags: nosuid | noexec,
            data: "gid=5,mode=0620,ptmxmode=0666"
        ),
        MountOperation(
            source: "shm", target: "/dev/shm", type: "tmpfs", flags: nosuid | nodev, data: "mode=1777",
            directoryMode: 0o1777
        ),
        MountOperation(source: "run", target: "/run", type: "tmpfs", flags: nosuid | nodev, data: "mode=0755"),
        MountOperation(
            source: "tmp", target: "/tmp", type: "tmpfs", flags: nosuid | nodev, data: "mode=1777",
            directoryMode: 0o1777
        ),
    ]

    /// The operations still to do, given the mount points already in use (from `MountTable`):
    /// running twice, or after a kernel that mounted devtmpfs itself, mounts nothing twice.
    public static func pending(_ plan: [MountOperation], mounted: [String]) -> [MountOperation] {
        plan.filter { !mounted.contains($0.target) }
    }
}

/// The mount table (`/proc/self/mounts`).
public enum MountTable {
    /// The mount points, in order. Fields are separated by spaces; spaces, tabs, newlines and
    /// backslashes inside a field are written as octal escapes (`\040`), decoded here.
    public static func targets(parsing text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 2 ? unescape(fields[1]) : nil
        }
    }

    /// Reads `<root>/proc/self/mounts` and returns the mount points.
    public static func read(root: String = "/") throws -> [String] {
        targets(parsing: try SystemFile.readText(rooted(root, "/proc/self/mounts")))
    }

    private static func unescape(_ field: Substring) -> String {
        let bytes = Array(field.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
                let value = octal(bytes[(index + 1)...(index + 3)])
            {
                output.append(value)
                index += 4
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else { return nil }
            value = value * 8 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
