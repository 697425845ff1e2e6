import AgentSupport
import AutoMap
import Glibc
import ImageSpec
import JoinProtocol

/// What an approved drone receives: the announcement keys and, where it runs jobs, MUNGE's.
public struct JoinDelivery: Sendable {
    public var clusterKey: [UInt8]
    public var previousKey: [UInt8]?
    public var mungeKey: [UInt8]?
    /// What NFS-root nodes get besides: their host keys, the root's hashes, the MUNGE key as files.
    public var secrets: NodeSecrets?

    public init(clusterKey: [UInt8], previousKey: [UInt8]? = nil, mungeKey: [UInt8]? = nil, secrets: NodeSecrets? = nil) {
        self.clusterKey = clusterKey
        self.previousKey = previousKey
        self.mungeKey = mungeKey
        self.secrets = secrets
    }
}

/// The master's join service: drones connect over TCP, prove nothing but a fresh key in a Noise
/// XK session the master authenticates itself in, say hello, and wait until `JoinDecision`, an
/// operator (`clumpbuild approve`, over a root-only control socket) or the enrolment window lets
/// them in; then they get `JoinDelivery`. Single-threaded and non-blocking: the caller polls
/// `descriptors()` together with its own and hands the results to `handle`. Every cost a peer can
/// cause is bounded: connections, bytes buffered, seconds to finish the handshake, pending drones.
public final class JoinService {
    public struct Options: Sendable {
        public var address: IPv4Address
        public var port: UInt16 = JoinSettings.defaultPort
        /// The control socket (`clumpbuild approve`), in a root-only directory.
        public var controlPath: String
        public var policy: Spec.JoinPolicy
        /// `serve --enrol`: approve up to `max` machines for `window` seconds.
        public var window: EnrolmentLimits?
        /// Drones waiting for approval at most; a flood pushes out the oldest.
        public var maxPending = 256
        /// Open connections at most (joined drones keep theirs).
        public var maxConnections = 4096
        /// Seconds a peer has to finish the handshake and say hello.
        public var handshakeSeconds = 10.0
        /// Connections from one address that have not said hello yet, at most: one PC cannot fill the table.
        public var maxUnfinishedPerAddress = 16
        /// The controller's MUNGE key file (the spec's `engine.slurm.munge-key-file`), watched once a
        /// second: when the operator rotates the key, every joined drone gets the new one at once.
        public var mungeKeyFile: String?

        public init(address: IPv4Address, controlPath: String, policy: Spec.JoinPolicy, window: EnrolmentLimits? = nil) {
            self.address = address
            self.controlPath = controlPath
            self.policy = policy
            self.window = window
        }
    }

    /// What the service tells its caller.
    public enum Event: Equatable, Sendable {
        case print(String)
        /// A drone was approved: record its card in the inventory if it is not there, with the TPM it proved.
        case approved(macs: [String], address: String?, by: String, tpm: String?)
        /// An operator revoked a node (`node`: its inventory name, if it has one): take it off the controller.
        case revoked(node: String?, macs: [String])
    }

    /// Where the key epochs are kept, and how long each lasts; without them the drones get `JoinDelivery`'s keys for good.
    public struct Epochs: Sendable {
        public var files: KeyEpochs.Files
        public var length: Int

        public init(files: KeyEpochs.Files, length: Int) {
            self.files = files
            self.length = length
        }
    }

    final class Peer {
        let fd: Int32
        let remote: String
        var reader = FrameReader()
        var noise: NoiseXK
        var transport: Transport?
        var hello: JoinHello?
        var code: String?
        /// The credential its TPM must open before anything is decided, and what it holds.
        var challenge: TPMCredential.Challenge?
        /// The fingerprint of the TPM it proved.
        var tpm: String?
        var output: [UInt8] = []
        /// Bytes of a burst (a node's files) it may have waiting beyond the usual few messages, until they are out.
        var allowance = 0
        var deadline: Double
        var lastSent: Double
        var joined = false
        /// Who approved it and its name, for the welcome sent again with each new key.
        var approvedBy: String?
        var name: String?
        /// Refused or denied: its answer is on its way, nothing more is read, the session ends at its deadline.
        var closing = false
        /// Not through the hello and, if it named a TPM, its proof yet, or closing: held to its deadline.
        var unfinished: Bool { hello == nil || challenge != nil || closing }
        /// The control socket's peer: one command line, one answer.
        let control: Bool
        var line: [UInt8] = []

        init(fd: Int32, remote: String, noise: NoiseXK, now: Double, deadline: Double, control: Bool) {
            self.fd = fd
            self.remote = remote
            self.noise = noise
            self.deadline = deadline
            lastSent = now
            self.control = control
        }
    }

    public let options: Options
    private let keys: KeyPair
    private var delivery: JoinDelivery
    /// The MUNGE key file as last looked at (inode, size, change time), and when.
    private var mungeFileSeen: [Int] = []
    private var mungeCandidate: [Int] = []
    private var mungeCheckedAt = -Double.infinity
    /// Its last problem, said once.
    private var mungeProblem: String?
    private var records: JoinRecords
    private var revocations: JoinRevocations
    private var epochs: KeyEpochs?
    private let epochFiles: KeyEpochs.Files?
    /// The announcement keys the joined drones hold: what the last welcome carried.
    private var keysInUse: KeyEpochs.Keys
    /// Epoch state that could not be written: said once, and nothing new handed out until it can be.
    private var epochProblem: String?
    /// A line from start-up (unreadable epochs), printed on the first tick.
    private var startupLine: String?
    /// The master's clock at the last tick: what a revocation's new epoch is timed by.
    private var wall: Int
    private var inventory: Inventory {
        didSet { cards = JoinDecision.Cards(inventory) }
    }
    /// The inventory's cards, indexed for the decision.
    private var cards: JoinDecision.Cards
    private let listener: Int32
    private let controlListener: Int32
    /// The control socket's inode, to remove it on the way out only if it is still ours.
    private var controlInode: ino_t = 0
    private var peers: [Int32: Peer] = [:]
    /// Waiting drones' descriptors, oldest first.
    private var pending: [Int32] = []
    private var started: Double
    private var windowApproved = 0
    private var budget = LineBudget(perSecond: linesPerSecond)
    /// `maxConnections`, within the descriptors the process may open (some kept for files and dnsmasq).
    private let connectionLimit: Int
    /// Out of descriptors: the listener is left alone until then, rather than polled in a busy loop.
    private var acceptPausedUntil = 0.0
    private var dropped = 0
    /// The second of the last summary line.
    private var lastSummary = -1.0

    /// Lines about waiting machines per second; the rest go into one summary line.
    static let linesPerSecond = 5

    public init(
        options: Options, keys: KeyPair, delivery: JoinDelivery, records: JoinRecords, inventory: Inventory, now: Double,
        revocations: JoinRevocations? = nil, epochs epochSettings: Epochs? = nil, wall: Int = Int(time(nil))
    ) throws {
        self.options = options
        self.keys = keys
        self.delivery = delivery
        self.records = records
        self.revocations = try revocations ?? JoinRevocations(path: records.path + ".revoked")
        self.inventory = inventory
        epochFiles = epochSettings?.files
        self.wall = wall
        keysInUse = KeyEpochs.Keys(epoch: 0, current: delivery.clusterKey, previous: delivery.previousKey, next: nil)
        if let settings = epochSettings {
            var (loaded, problem) = settings.files.load(first: delivery.clusterKey, at: wall, length: settings.length)
            // Said on the first tick, where serve's lines go.
            startupLine = problem.map { "clump: join: \($0)" }
            _ = loaded.advance(at: wall, makeKey: Self.makeKey)
            try MasterSideError.wrapping {
                try SystemFile.makeDirectories(settings.files.directory, mode: 0o700)
                try settings.files.save(loaded)
                try settings.files.write(loaded.keys(at: wall))
            }
            epochs = loaded
            keysInUse = loaded.keys(at: wall)
        }
        cards = JoinDecision.Cards(inventory)
        started = now
        // Every joined drone keeps its session open: as many descriptors as the system lets us have.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        connectionLimit = min(options.maxConnections, max(16, Int(clamping: limit.rlim_cur) - 128))
        listener = try Self.listen(address: options.address, port: options.port)
        do {
            controlListener = try Self.listenControl(options.controlPath)
            var info = stat()
            controlInode = stat(options.controlPath, &info) == 0 ? info.st_ino : 0
        } catch {
            Glibc.close(listener)
            throw error
        }
    }

    deinit {
        for fd in peers.keys { Glibc.close(fd) }
        Glibc.close(listener)
        Glibc.close(controlListener)
        // Only our own socket: a serve started since has bound a new one there.
        var info = stat()
        if stat(options.controlPath, &info) == 0, info.st_ino == controlInode { unlink(options.controlPath) }
    }

    /// Ends every session (drones keep their keys and reconnect); the listeners stay.
    public func closeSessions() {
        for peer in Array(peers.values) { close(peer) }
    }

    /// After an enrolment or a regeneration: the inventory `known-macs` and names are read from.
    public func update(inventory: Inventory) { self.inventory = inventory }

    /// The TCP port the service listens on (the options', or the kernel's pick for port 0).
    public var port: UInt16 {
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        return UInt16(bigEndian: local.sin_port)
    }

    /// How many drones wait for approval now.
    public var pendingCount: Int { pending.count }
    /// How many connections are open.
    public var connectionCount: Int { peers.count }

    /// What to poll: the two listeners and every peer (for writing too while output waits).
    public func descriptors(now: Double = 0) -> [pollfd] {
        [pollfd(fd: now < acceptPausedUntil ? -1 : listener, events: Int16(POLLIN), revents: 0),
         pollfd(fd: controlListener, events: Int16(POLLIN), revents: 0)]
            + peers.values.map { peer in
                pollfd(fd: peer.fd, events: Int16(POLLIN) | (peer.output.isEmpty ? 0 : Int16(POLLOUT)), revents: 0)
            }
    }

    /// Serves what `poll` found ready among `descriptors()`.
    public func handle(_ ready: [pollfd], now: Double) -> [Event] {
        var events: [Event] = []
        for entry in ready where entry.revents != 0 {
            if entry.fd == listener {
                accept(from: listener, control: false, now: now, events: &events)
            } else if entry.fd == controlListener {
                accept(from: controlListener, control: true, now: now, events: &events)
            } else if let peer = peers[entry.fd] {
                if entry.revents & Int16(POLLOUT) != 0 { flush(peer) }
                if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { read(peer, now: now, events: &events) }
            }
        }
        return events
    }

    /// The key epoch in use now (0 without epochs).
    public var epoch: Int { keysInUse.epoch }

    /// A new announcement key: 32 bytes from the kernel's random source.
    static func makeKey() -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        // getentropy blocks only until the pool is ready, long past on a master; it fails only on a broken kernel.
        guard key.withUnsafeMutableBytes({ getentropy($0.baseAddress!, $0.count) }) == 0 else {
            fatalError("getentropy: \(String(cString: strerror(errno)))")
        }
        return key
    }

    /// Deadlines, keep-alives, key epochs, the window's end and the summary of lines not shown; call
    /// it a few times a second. `wall` is the master's clock, which the epochs are kept in.
    public func tick(now: Double, wall: Int = Int(time(nil))) -> [Event] {
        var events: [Event] = []
        self.wall = wall
        if let line = startupLine {
            events.append(.print(line))
            startupLine = nil
        }
        advanceEpochs(wall: wall, now: now, events: &events)
        if now - mungeCheckedAt >= 1 {
            mungeCheckedAt = now
            checkMungeKey(now: now, events: &events)
        }
        for peer in Array(peers.values) {
            if peer.transport == nil || peer.unfinished || peer.control {
                if now > peer.deadline { close(peer) }
                continue
            }
            if now - peer.lastSent >= Double(JoinWire.keepAliveMilliseconds) / 1000 {
                send(JoinMessage(JoinWire.keepAlive), to: peer, now: now)
            }
        }
        summary(now: now, events: &events)
        return events
    }

    /// Reads the MUNGE key file again when it changed; a new key goes to every joined drone, whose
    /// munged restarts with it (NFS-root nodes get it at their next boot).
    private func checkMungeKey(now: Double, events: inout [Event]) {
        guard let path = options.mungeKeyFile, delivery.mungeKey != nil else { return }
        var info = stat()
        let seen = stat(path, &info) == 0 ? [Int(info.st_ino), Int(info.st_size), info.st_ctim.tv_sec, info.st_ctim.tv_nsec] : []
        guard seen != mungeFileSeen else { return }
        // Read once it has stayed the same for a second: a key written in place is not caught half written.
        guard seen == mungeCandidate else {
            mungeCandidate = seen
            return
        }
        let problem: String?
        if let key = try? SystemFile.read(path, limit: 4096) {
            problem = Self.mungeKeyProblem(key)
            if problem == nil {
                mungeFileSeen = seen
                mungeProblem = nil
                guard key != delivery.mungeKey else { return }
                events.append(.print("clump: join: the MUNGE key in \(path) changed: \(rotateMunge(key, now: now)) joined drones get it now"))
                return
            }
        } else {
            problem = "cannot be read"
        }
        if let problem, problem != mungeProblem {
            events.append(.print("clump: join: the MUNGE key in \(path) \(problem); the drones keep the one they have"))
        }
        mungeProblem = problem
    }

    /// Why a MUNGE key cannot be handed out; nil when it can (munged takes 32 to 1024 bytes, and
    /// the welcome carries it hex-encoded in one frame with the announcement keys).
    public static func mungeKeyProblem(_ key: [UInt8]) -> String? {
        (32...1024).contains(key.count) ? nil : "is \(key.count) bytes, not 32 to 1024 (`mungekey -c` makes one of 1024)"
    }

    /// A new MUNGE key: every joined drone gets it now, NFS-root nodes with their next join; the number sent.
    public func rotateMunge(_ key: [UInt8], now: Double) -> Int {
        delivery.mungeKey = key
        delivery.secrets = delivery.secrets.map { NodeSecrets(directory: $0.directory, defaultRoot: $0.defaultRoot, mungeKey: key) }
        var sent = 0
        for peer in peers.values where peer.joined && !peer.closing {
            sendWelcome(to: peer, now: now)
            sent += 1
        }
        return sent
    }

    /// Makes the next epoch when it is due; when the keys in use change, writes them for the master's
    /// view and sends every joined drone a welcome with them. The state is on disk before any key
    /// leaves: a restarted serve hands out the same ones.
    private func advanceEpochs(wall: Int, now: Double, revoke: Bool = false, events: inout [Event]) {
        guard var updated = epochs, let files = epochFiles else { return }
        if revoke {
            updated.revoke(at: wall, makeKey: Self.makeKey)
        } else {
            guard updated.advance(at: wall, makeKey: Self.makeKey) || updated.keys(at: wall) != keysInUse else { return }
        }
        let keys = updated.keys(at: wall)
        do {
            try MasterSideError.wrapping {
                if updated != epochs { try files.save(updated) }
                try files.write(keys)
            }
        } catch {
            let problem = "\(error)"
            if problem != epochProblem { events.append(.print("clump: join: cannot keep the key epochs, the keys stay as they are: \(problem)")) }
            epochProblem = problem
            return
        }
        epochProblem = nil
        epochs = updated
        let began = keys.epoch != keysInUse.epoch
        keysInUse = keys
        var sent = 0
        for peer in peers.values where peer.joined && !peer.closing {
            sendWelcome(to: peer, now: now)
            sent += 1
        }
        if began {
            events.append(.print("clump: join: key epoch \(keys.epoch) begins; \(sent) joined drones have its key"))
        } else if keys.next != nil, revoke {
            events.append(.print("clump: join: key epoch \(keys.epoch + 1)'s key handed out to \(sent) joined drones; it is used in \(KeyEpochs.revocationLead) s"))
        }
    }

    /// The line for the last second's machines not shown one by one, once that second is over.
    private func summary(now: Double, events: inout [Event]) {
        // One a second at most: the drops of a second that has just begun wait for the next line.
        guard now.rounded(.down) > lastSummary else { return }
        let held = budget.heldBack(at: now)
        guard held != nil || (dropped > 0 && budget.secondIsOver(at: now)) else { return }
        lastSummary = now.rounded(.down)
        var line = "clump: join: \(held ?? 0) more machines waiting for approval in the last second, not shown one by one"
        if dropped > 0 { line += "; \(dropped) oldest waiting dropped (at most \(options.maxPending) wait)" }
        events.append(.print(line + "; \(pending.count) waiting"))
        dropped = 0
    }

    // MARK: the drones

    private func accept(from socket: Int32, control: Bool, now: Double, events: inout [Event]) {
        for _ in 0..<64 {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.accept(socket, $0, &length)
                }
            }
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE { acceptPausedUntil = now + 0.5 }
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if control && !Self.peerIsRoot(fd) {
                _ = try? SystemFile.writeAll(fd, "clump: approve needs root\n")
                Glibc.close(fd)
                continue
            }
            let remote = control ? "control" : "\(IPv4Address(UInt32(bigEndian: address.sin_addr.s_addr)))"
            let unfinished = control ? 0 : peers.values.lazy.filter { $0.remote == remote && $0.unfinished }.count
            if peers.count >= connectionLimit || unfinished >= options.maxUnfinishedPerAddress {
                // Full: the newcomer is turned away, the drones already here keep their sessions.
                Glibc.close(fd)
                continue
            }
            let deadline = now + (control ? 5 : options.handshakeSeconds)
            peers[fd] = Peer(
                fd: fd, remote: remote, noise: .responder(localStatic: keys, prologue: JoinWire.prologue), now: now,
                deadline: deadline, control: control)
        }
    }

    private func read(_ peer: Peer, now: Double, events: inout [Event]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = Glibc.read(peer.fd, &buffer, buffer.count)
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard count > 0 else { return close(peer) }
        if peer.control { return control(peer, Array(buffer.prefix(count)), now: now, events: &events) }
        peer.reader.append(buffer.prefix(count))
        do {
            while let frame = try peer.reader.next() {
                try receive(frame, from: peer, now: now, events: &events)
                if peers[peer.fd] == nil { return }
            }
        } catch {
            // Not a drone of ours, or a broken one: dropped, at the cost of what it sent.
            close(peer)
        }
    }

    private func receive(_ frame: [UInt8], from peer: Peer, now: Double, events: inout [Event]) throws {
        guard var transport = peer.transport else {
            // A drone's handshake messages carry nothing: a payload could only serve to steer the session.
            guard try peer.noise.read(frame).isEmpty else { throw JoinError("a handshake message with a payload") }
            if peer.noise.writesNext {
                queue(FrameReader.frame(try peer.noise.write()), to: peer, now: now)
            } else if peer.noise.isComplete {
                peer.transport = peer.noise.split()
            }
            return
        }
        guard let plain = transport.open(frame) else { throw JoinError("a message that does not authenticate") }
        peer.transport = transport
        if peer.closing { return }
        if peer.hello == nil {
            guard let message = JoinMessage.parse(plain), let hello = JoinHello(message) else {
                send(JoinReply.refused(reason: "not a hello of join protocol \(JoinHello.version)").message, to: peer, now: now)
                throw JoinError("no hello")
            }
            peer.hello = hello
            peer.code = ApprovalCode.code(seed: peer.noise.approvalSeed ?? [])
            guard let tpm = hello.tpm else { return decide(peer, now: now, events: &events) }
            // The TPM proves itself before anything is decided: what it is bound to, or what an approval records.
            // A credential is one RSA public-key operation in this process: a flood of invented keys costs little.
            do {
                let challenge = try TPMCredential.make(endorsementKey: tpm.endorsementKey, attestationName: tpm.attestationName)
                peer.challenge = challenge
                send(JoinReply.challenge(credential: challenge.credential, secret: challenge.secret).message, to: peer, now: now)
            } catch {
                send(JoinReply.refused(reason: "its TPM's keys cannot be used: \(error)").message, to: peer, now: now)
                throw JoinError("an unusable TPM key")
            }
            return
        }
        // After the hello only the TPM's proof is awaited; anything else is ignored.
        guard let challenge = peer.challenge, let hello = peer.hello, let message = JoinMessage.parse(plain),
            message.kind == "proof"
        else { return }
        guard let recovered = JoinProof.recovered(message), HMACSHA256.equal(recovered, challenge.expected) else {
            send(JoinReply.refused(reason: "its TPM did not open the master's credential").message, to: peer, now: now)
            about("clump: join: \(describe(hello, from: peer)) refused: its TPM did not prove itself", now: now, events: &events)
            throw JoinError("a wrong TPM proof")
        }
        peer.challenge = nil
        peer.tpm = hello.tpmFingerprint
        decide(peer, now: now, events: &events)
    }

    /// The hello (and the TPM's proof) are in: welcome, refuse, or wait for an operator.
    private func decide(_ peer: Peer, now: Double, events: inout [Event]) {
        guard let hello = peer.hello, let code = peer.code else { return }
        let windowOpen = options.window.map { now - started < $0.window && windowApproved < $0.max } ?? false
        let context = JoinDecision.Context(
            policy: options.policy, cards: cards,
            approvedBefore: peer.noise.peerStatic.flatMap { records.approval(of: $0) }, windowOpen: windowOpen,
            provenTPM: peer.tpm, revoked: revocations.reason(for: hello))
        switch JoinDecision.decide(hello, context) {
        case .welcome(let by):
            if welcome(peer, by: by, now: now, events: &events, fresh: context.approvedBefore == nil), by == "window" {
                windowApproved += 1
            }
        case .refused(let reason):
            send(JoinReply.refused(reason: reason).message, to: peer, now: now)
            // Its answer is on its way; the session ends at the deadline, as after a denial.
            peer.deadline = now + 2
            peer.closing = true
            about("clump: join: \(describe(hello, from: peer)) refused: \(reason)", now: now, events: &events)
        case .wait:
            pending.append(peer.fd)
            if pending.count > options.maxPending, let oldest = peers[pending[0]] {
                dropped += 1
                close(oldest)
            }
            send(JoinReply.wait(code: code).message, to: peer, now: now)
            about(
                "clump: join: \(describe(hello, from: peer)) waits for approval, code \(code): "
                    + "`clumpbuild approve \(code)` lets it in", now: now, events: &events)
        }
    }

    /// Sends the keys, once the approval is on disk; false (and the session closed) when it could not be recorded.
    @discardableResult
    private func welcome(_ peer: Peer, by: String, now: Double, events: inout [Event], fresh: Bool) -> Bool {
        guard let hello = peer.hello, let key = peer.noise.peerStatic else { return false }
        if fresh && by != "open" {
            do {
                try records.approve(key: key, by: by, macs: hello.macs, time: Int(time(nil)))
            } catch {
                events.append(.print("clump: join: cannot record the approval of \(describe(hello, from: peer)): \(error)"))
                close(peer)
                return false
            }
        }
        pending.removeAll { $0 == peer.fd }
        // A reconnecting drone is the machine with the cards it was approved with, whatever it claims now.
        let recorded = fresh ? [] : records.macs(of: key)
        let cards = fresh ? hello.macs : hello.macs.filter { recorded.contains($0.lowercased()) }
        peer.name = peer.tpm.flatMap { inventory.node(withTPM: $0)?.name }
            ?? cards.lazy.compactMap { MACAddress(parsing: $0) }.compactMap { self.inventory.node(with: $0)?.name }.first
        peer.approvedBy = by
        let node = peer.name.flatMap { name in inventory.nodes.first { $0.name == name } }
        // A node's secrets go to a session that asks for them (an NFS-root node's RAM disk), from the
        // node's own address (the master's DHCP gives it to that node's cards only).
        var (files, problems) = ([JoinFile](), [String]())
        if let node, hello.wantsFiles, let secrets = delivery.secrets {
            if peer.remote == node.address.description {
                (files, problems) = secrets.files(for: node)
            } else {
                problems.append("\(node.name)'s files not sent to \(peer.remote): the node's address is \(node.address)")
            }
        }
        for problem in problems { events.append(.print("clump: join: \(problem)")) }
        sendWelcome(to: peer, now: now, files: files)
        if let node, !files.isEmpty {
            let bytes = files.reduce(0) { $0 + $1.contents.count }
            events.append(
                .print(
                    "clump: join: \(node.name) gets \(files.map(\.path).joined(separator: " ")) (\(bytes) bytes, into its RAM)"))
        }
        peer.joined = true
        events.append(.print("clump: join: \(describe(hello, from: peer)) joined (approved by \(by))"))
        if fresh { events.append(.approved(macs: hello.macs, address: hello.address, by: by, tpm: peer.tpm)) }
        return true
    }

    /// The keys in use, to one approved drone; with its first welcome, an NFS-root node's files after it.
    private func sendWelcome(to peer: Peer, now: Double, files: [JoinFile] = []) {
        let reply = JoinReply.welcome(
            .init(
                approvedBy: peer.approvedBy ?? "operator", clusterKey: keysInUse.current, previousKey: keysInUse.previous,
                nextKey: keysInUse.next, epoch: epochs == nil ? nil : keysInUse.epoch, mungeKey: delivery.mungeKey,
                name: peer.name, files: files.count))
        let messages = [reply.message] + files.flatMap(\.messages)
        // The files are sent at once: the node reads them all before it does anything else.
        let allowance = messages.reduce(0) { $0 + $1.bytes.count + 64 }
        for message in messages { send(message, to: peer, now: now, allowance: allowance) }
    }

    private func describe(_ hello: JoinHello, from peer: Peer) -> String {
        var text = "machine " + hello.macs.joined(separator: ",") + " at " + peer.remote
        if let uuid = hello.uuid { text += " (uuid \(uuid))" }
        if let tpm = peer.tpm ?? hello.tpmFingerprint { text += " (TPM \(TPMFingerprint.short(tpm))...)" }
        return text
    }

    private func about(_ line: String, now: Double, events: inout [Event]) {
        summary(now: now, events: &events)
        if budget.admit(at: now) { events.append(.print(line)) }
    }

    // MARK: the operator

    /// One command line: `approve CODE|MAC`, `deny CODE|MAC` or `pending`; one answer, then closed.
    private func control(_ peer: Peer, _ bytes: [UInt8], now: Double, events: inout [Event]) {
        peer.line += bytes
        guard let newline = peer.line.firstIndex(of: 10) else {
            if peer.line.count > 512 { close(peer) }
            return
        }
        let words = String(decoding: peer.line[..<newline], as: UTF8.self).split(separator: " ").map(String.init)
        let answer: String
        switch (words.first, words.count) {
        case ("pending", 1):
            let lines = pending.compactMap { peers[$0] }.compactMap { waiting -> String? in
                guard let hello = waiting.hello, let code = waiting.code else { return nil }
                return "\(code) \(describe(hello, from: waiting))"
            }
            answer = lines.isEmpty ? "no machine waits for approval\n" : lines.joined(separator: "\n") + "\n"
        case ("approve", 2), ("deny", 2):
            answer = decide(words[0] == "approve", words[1], now: now, events: &events)
        case ("revoke", 2):
            answer = revoke(words[1], now: now, wall: wall, events: &events)
        case ("unrevoke", 2):
            answer = unrevoke(words[1], events: &events)
        case ("rotate", 1):
            guard epochs != nil else {
                answer = "error: this serve keeps no key epochs\n"
                break
            }
            events.append(.print("clump: join: a new key epoch, asked for by the operator"))
            advanceEpochs(wall: wall, now: now, revoke: true, events: &events)
            answer = "key epoch \(keysInUse.epoch + 1) begins in \(KeyEpochs.revocationLead) s\n"
        default:
            answer = "error: say approve CODE, deny CODE, revoke NODE, unrevoke NODE, rotate or pending\n"
        }
        try? SystemFile.writeAll(peer.fd, answer)
        close(peer)
    }

    private func decide(_ approve: Bool, _ which: String, now: Double, events: inout [Event]) -> String {
        let code = ApprovalCode.normalise(which)
        let mac = MACAddress(parsing: which).map { "\($0)".lowercased() }
        let matches = pending.compactMap { peers[$0] }.filter { peer in
            if let code { return peer.code == code }
            if let mac { return peer.hello?.macs.contains { $0.lowercased() == mac } == true }
            return false
        }
        guard code != nil || mac != nil else { return "error: '\(which)' is neither a code (482-913) nor a MAC\n" }
        // A MAC is only what the drone claims, and anyone on the LAN can claim a MAC it has seen:
        // only the code, read on the console, names a session.
        if approve && code == nil {
            return "error: approve by the code on the machine's console (a MAC can be claimed by anyone); deny takes a MAC\n"
        }
        guard let peer = matches.first else {
            return "error: no machine waits with \(code.map { "code \($0)" } ?? "MAC \(which)") (`clumpbuild approve --pending` lists them)\n"
        }
        guard matches.count == 1 else {
            return "error: \(matches.count) machines wait with \(which): deny them, and approve the one you see when it asks again\n"
        }
        guard let hello = peer.hello else { return "error: that machine has not said hello\n" }
        if approve {
            guard welcome(peer, by: "operator", now: now, events: &events, fresh: true) else {
                return "error: the approval of \(describe(hello, from: peer)) could not be recorded (serve says why)\n"
            }
            return "approved \(describe(hello, from: peer))\n"
        }
        send(JoinReply.refused(reason: "denied by the operator").message, to: peer, now: now)
        pending.removeAll { $0 == peer.fd }
        // Its answer is on its way; the session ends at the deadline (the drone asks again later, with a new code).
        peer.deadline = now + 2
        peer.closing = true
        events.append(.print("clump: join: \(describe(hello, from: peer)) denied by the operator"))
        return "denied \(describe(hello, from: peer))\n"
    }

    /// `clumpbuild revoke NODE|MAC`: the node's cards and TPM are shut out, its sessions end, and a
    /// new key epoch begins without it.
    func revoke(_ which: String, now: Double, wall: Int, events: inout [Event]) -> String {
        let mac = MACAddress(parsing: which)
        guard let node = inventory.nodes.first(where: { $0.name == which }) ?? mac.flatMap({ inventory.node(with: $0) }) else {
            guard let mac else {
                return "error: no node named '\(which)' in the inventory, and it is not a MAC (revoke takes a node's name or a MAC)\n"
            }
            return revoke(name: "\(mac)".lowercased(), macs: ["\(mac)".lowercased()], tpm: nil, inventoried: false, now: now, wall: wall, events: &events)
        }
        return revoke(
            name: node.name, macs: node.macs.map { "\($0)".lowercased() }, tpm: node.tpm, inventoried: true, now: now, wall: wall,
            events: &events)
    }

    private func revoke(
        name: String, macs: [String], tpm: String?, inventoried: Bool, now: Double, wall: Int, events: inout [Event]
    ) -> String {
        do {
            try revocations.revoke(node: name, macs: macs, tpm: tpm, time: wall)
        } catch {
            return "error: the revocation of \(name) could not be recorded: \(error)\n"
        }
        let cards = Set(macs)
        var ended = 0
        for peer in Array(peers.values) where !peer.control {
            guard let hello = peer.hello,
                hello.macs.contains(where: { cards.contains($0.lowercased()) }) || (tpm != nil && (peer.tpm ?? hello.tpmFingerprint) == tpm)
            else { continue }
            send(JoinReply.refused(reason: "revoked by the operator").message, to: peer, now: now)
            pending.removeAll { $0 == peer.fd }
            peer.joined = false
            peer.closing = true
            peer.deadline = now + 2
            ended += 1
        }
        let line = "clump: join: \(name) (\(macs.joined(separator: ",")))\(tpm.map { " with TPM \(TPMFingerprint.short($0))..." } ?? "") revoked by the operator; \(ended) sessions ended"
        events.append(.print(line))
        advanceEpochs(wall: wall, now: now, revoke: true, events: &events)
        events.append(.revoked(node: inventoried ? name : nil, macs: macs))
        let epochText = epochs.map { _ in "; key epoch \(keysInUse.epoch + 1) begins in \(KeyEpochs.revocationLead) s without it" } ?? ""
        return "revoked \(name): \(ended) sessions ended\(epochText)\n"
    }

    /// `clumpbuild revoke --undo NODE|MAC`: the machine may ask to join again (and is approved as any other).
    func unrevoke(_ which: String, events: inout [Event]) -> String {
        do {
            let lifted = try revocations.undo(which)
            guard lifted > 0 else { return "error: '\(which)' is not revoked\n" }
            events.append(.print("clump: join: the revocation of \(which) was lifted by the operator"))
            return "\(which) may ask to join again (\(lifted) entries lifted)\n"
        } catch {
            return "error: the revocation of \(which) could not be lifted: \(error)\n"
        }
    }

    // MARK: sockets

    private func send(_ message: JoinMessage, to peer: Peer, now: Double, allowance: Int = 0) {
        guard var transport = peer.transport else { return }
        let sealed = transport.seal(message.bytes)
        peer.transport = transport
        queue(FrameReader.frame(sealed), to: peer, now: now, allowance: allowance)
    }

    /// `allowance`: bytes of a burst sent at once (a node's files) on top of the usual few messages.
    private func queue(_ bytes: [UInt8], to peer: Peer, now: Double, allowance: Int = 0) {
        peer.output += bytes
        peer.lastSent = now
        peer.allowance = max(peer.allowance, allowance)
        // A peer that reads nothing does not make us hold more than a few messages for it.
        if peer.output.count > 4 * FrameReader.maximum + peer.allowance { return close(peer) }
        flush(peer)
    }

    private func flush(_ peer: Peer) {
        while !peer.output.isEmpty {
            let count = peer.output.withUnsafeBytes { Glibc.send(peer.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN { close(peer) }
                return
            }
            peer.output.removeFirst(count)
        }
        peer.allowance = 0
    }

    private func close(_ peer: Peer) {
        guard peers.removeValue(forKey: peer.fd) != nil else { return }
        pending.removeAll { $0 == peer.fd }
        Glibc.close(peer.fd)
    }

    private static func listen(address: IPv4Address, port: UInt16) throws -> Int32 {
        let subject = "\(address):\(port)"
        let fd = try MasterSideError.wrapping {
            try syscall("socket", path: subject) {
                socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            }
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        local.sin_addr.s_addr = address.value.bigEndian
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 512) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw MasterSideError(
                "cannot listen for joins: \(String(cString: strerror(code)))", subject: subject,
                hint: code == EADDRINUSE ? "another serve runs on this address" : nil)
        }
        return fd
    }

    private static func listenControl(_ path: String) throws -> Int32 {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try MasterSideError.wrapping { try SystemFile.makeDirectories(directory, mode: 0o700) }
        chmod(directory, 0o700)
        var address = try JoinControl.unixAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 16) == 0 else {
            let code = errno
            if fd >= 0 { Glibc.close(fd) }
            throw MasterSideError("cannot open the control socket: \(String(cString: strerror(code)))", subject: path)
        }
        return fd
    }

    /// Only root approves: the socket's directory is root's, and the peer's credentials say so.
    private static func peerIsRoot(_ fd: Int32) -> Bool {
        // struct ucred (pid, uid, gid), which Glibc's module leaves out without _GNU_SOURCE.
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, UInt32.max, UInt32.max)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 && credentials.uid == 0
    }
}
