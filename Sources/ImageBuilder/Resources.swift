import Foundation

/// Where clump's own data lives: the `rootfs/` overlay every image gets, the
/// `kernel-config/` fragments, and the static drone agent.
///
/// From a checkout the tools run as `<repo>/.build/release/clumpbuild`; installed, as
/// `<prefix>/bin/clumpbuild` with the data in `<prefix>/share/clump`. `CLUMP_HOME`
/// overrides both.
public struct Resources: Sendable {
    public var home: String
    public var rootfs: String { home + "/rootfs" }
    public var kernelConfig: String { home + "/kernel-config" }

    public init(home: String) { self.home = home }

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resources {
        if let home = environment["CLUMP_HOME"] {
            guard isHome(home) else {
                throw ImageBuilderError.resources("CLUMP_HOME=\(home) has no rootfs/ and kernel-config/")
            }
            return Resources(home: home)
        }
        var dir = (executablePath() as NSString).deletingLastPathComponent
        while dir != "/" && !dir.isEmpty {
            if isHome(dir) { return Resources(home: dir) }
            let share = dir + "/share/clump"
            if isHome(share) { return Resources(home: share) }
            dir = (dir as NSString).deletingLastPathComponent
        }
        throw ImageBuilderError.resources(
            "cannot find clump's rootfs/ and kernel-config/ above \(executablePath()); set CLUMP_HOME to the clump checkout")
    }

    /// The static agent: `CLUMP_AGENT`, else the checkout's agent build, else next to clumpbuild.
    public func agent(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let agent = environment["CLUMP_AGENT"] { return agent }
        let built = home + "/.build-agent/release/clumpnode"
        if FileManager.default.fileExists(atPath: built) { return built }
        return (Self.executablePath() as NSString).deletingLastPathComponent + "/clumpnode"
    }

    private static func isHome(_ dir: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir + "/rootfs", isDirectory: &isDir) && isDir.boolValue
            && FileManager.default.fileExists(atPath: dir + "/kernel-config", isDirectory: &isDir) && isDir.boolValue
    }

    private static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private func executablePath() -> String { Self.executablePath() }
}
