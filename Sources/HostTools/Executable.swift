import Foundation

/// Finds a program the way a shell would, so the commands that start one (QEMU, dnsmasq) agree.
public enum Executable {
    /// `program` itself when it is a path, else the first executable of that name on PATH, then in
    /// `extraDirectories` (daemons live in sbin, which a user's PATH may lack); nil when none is.
    public static func find(_ program: String, extraDirectories: [String] = []) -> URL? {
        if program.contains("/") { return URL(fileURLWithPath: program) }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for dir in path + extraDirectories {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return URL(fileURLWithPath: candidate) }
        }
        return nil
    }
}
