import AgentSupport
import Foundation

/// Who dnsmasq runs as under `clumpbuild serve`: a system user of its own (not `nobody`, which owns
/// NFS-root nodes' squashed writes), with no capabilities once it serves (`CCapDrop`), reading a
/// TFTP tree any user may read. dnsmasq answers DHCP and TFTP from the whole LAN; whoever takes it
/// over gets that user and nothing else.
public enum DnsmasqUser {
    /// The user and its group.
    public static let name = "clump-dnsmasq"

    public struct Account: Sendable, Equatable {
        public var name: String
        public var group: String
        public var uid: uid_t
    }

    /// The account, made first when it is missing (`useradd --system`), after checking that it can
    /// reach the TFTP root: every directory above it searchable by others.
    public static func prepare(tftpRoot: String) throws -> Account {
        if getpwnam(name) == nil {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/useradd")
            process.arguments = [
                "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                "/usr/sbin/nologin", "--comment", "clump dnsmasq (clumpbuild serve)", name,
            ]
            do {
                try process.run()
                process.waitUntilExit()
            } catch {
                throw MasterSideError("cannot run useradd: \(error)", subject: name, hint: "create the user by hand")
            }
            guard process.terminationStatus == 0, getpwnam(name) != nil else {
                throw MasterSideError(
                    "useradd failed (status \(process.terminationStatus))", subject: name,
                    hint: "create it: useradd --system --user-group --no-create-home \(name)")
            }
        }
        guard let entry = getpwnam(name) else { throw MasterSideError("no such user", subject: name) }
        let uid = entry.pointee.pw_uid
        let group = getgrgid(entry.pointee.pw_gid).map { String(cString: $0.pointee.gr_name) } ?? name
        var path = ""
        for component in tftpRoot.split(separator: "/") {
            path += "/" + component
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            if info.st_mode & 0o001 == 0 && info.st_uid != uid {
                throw MasterSideError(
                    "dnsmasq runs as \(name) and cannot reach the TFTP root \(tftpRoot) through this directory "
                        + "(mode \(String(info.st_mode & 0o777, radix: 8)))", subject: path,
                    hint: "let others search it (`chmod o+x \(path)`), or put the output directory elsewhere "
                        + "(`--out /srv/clump/out`)")
            }
        }
        return Account(name: name, group: group, uid: uid)
    }

    /// Where the shim is looked for: beside the running executable, then where a package puts it.
    public static func shimCandidates() -> [String] {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let directory = (executable as NSString).resolvingSymlinksInPath
        return [(directory as NSString).deletingLastPathComponent + "/libclump-capdrop.so", "/usr/lib/clump/libclump-capdrop.so"]
    }

    /// The shim (`libclump-capdrop.so`). Without it dnsmasq would keep CAP_NET_ADMIN while it answers
    /// anyone on the LAN, so its absence is an error, not a warning.
    public static func capabilityShim(candidates: [String] = shimCandidates()) throws -> String {
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw MasterSideError(
                "libclump-capdrop.so is missing: without it dnsmasq keeps CAP_NET_ADMIN while it answers the LAN",
                subject: candidates[0],
                hint: "build it beside clumpbuild with `swift build -c release --product clump-capdrop` (the Quick start does)")
        }
        return found
    }

    /// The uid and effective capabilities of a process, from its /proc status.
    /// The uid and the effective and permitted capabilities (one mask: either set lets it act).
    public static func status(pid: Int32, root: String = "/") -> (uid: uid_t, capEff: UInt64)? {
        guard let text = SystemFile.text(rooted(root, "/proc/\(pid)/status")) else { return nil }
        var uid: uid_t?
        var effective: UInt64?
        var permitted: UInt64?
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.first == "Uid:", fields.count > 1 { uid = uid_t(fields[1]) }
            if fields.first == "CapEff:", fields.count > 1 { effective = UInt64(fields[1], radix: 16) }
            if fields.first == "CapPrm:", fields.count > 1 { permitted = UInt64(fields[1], radix: 16) }
        }
        guard let uid, let effective, let permitted else { return nil }
        return (uid, effective | permitted)
    }

    /// The line `serve` prints once dnsmasq serves: what it runs as; `ok` false when it kept root or
    /// a capability (or its status cannot be read), which `serve` does not let stand.
    static func describe(pid: Int32, user: Account, root: String = "/") -> (line: String, ok: Bool) {
        guard let (uid, caps) = status(pid: pid, root: root) else { return ("clump: cannot read dnsmasq's /proc/\(pid)/status", false) }
        if uid == user.uid && caps == 0 {
            return ("clump: dnsmasq serves as \(user.name) (uid \(uid)) with no capabilities", true)
        }
        return (
            "clump: dnsmasq runs as uid \(uid) with capabilities \(String(caps, radix: 16)), not as \(user.name) (uid "
                + "\(user.uid)) with none: stopped it; a DHCP server that answers anyone must not keep them", false
        )
    }
}
