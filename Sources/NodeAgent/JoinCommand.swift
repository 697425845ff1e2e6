import AgentSupport
import AutoMap
import DroneProtocol
import Glibc
import JoinProtocol
import TPM

/// `clumpnode join`: earns this drone the cluster's keys from the master, in a Noise XK session
/// pinned to the master's key from the image (`/etc/clump/join`). Once the node has its lease it
/// says who it is (its cards' MACs, DMI UUID and serial), shows the code the operator approves it
/// by, and writes what the master delivers to /run/clump/keys (RAM, root only), where the
/// announcer and munged wait for it. The session then stays open; when it drops the keys stay,
/// and it reconnects. PID 1 supervises it like the announcer. Where the machine has a TPM
/// (`/dev/tpmrm0`), the hello names its endorsement key and the drone proves it by opening the
/// master's credential, which is how a node bound to its TPM joins without anyone approving it.
public enum JoinCommand {
    /// The children PID 1 supervises in auto mode when the image joins rather than carrying keys.
    public static func children(for mode: BootMode, root: String = "/", program: String = "/init") -> [ShellCommand] {
        guard mode == .auto, SystemFile.exists(rooted(root, JoinSettings.path)) else { return [] }
        return [ShellCommand.agentDaemon(["join"], program: program)]
    }

    /// Whether this image gets its keys by joining (`/etc/clump/join` is there).
    public static func joins(root: String) -> Bool { SystemFile.exists(rooted(root, JoinSettings.path)) }

    /// Seconds between attempts after a failure: doubling from 1 to 30.
    static func backoff(after failures: Int) -> Int { min(30, 1 << min(failures, 5)) }

    /// Runs until killed.
    static func run(root: String = "/") -> Int32 {
        let consoles = (try? ConsoleList.read(root: root)) ?? []
        let output = ConsoleOutput(consoles: consoles, root: root)
        let say: (String) -> Void = { output.line($0) }
        guard let text = SystemFile.text(rooted(root, JoinSettings.path)), let settings = JoinSettings.parse(text) else {
            say("clump: join: \(JoinSettings.path) is missing or unreadable: this image cannot join a master")
            return 1
        }
        let keys: KeyPair
        do {
            keys = try sessionKey(root: root)
        } catch {
            say("clump: join: \(error)")
            return 1
        }
        let tpm = rooted(root, TPMDevice.resourceManager)
        var session = JoinSession(
            settings: settings, keys: keys, root: root, tpm: SystemFile.exists(tpm) ? tpm : nil, say: say)
        // The TPM makes its keys (an RSA key's primes take it a while) while DHCP runs.
        session.prepared = session.attestation()
        let node = SlurmCommand.waitForNode(root: root)
        _ = keepJoining(&session, say: say) {
            JoinHello(
                macs: cardMACs(root: root), uuid: firmware("product_uuid", root: root),
                serial: firmware("product_serial", root: root), address: node.address)
        }
        return 0
    }

    /// Joins once, as an NFS-root node does in its RAM disk before its root's init takes over:
    /// tries until the master welcomes this machine (waiting for approval, backing off as a drone
    /// does), then ends the session. The key is this boot's, in memory only: the node never
    /// reconnects. Returns what came with the welcome; throws when the image cannot join.
    static func joinOnce(root: String, address: String, say: @escaping (String) -> Void) throws -> (JoinReply.Welcome, [JoinFile]) {
        guard let text = SystemFile.text(rooted(root, JoinSettings.path)), let settings = JoinSettings.parse(text) else {
            throw NFSRootProblem("\(JoinSettings.path) is missing or unreadable: this image cannot join a master", hint: "build again")
        }
        let tpm = rooted(root, TPMDevice.resourceManager)
        var session = JoinSession(
            settings: settings, keys: KeyPair.generate(), root: root, tpm: SystemFile.exists(tpm) ? tpm : nil, say: say)
        session.once = true
        var hello = JoinHello(
            macs: cardMACs(root: root), uuid: firmware("product_uuid", root: root), serial: firmware("product_serial", root: root),
            address: address)
        hello.wantsFiles = true
        guard let joined = keepJoining(&session, say: say, hello: { hello }) else {
            throw NFSRootProblem("the join with \(settings.master) ended without a welcome", hint: nil)
        }
        return joined
    }

    /// Sessions one after another until killed, or until one ends in a welcome with `once`.
    static func keepJoining(
        _ session: inout JoinSession, say: (String) -> Void, hello: () -> JoinHello
    ) -> (JoinReply.Welcome, [JoinFile])? {
        var failures = 0
        var lastReason: String?
        while true {
            switch session.attempt(hello()) {
            case .welcomed(let welcome, let files):
                return (welcome, files)
            case .closedAfterJoining:
                failures = 0
                lastReason = nil
                say("clump: join: the session with \(session.settings.master) ended; this node keeps its keys and reconnects")
            case .failed(let reason):
                let pause = backoff(after: failures)
                failures += 1
                // A master that is down for a while: the reason once, then now and then (8, 16, 32 tries ...).
                if reason != lastReason || (failures >= 8 && failures & (failures - 1) == 0) {
                    say("clump: join: \(reason); trying again in \(pause) s" + (failures > 1 ? " (try \(failures))" : ""))
                }
                lastReason = reason
                sleep(milliseconds: pause * 1000)
                continue
            }
            sleep(milliseconds: 1000)
        }
    }

    /// This boot's key: made once per boot, from the kernel's random pool, kept in RAM (/run) so
    /// a restarted join is the same drone the master approved.
    static func sessionKey(root: String) throws -> KeyPair {
        let directory = rooted(root, JoinedFiles.directory)
        try SystemFile.makeDirectories(directory, mode: 0o711)
        let path = directory + "/session.key"
        if let bytes = try? SystemFile.read(path), let pair = JoinKeyFile.keyPair(from: bytes) { return pair }
        let pair = KeyPair.generate()
        try SystemFile.writeAtomically(JoinKeyFile.contents(of: pair), to: path, mode: 0o400)
        return pair
    }

    /// Every ethernet card's MAC, from /sys/class/net (loopback and all-zero addresses left out).
    static func cardMACs(root: String) -> [String] {
        let base = rooted(root, "/sys/class/net")
        guard let directory = opendir(base) else { return [] }
        defer { closedir(directory) }
        var macs: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix("."), name != "lo",
                let text = SystemFile.text(base + "/" + name + "/address")?.split(separator: "\n").first.map(String.init),
                text.count == 17, text != "00:00:00:00:00:00"
            else { continue }
            macs.append(text)
        }
        return macs.sorted()
    }

    /// A DMI string (`product_uuid`, `product_serial`), if the firmware has one.
    static func firmware(_ name: String, root: String) -> String? {
        guard let text = SystemFile.text(rooted(root, "/sys/class/dmi/id/" + name)) else { return nil }
        let value = text.split(separator: "\n").first.map(String.init) ?? ""
        return value.isEmpty ? nil : value
    }
}

/// One drone's sessions with the master: connect, handshake, hello, then the master's replies.
struct JoinSession {
    enum Outcome: Equatable {
        /// Joined, and later the master closed the session (or it broke).
        case closedAfterJoining
        /// Not joined: why, for the console.
        case failed(String)
        /// Joined, with the files that followed the welcome; the session is closed (`once`).
        case welcomed(JoinReply.Welcome, [JoinFile])
    }

    let settings: JoinSettings
    let keys: KeyPair
    let root: String
    /// The TPM to prove, if the machine has one.
    let tpm: String?
    let say: (String) -> Void
    /// The last code shown, so a reconnect with a new code says so once.
    var shownCode: String?
    var joined = false
    /// The TPM's last problem, said once.
    var tpmProblem: String?
    /// The TPM's keys made ahead, for the first session.
    var prepared: TPMAttestation?
    /// The TPM could not open a credential of the master's: the sessions of this boot go without it.
    var tpmFailed = false
    /// Join, take the welcome and its files, and end the session (an NFS-root node before its
    /// root's init takes over): nothing is written, the caller lays the files.
    var once = false

    init(settings: JoinSettings, keys: KeyPair, root: String, tpm: String? = nil, say: @escaping (String) -> Void) {
        self.settings = settings
        self.keys = keys
        self.root = root
        self.tpm = tpm
        self.say = say
    }

    /// The TPM's keys for one session; a TPM that fails is said once, and the drone joins as one without.
    mutating func attestation() -> TPMAttestation? {
        guard let tpm else { return nil }
        do {
            let attestation = try TPMAttestation(path: tpm)
            tpmProblem = nil
            return attestation
        } catch {
            let problem = "\(error)"
            if problem != tpmProblem { say("clump: join: the TPM at \(tpm) cannot be used, joining without it: \(problem)") }
            tpmProblem = problem
            return nil
        }
    }

    mutating func attempt(_ hello: JoinHello) -> Outcome {
        var hello = hello
        // Made per session (the attestation key lives in the TPM only while the device is open).
        let attestation = tpmFailed ? nil : prepared ?? attestation()
        prepared = nil
        if let attestation { hello.tpm = (attestation.endorsementKey, attestation.attestationName) }
        let connection: StreamConnection
        do {
            connection = try StreamConnection(host: settings.master, port: settings.port, timeoutMilliseconds: 5000)
        } catch {
            return .failed("cannot reach the master at \(settings.master) port \(settings.port): \(error)")
        }
        defer { connection.close() }
        var noise = NoiseXK.initiator(localStatic: keys, remoteStatic: settings.masterKey, prologue: JoinWire.prologue)
        var transport: Transport
        do {
            try connection.send(FrameReader.frame(noise.write()))
            guard let answer = try connection.receive(timeoutMilliseconds: 10_000) else {
                return .failed(
                    "\(settings.master) closed the connection during the handshake: it does not hold this image's master "
                        + "key (a rogue server, or the master's join key was remade), or it is full")
            }
            _ = try noise.read(answer)
            try connection.send(FrameReader.frame(noise.write()))
            transport = noise.split()
            try connection.send(FrameReader.frame(transport.seal(hello.message.bytes)))
        } catch NoiseXK.Failure.authentication {
            return .failed(
                "\(settings.master) answered with another key than this image's master: refused (a rogue server, "
                    + "or the master's join key was remade: boot the new image)")
        } catch {
            return .failed("the handshake with \(settings.master) failed: \(error)")
        }
        let code = ApprovalCode.code(seed: noise.approvalSeed ?? [])
        while true {
            let frame: [UInt8]?
            do {
                // The master sends a keep-alive now and then; silence this long means it is gone.
                frame = try connection.receive(timeoutMilliseconds: JoinWire.silenceMilliseconds)
            } catch {
                return joined ? .closedAfterJoining : .failed("the session with \(settings.master) broke: \(error)")
            }
            guard let frame else {
                return joined ? .closedAfterJoining : .failed("\(settings.master) closed the session")
            }
            guard let plain = transport.open(frame), let message = JoinMessage.parse(plain) else {
                return .failed("\(settings.master) sent a message that does not authenticate")
            }
            if message.kind == JoinWire.keepAlive { continue }
            switch JoinReply(message) {
            case .wait?:
                if shownCode != code {
                    shownCode = code
                    say("clump: waiting for approval by \(settings.master), code \(code)")
                }
                writeState("waiting \(code) \(settings.master)")
            case .welcome(let welcome)? where once:
                var assembler = JoinFile.Assembler()
                do {
                    while assembler.files.count < welcome.files {
                        guard let frame = try connection.receive(timeoutMilliseconds: JoinWire.silenceMilliseconds),
                            let plain = transport.open(frame), let part = JoinMessage.parse(plain)
                        else { return .failed("\(settings.master) did not send the \(welcome.files) files it announced") }
                        try assembler.add(part)
                    }
                } catch {
                    return .failed("the files from \(settings.master) were not whole: \(error)")
                }
                say("clump: joined \(settings.master) (approved by \(welcome.approvedBy))")
                return .welcomed(welcome, assembler.files)
            case .welcome(let welcome)?:
                do {
                    try deliver(welcome)
                } catch {
                    return .failed("cannot keep the keys: \(error)")
                }
                if !joined {
                    say("clump: joined \(settings.master) (approved by \(welcome.approvedBy))")
                }
                joined = true
                writeState("joined \(settings.master) \(welcome.approvedBy)")
            case .challenge(let credential, let secret)?:
                guard let attestation else { return .failed("\(settings.master) asked for a TPM proof, and this drone sent no TPM") }
                do {
                    let recovered = try attestation.activate(credential: credential, secret: secret)
                    try connection.send(FrameReader.frame(transport.seal(JoinProof.message(recovered).bytes)))
                } catch {
                    // Trying the same TPM again would fail the same way: from now on this machine asks
                    // as one without, which an operator can approve (and a node bound to its TPM is refused, saying why).
                    tpmFailed = true
                    return .failed("the TPM could not open the master's credential (\(error)); joining without it from now on")
                }
            case .refused(let reason)?:
                writeState("refused \(settings.master)")
                return .failed("\(settings.master) refused this machine: \(reason)")
            case nil:
                return .failed("\(settings.master) sent '\(message.kind)', which this drone does not know")
            }
        }
    }

    /// The keys, into RAM: root-only files on /run, the MUNGE key owned by munged's user. Each file
    /// appears whole and with its final owner (the announcer and munged start once theirs exists).
    /// The announcement keys go previous, current, next: the announcer reads them again when one
    /// changes, and between two renames it holds every key in use (at an epoch's start the old
    /// current key becomes the previous one before the next becomes current).
    func deliver(_ welcome: JoinReply.Welcome) throws {
        try SystemFile.makeDirectories(rooted(root, JoinedFiles.directory), mode: 0o711)
        func keep(_ key: [UInt8]?, at path: String) throws {
            let path = rooted(root, path)
            if let key {
                // Unchanged files are left alone: the announcer rereads what changed, not every push.
                let contents = ClusterKeyFile.contents(of: key)
                if (try? SystemFile.read(path, limit: 4096)) != contents {
                    try SystemFile.writeAtomically(contents, to: path, mode: 0o400)
                }
            } else {
                unlink(path)
            }
        }
        try keep(welcome.previousKey, at: JoinedFiles.previousClusterKey)
        if let key = welcome.mungeKey, (try? SystemFile.read(rooted(root, JoinedFiles.mungeKey), limit: 4096)) != key {
            let path = rooted(root, JoinedFiles.mungeKey)
            let staged = path + ".new"
            try SystemFile.writeAtomically(key, to: staged, mode: 0o400)
            let settings = SystemFile.text(rooted(root, EngineSettings.path)).flatMap(EngineSettings.parse)
            let munge = settings?.mungeUID ?? SlurmNode.mungeUser.id
            if getuid() == 0 { try syscall("chown", path: staged) { chown(staged, munge, munge) } }
            try syscall("rename", path: path) { rename(staged, path) }
        }
        try keep(welcome.clusterKey, at: JoinedFiles.clusterKey)
        try keep(welcome.nextKey, at: JoinedFiles.nextClusterKey)
    }

    func writeState(_ text: String) {
        try? SystemFile.writeAtomically(Array((text + "\n").utf8), to: rooted(root, JoinedFiles.state), mode: 0o644)
    }
}
