import AgentSupport
import DroneProtocol
import Glibc
import JoinProtocol
import NetProbe

/// The `nfsroot` boot: after auto mode's network steps (a lease, no background DHCP client: the
/// new init owns the node from then on), load the NFS client, assemble the root as `NFSRootPlan`
/// says and hand PID 1 over to the root's `/sbin/init`. Console lines:
/// ```
/// clump: nfsroot 10.0.2.1:/srv/clump/root
/// clump: nfsroot node files 10.0.2.1:/srv/clump/master/nfsroot/nodes/node11, writable /var/log /home
/// clump: nfsroot switching to /sbin/init
/// ```
/// Every failure throws with its reason (server not answering, export refused, no init in the
/// root); the sequence then shows it and leaves a shell on the console.
enum NFSRootMode {
    /// Connection attempts before giving up on a silent server, and the pause after each.
    static let attempts = 5
    static let pauseSeconds = [2, 4, 8, 8]
    /// How long one connection attempt waits for the server.
    static let connectMilliseconds: Int32 = 3000

    /// The boot step.
    static func step(_ context: BootContext) throws {
        let auto = AutoMode(
            root: context.root, mode: context.options.mode.rawValue, isDrone: getpid() == 1,
            hints: context.options.hints, say: context.say)
        auto.keepsDHCPRunning = false
        try auto.run(ipParameter: context.commandLine.value("ip") ?? nil)
        guard let lease = auto.leases.values.sorted(by: { $0.interface < $1.interface }).first else {
            throw NFSRootProblem(
                "no address: an NFS root needs the network", hint: "check the cable and the master's DHCP server")
        }
        let client = lease.address.description
        let plan: NFSRootPlan
        switch NFSRootPlan.parse(
            options: context.options.options, rootPath: lease.rootPath, dhcpServer: lease.serverIdentifier?.description)
        {
        case .success(let parsed): plan = parsed
        case .failure(let problem): throw problem
        }
        // The node's secrets come in a session with the master, never from the shared root; it joins
        // (or waits for approval) before anything of the root is mounted.
        let secrets = JoinCommand.joins(root: context.root)
            ? try JoinCommand.joinOnce(root: context.root, address: client, say: context.say) : nil
        context.say("clump: nfsroot \(plan.root)")
        let probe = try NICProbe(root: context.root)
        try probe.load(modules: NFSRootPlan.modules)
        try waitForServer(plan.root.server, say: context.say)
        try assemble(plan, client: client, say: context.say)
        if let (welcome, files) = secrets { lay(files, name: welcome.name, say: context.say) }
        try switchRoot(say: context.say)
    }

    /// Connects to the server's NFS port until it answers, saying so on every attempt; throws after
    /// the last one. A TCP connection first, so a silent server is a clear line, not a mount(2)
    /// that hangs.
    static func waitForServer(_ server: String, say: (String) -> Void) throws {
        for attempt in 1...attempts {
            let code = connect(to: server, port: 2049, timeout: connectMilliseconds)
            if code == 0 { return }
            let reason =
                code == ETIMEDOUT ? "no answer in \(connectMilliseconds / 1000) s" : String(cString: strerror(code))
            if attempt == attempts {
                throw NFSRootProblem(
                    "server \(server) not answering on NFS port 2049 (\(reason)) after \(attempts) attempts",
                    hint: "is the NFS server (nfs-ganesha or the kernel's) running on the master?")
            }
            let pause = pauseSeconds[min(attempt - 1, pauseSeconds.count - 1)]
            say(
                "clump: nfsroot server \(server) not answering (\(reason)), attempt \(attempt) of \(attempts); "
                    + "again in \(pause) s")
            sleep(milliseconds: pause * 1000)
        }
    }

    /// 0 when a TCP connection to `server:port` opens within `timeout` ms, else the errno.
    static func connect(to server: String, port: UInt16, timeout: Int32) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, server, &address.sin_addr) == 1 else { return EINVAL }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, timeout)
        if ready == 0 { return ETIMEDOUT }
        if ready < 0 { return errno }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    /// Mounts the root, the layer, the overlay and the node's tree; checks the init; lays the
    /// node's files; binds its writable directories.
    static func assemble(_ plan: NFSRootPlan, client: String, say: (String) -> Void) throws {
        try mountNFS(plan.root, at: NFSRootPlan.lower, client: client, flags: UInt(MS_RDONLY))
        try mount(NFSRootPlan.layerMounts[0])
        for directory in ["upper", "work"] {
            try SystemFile.makeDirectories("\(NFSRootPlan.layer)/\(directory)")
        }
        try mount(NFSRootPlan.layerMounts[1])
        guard isExecutable(NFSRootPlan.initPath, in: NFSRootPlan.newRoot) else {
            throw NFSRootProblem(
                "no \(NFSRootPlan.initPath) in the root \(plan.root)",
                hint: "the root must be a whole system: debootstrap one, or give the node another `root:`")
        }
        guard let node = plan.node else { return }
        try mountNFS(node, at: NFSRootPlan.tree, client: client, flags: NFSRootPlan.descriptionFlags)
        var ignored: [(String, String)] = []
        try copyTree(from: "\(NFSRootPlan.tree)/\(NodeTree.files)", to: NFSRootPlan.newRoot, relative: NodeTree.files, ignored: &ignored)
        let list = (try? SystemFile.readText("\(NFSRootPlan.tree)/\(NodeTree.writableList)", limit: 64 << 10)) ?? ""
        _ = umount2(NFSRootPlan.tree, Int32(MNT_DETACH))
        // Bounded: the tree is the master's, but a console flooded by it would hide everything else.
        for (path, reason) in ignored.prefix(10) {
            say("clump: nfsroot ignored \(ConsoleText.printable(path)): \(reason)")
        }
        if ignored.count > 10 { say("clump: nfsroot ignored \(ignored.count - 10) more entries of \(NodeTree.files)/") }
        let (writable, refused) = NFSRootPlan.writableMounts(list: list)
        for reason in refused.prefix(10) {
            say("clump: nfsroot ignored a writable directory: \(reason)")
        }
        var names: [String] = []
        if !writable.isEmpty {
            if let data = plan.data {
                try mountNFS(data, at: NFSRootPlan.dataTree, client: client, flags: NFSRootPlan.dataFlags)
                for index in stride(from: 0, to: writable.count, by: 2) {
                    let bind = writable[index]
                    let name = String(bind.target.dropFirst(NFSRootPlan.newRoot.count))
                    // The master makes each directory; a missing one (or anything but a directory) stays in RAM.
                    var info = stat()
                    guard lstat(bind.source, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                        say("clump: nfsroot ignored writable \(name): no such directory in \(data) (run clumpbuild generate)")
                        continue
                    }
                    try mount(bind)
                    try mount(writable[index + 1])
                    names.append(name)
                }
            } else {
                say("clump: nfsroot no \(BootArgument.data.with("SERVER:PATH")) on the command line: writable directories stay in RAM")
            }
        }
        say("clump: nfsroot node files \(node)" + (names.isEmpty ? "" : ", writable " + names.joined(separator: " ")))
    }

    /// Lays the files the master sent with the welcome into the new root's RAM layer, with their
    /// owner and mode, no link in the shared root followed; one that cannot be laid is said, and
    /// the node boots without it.
    static func lay(_ files: [JoinFile], name: String?, say: (String) -> Void) {
        var laid: [String] = []
        for file in files {
            let (parent, base) = BeneathDirectory.split(file.path)
            do {
                let directory = try BeneathDirectory.open(parent, below: NFSRootPlan.newRoot, create: true)
                try directory.write(file.contents, to: base, mode: mode_t(file.mode & 0o777))
                try directory.changeOwner(of: base, user: file.uid, group: file.gid)
                laid.append(file.path)
            } catch {
                say("clump: nfsroot cannot lay \(file.path) from the master: \(error)")
            }
        }
        if !laid.isEmpty {
            say("clump: nfsroot secrets of \(name ?? "this node") in RAM: " + laid.joined(separator: " "))
        } else if files.isEmpty {
            // Booting on is better than not, but the admin must know why sshd or logins will fail.
            say("clump: nfsroot the master sent no secrets for \(name ?? "this machine") (no host key, no password hashes): see serve's output")
        }
    }

    /// Mounts an export, the newest NFSv4 minor version the server has first.
    static func mountNFS(_ location: NFSLocation, at target: String, client: String, flags: UInt) throws {
        var code: Int32 = EPROTONOSUPPORT
        for version in NFSRootPlan.versions {
            var operation = NFSRootPlan.nfsMount(
                location, at: target, client: client, version: version, readOnly: flags & UInt(MS_RDONLY) != 0)
            operation.flags |= flags
            do {
                try mount(operation)
                return
            } catch let error as AgentError {
                code = error.code ?? EIO
                if code != EPROTONOSUPPORT && code != EINVAL { break }
            }
        }
        throw NFSRootProblem(NFSRootPlan.refusal(location, code: code), hint: nil)
    }

    static func mount(_ operation: MountOperation) throws {
        try SystemFile.makeDirectories(operation.target)
        try syscall("mount -t \(operation.type) \(operation.source)", path: operation.target) {
            Glibc.mount(operation.source, operation.target, operation.type, operation.flags, operation.data)
        }
    }

    /// Whether `path` inside `root` is an executable file, following symbolic links inside `root`
    /// (Debian's /sbin/init is a link to /lib/systemd/systemd, absolute, so it must be resolved
    /// against the new root and not the RAM disk).
    static func isExecutable(_ path: String, in root: String) -> Bool {
        var current = path
        for _ in 0..<16 {
            var info = stat()
            guard lstat(root + current, &info) == 0 else { return false }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                return info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o111 != 0
            }
            var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
            let count = readlink(root + current, &buffer, buffer.count)
            guard count > 0 else { return false }
            let target = String(decoding: buffer[0..<count], as: UTF8.self)
            if target.hasPrefix("/") {
                current = target
            } else {
                let directory = current.split(separator: "/").dropLast().joined(separator: "/")
                current = "/" + (directory.isEmpty ? "" : directory + "/") + target
            }
        }
        return false
    }

    /// The file systems an initramfs is unpacked into, as /proc/self/mounts names them.
    static let ramDiskTypes: Set<Substring> = ["rootfs", "ramfs", "tmpfs"]

    /// The type of the file system mounted first at `/` in a mount table's text.
    static func rootType(mounts: String) -> Substring? {
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 3 && fields[1] == "/" { return fields[2] }
        }
        return nil
    }

    /// Deletes the RAM disk's files (about 16 MB of RAM otherwise held for the life of the node),
    /// staying on its file system: the new root and everything mounted are on others. Only when `/`
    /// is a RAM disk, as switch_root(8) checks too.
    static func freeRAMDisk() {
        // /proc has moved into the new root, the current directory.
        guard let mounts = try? SystemFile.readText("proc/self/mounts"), let type = rootType(mounts: mounts),
            ramDiskTypes.contains(type)
        else { return }
        var rootInfo = stat()
        guard lstat("/", &rootInfo) == 0 else { return }
        removeContents(of: "", device: rootInfo.st_dev)
    }

    private static func removeContents(of directory: String, device: dev_t) {
        guard let handle = opendir(directory.isEmpty ? "/" : directory) else { return }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(handle)
        for name in names {
            let path = "\(directory)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_dev == device else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                removeContents(of: path, device: device)
                rmdir(path)
            } else {
                unlink(path)
            }
        }
    }

    /// Copies the directories and regular files under `source` into `target` (the new root's RAM
    /// layer), replacing what is there, as plain files (`NFSRootPlan.layable`); what is not laid,
    /// or laid without its special bits, is added to `ignored` with the reason.
    static func copyTree(from source: String, to target: String, relative: String, ignored: inout [(String, String)]) throws {
        guard let directory = opendir(source) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let from = "\(source)/\(name)"
            let to = "\(target)/\(name)"
            var info = stat()
            guard lstat(from, &info) == 0 else { continue }
            let (mode, reason) = NFSRootPlan.layable(mode: info.st_mode)
            if let reason { ignored.append(("\(relative)/\(name)", reason)) }
            guard let mode else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                try SystemFile.makeDirectories(to, mode: mode)
                try copyTree(from: from, to: to, relative: "\(relative)/\(name)", ignored: &ignored)
            } else {
                try SystemFile.writeAtomically(try SystemFile.read(from, limit: 16 << 20), to: to, mode: mode)
            }
        }
    }

    /// Moves the RAM disk's kernel filesystems into the new root, frees the RAM disk, makes the new
    /// root `/` and runs its init as PID 1: what switch_root(8) does.
    static func switchRoot(say: (String) -> Void) throws -> Never {
        let root = NFSRootPlan.newRoot
        for path in NFSRootPlan.carried {
            try SystemFile.makeDirectories(root + path)
            if Glibc.mount(path, root + path, nil, UInt(MS_MOVE), nil) != 0 {
                say("clump: nfsroot cannot move \(path) into the root: \(String(cString: strerror(errno)))")
            }
        }
        try syscall("chdir", path: root) { chdir(root) }
        freeRAMDisk()
        try syscall("mount --move", path: root) { Glibc.mount(".", "/", nil, UInt(MS_MOVE), nil) }
        try syscall("chroot", path: root) { chroot(".") }
        try syscall("chdir", path: "/") { chdir("/") }
        say("clump: nfsroot switching to \(NFSRootPlan.initPath)")
        // The new init starts as the kernel would start it: default signal dispositions, nothing blocked.
        for signal in SignalMap.handled { Glibc.signal(signal, SIG_DFL) }
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        let arguments = [NFSRootPlan.initPath]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv(NFSRootPlan.initPath, &argv)
        let code = errno
        say(
            "clump: nfsroot cannot run \(NFSRootPlan.initPath): \(String(cString: strerror(code))); "
                + "the node stops here")
        while true { pause() }
    }
}
