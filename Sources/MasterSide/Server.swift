import AgentSupport
import AutoMap
import BootMenus
import Foundation
import HostTools
import ImageSpec
import JoinProtocol

/// `clumpbuild serve`: dnsmasq in the foreground with the generated configuration, its log turned into
/// one line per booting machine, and enrolment of unknown ones without a restart.
public final class Server {
    /// What to serve and how.
    public struct Options: Sendable {
        public var specPath: String?
        public var outDir: String
        public var interface: String
        public var proxy: Bool
        public var enrol: Bool
        /// Only the join service: the site keeps its own DHCP and TFTP.
        public var joinOnly: Bool = false
        /// What `enrol` takes at most, how fast and for how long.
        public var limits: EnrolmentLimits
        public var dnsmasq: String
        /// Where `output` writes: when its reader goes away, serving stops.
        public var outputDescriptor: Int32

        public init(
            specPath: String?, outDir: String, interface: String, proxy: Bool, enrol: Bool, joinOnly: Bool = false,
            limits: EnrolmentLimits = .init(), dnsmasq: String = "dnsmasq", outputDescriptor: Int32 = STDOUT_FILENO
        ) {
            self.limits = limits
            self.specPath = specPath
            self.outDir = outDir
            self.interface = interface
            self.proxy = proxy
            self.enrol = enrol
            self.joinOnly = joinOnly
            self.dnsmasq = dnsmasq
            self.outputDescriptor = outputDescriptor
        }
    }

    private let options: Options
    private let output: (String) -> Bool

    /// `output` prints a line and says whether its reader is still there.
    public init(options: Options, output: @escaping (String) -> Bool) {
        self.options = options
        self.output = output
    }

    /// Generates, checks the LAN, then serves until stopped; returns the exit status (128 + N for signal N,
    /// 141 when the output closed, 1 when dnsmasq ended by itself).
    public func run() throws -> Int32 {
        var inputs = try MasterInputs.load(specPath: options.specPath)
        let generator = Generator(
            spec: inputs.spec, inventory: inputs.inventory, outDir: options.outDir, interface: options.interface)
        let report = try generator.generate()
        _ = output(report.render())
        guard let network = inputs.spec.cluster.network else {
            throw inputs.spec.error("cluster.network", "serve needs the cluster network", hint: "set it in the spec")
        }
        let address = try Self.address(of: options.interface, on: network)
        if let master = inputs.spec.cluster.effectiveMaster, master != address {
            _ = output(
                "clump: warning: \(options.interface) has \(address), but cluster.master is \(master): ISC dhcpd and "
                    + "Kea configurations name \(master) as the TFTP server")
        }
        let join = try startJoin(inputs, address: address)
        if options.joinOnly {
            guard let join else {
                throw inputs.spec.error(
                    "cluster.join", "serve --join-only with cluster.join open: there is nothing to join",
                    hint: "an open image carries its keys; set cluster.join to approve")
            }
            StopSignals.install()
            _ = output(
                "clump: serving joins only on \(address) port \(join.options.port) (\(inputs.spec.cluster.join.rawValue)); Ctrl-C stops")
            _ = output(epochLine(join, inputs))
            return try serveJoins(join, &inputs, process: nil, log: nil, monitor: nil)
        }
        if !options.proxy {
            let others = try DHCPServerProbe.servers(on: options.interface, mac: Self.mac(of: options.interface))
            if !others.isEmpty {
                throw MasterSideError(
                    "another DHCP server already answers here (\(others.map(\.description).joined(separator: ", "))); "
                        + "a second one would hand out conflicting addresses",
                    subject: options.interface,
                    hint: "serve with --proxy: that server keeps handing out addresses and clump only says what to boot")
            }
        }

        let dir = generator.directory
        let config = dir + "/" + (options.proxy ? MasterLayout.dnsmasqProxy : MasterLayout.dnsmasq)
        let monitor = ServeMonitor(
            inventory: inputs.inventory, cluster: inputs.spec.cluster, tftpRoot: dir + "/" + MasterLayout.tftp,
            enrol: options.enrol && !options.proxy, limits: options.limits)
        if options.enrol && !options.proxy {
            _ = output(
                "clump: enrolling unknown machines for \(Int(options.limits.window / 60)) min: at most "
                    + "\(options.limits.max), \(options.limits.perMinute) a minute")
        }
        if options.enrol && options.proxy {
            _ = output("clump: warning: --enrol needs full DHCP (addresses come from another server with --proxy)")
        }

        StopSignals.install()

        let process = Process()
        process.executableURL = try Self.locate(options.dnsmasq)
        let user = try DnsmasqUser.prepare(tftpRoot: dir + "/" + MasterLayout.tftp)
        process.arguments = [
            "--keep-in-foreground", "--conf-file=\(config)", "--interface=\(options.interface)", "--bind-interfaces",
            "--log-facility=-", "--pid-file=", "--user=\(user.name)", "--group=\(user.group)",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = try DnsmasqUser.capabilityShim()
        process.environment = environment
        let log = Pipe()
        process.standardError = log
        process.standardOutput = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        _ = output(
            "clump: serving \(options.proxy ? "proxy DHCP" : "DHCP") and TFTP on \(options.interface) (\(address)) for "
                + "\(network), \(inputs.inventory.nodes.count) known nodes; Ctrl-C stops")
        if let join {
            _ = output(
                "clump: joins on \(address) port \(join.options.port): \(inputs.spec.cluster.join.rawValue)"
                    + (join.options.window.map { ", and up to \($0.max) machines for \(Int($0.window / 60)) min (--enrol)" } ?? ""))
        }
        if let join { _ = output(epochLine(join, inputs)) }
        return try serveJoins(join, &inputs, process: (process, user), log: log.fileHandleForReading.fileDescriptor, monitor: monitor)
    }

    /// The key epoch in use, and where the master's own view finds its keys.
    private func epochLine(_ join: JoinService, _ inputs: MasterInputs) -> String {
        let hours = Double(inputs.spec.cluster.keyEpoch) / 3600
        let directory = options.outDir + "/" + Self.joinDirectory
        return "clump: join: key epoch \(join.epoch), a new one every \(String(format: "%g", hours)) h and at each revoke; "
            + "the master's view: clumpview --join \(inputs.spec.cluster.network?.description ?? "NETWORK") --key \(directory)/cluster.key"
    }

    /// The join service, unless the build is open (then the loud warning instead).
    private func startJoin(_ inputs: MasterInputs, address: IPv4Address) throws -> JoinService? {
        let spec = inputs.spec
        guard spec.cluster.effectiveJoin != .open else {
            _ = output(
                "clump: warning: cluster.join is open: the images carry the cluster key"
                    + (spec.engine.isOn ? " and the MUNGE key" : "") + ", so any PC that boots them (or reads them over TFTP) "
                    + "joins the cluster; isolated networks only")
            return nil
        }
        let keyFile = spec.resolve(spec.cluster.joinKeyFile)
        guard let bytes = FileManager.default.contents(atPath: keyFile), let keys = JoinKeyFile.keyPair(from: Array(bytes)) else {
            throw MasterSideError(
                "no join key", subject: keyFile, hint: "`clumpbuild build` makes it (and the images that pin it); build first")
        }
        func read(_ path: String, _ what: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw MasterSideError("cannot read \(what), which approved drones get", subject: path, hint: "build first")
            }
            return Array(data)
        }
        // The key itself, as the drones' announcers and the master's view take it from a key file.
        func key(_ path: String, _ what: String) throws -> [UInt8] {
            guard let key = ClusterKeyFile.key(from: try read(path, what)) else {
                throw MasterSideError("\(what) is too short to be a key", subject: path, hint: "delete it and build again")
            }
            return key
        }
        var delivery = JoinDelivery(
            clusterKey: try key(spec.resolve(spec.cluster.keyFile), "the cluster key"),
            previousKey: try spec.cluster.previousKeyFile.map { try key(spec.resolve($0), "the previous cluster key") },
            mungeKey: spec.engine.isOn ? try read(spec.resolve(spec.engine.slurm.mungeKeyFile), "the MUNGE key") : nil)
        // The welcome carries them hex-encoded in one frame.
        let carried = delivery.clusterKey.count + (delivery.previousKey?.count ?? 0) + (delivery.mungeKey?.count ?? 0)
        guard 2 * carried + 256 <= FrameReader.maximum else {
            throw MasterSideError(
                "the keys drones get are \(carried) bytes, more than a join message holds (\(FrameReader.maximum / 2 - 128))",
                subject: spec.resolve(spec.engine.slurm.mungeKeyFile), hint: "a MUNGE key of 1024 bytes (mungekey's default) fits")
        }
        let directory = options.outDir + "/" + Self.joinDirectory
        try MasterSideError.wrapping { try SystemFile.makeDirectories(directory, mode: 0o700) }
        if inputs.inventory.nodes.contains(where: { $0.boot == .nfsroot }) {
            let secrets = NodeSecrets(
                directory: directory + "/" + Self.nodeSecrets, defaultRoot: spec.nfsroot.root, mungeKey: delivery.mungeKey)
            let knownHosts = options.outDir + "/master/" + Self.knownHosts
            let made = try secrets.prepare(inputs.inventory, knownHosts: knownHosts)
            _ = output(
                "clump: join: NFS-root nodes get their SSH host keys and the root's password hashes in their session"
                    + (made > 0 ? " (\(made) host keys made)" : "") + "; their public keys: \(knownHosts)")
            delivery.secrets = secrets
        }
        var joinOptions = JoinService.Options(
            address: address, controlPath: directory + "/" + Self.controlSocket, policy: spec.cluster.join,
            window: options.enrol ? options.limits : nil)
        joinOptions.mungeKeyFile = spec.engine.isOn ? spec.resolve(spec.engine.slurm.mungeKeyFile) : nil
        return try JoinService(
            options: joinOptions, keys: keys, delivery: delivery, records: try JoinRecords(path: directory + "/approved"),
            inventory: inputs.inventory, now: Self.now(), revocations: try JoinRevocations(path: directory + "/revoked"),
            epochs: .init(files: KeyEpochs.Files(directory: directory), length: spec.cluster.keyEpoch))
    }

    /// Where serve keeps the join's state and its control socket, inside the output directory.
    public static let joinDirectory = "join"
    public static let controlSocket = "control.sock"
    /// The NFS-root nodes' host keys, a directory each, inside the join's directory.
    public static let nodeSecrets = "nodes"
    /// The public halves, beside the master's generated files.
    public static let knownHosts = "ssh_known_hosts"

    /// The loop: dnsmasq's log (unless join-only), the output's reader, and the join service.
    private func serveJoins(
        _ join: JoinService?, _ inputs: inout MasterInputs, process: (Process, DnsmasqUser.Account)?, log fd: Int32?,
        monitor initial: ServeMonitor?
    ) throws -> Int32 {
        var monitor = initial
        func stop() { if let process { HostProgram.stop(process.0) } }
        let started = Self.now()
        var checked = false
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        var recent: [String] = []
        func say(_ text: String) -> Bool {
            guard output(text) else {
                stop()
                return false
            }
            return true
        }
        while true {
            if StopSignals.requested != 0 {
                stop()
                return 128 + StopSignals.requested
            }
            // The output is watched too: a reader that went away (`serve | grep -m1 node11`) shows as an
            // error on a pipe's write end even while no machine boots and nothing is written.
            var fds = [
                pollfd(fd: fd ?? -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: options.outputDescriptor, events: 0, revents: 0),
            ] + (join?.descriptors(now: Self.now()) ?? [])
            let ready = poll(&fds, nfds_t(fds.count), 200)
            if ready < 0 && errno != EINTR { break }
            if fds[1].revents & Int16(POLLERR | POLLHUP) != 0 {
                stop()
                return 141
            }
            let now = Self.now()
            if let join {
                for event in join.handle(Array(fds.dropFirst(2)), now: now) + join.tick(now: now) {
                    switch event {
                    case .print(let text):
                        guard say(text) else { return 141 }
                    case .revoked(let node, _):
                        guard let node, inputs.spec.engine.isOn else { continue }
                        guard say(Self.removeFromController(node)) else { return 141 }
                    case .approved(let macs, let address, let by, let tpm):
                        // A machine an operator (or the window) let in becomes a known node, for `known-macs` and its
                        // name, bound to the TPM it proved so that it joins by itself from then on. A TPM's own
                        // approval never adds a card: it proves that node, not the MACs the drone claims.
                        guard by != "tpm" else { continue }
                        let cards = macs.compactMap { MACAddress(parsing: $0) }
                        let inventory = inputs.inventory
                        if let known = cards.lazy.compactMap({ inventory.node(with: $0) }).first {
                            if let tpm, known.tpm == nil, by == "operator" {
                                guard say(
                                    "clump: join: the machine you approved as \(known.name) proved its TPM: add `tpm: \"\(tpm)\"` "
                                        + "to its entry in \(inputs.spec.resolve(inputs.spec.cluster.nodes)) and it joins by "
                                        + "itself from then on")
                                else { return 141 }
                            }
                            continue
                        }
                        let lease = address.flatMap { try? IPv4Address(parsing: $0) }
                        guard let mac = cards.first,
                            let next = inputs.inventory.freeAddress(preferring: lease, in: inputs.spec.cluster)
                        else {
                            continue
                        }
                        guard say(enrol(mac, next, tpm: tpm, &inputs)) else { return 141 }
                        monitor?.enrolled(inputs.inventory)
                        join.update(inventory: inputs.inventory)
                    }
                }
            }
            // dnsmasq drops root once its sockets are open: say what it kept, once, when it has.
            if let (process, user) = process, !checked, now - started > 1 {
                checked = true
                let (line, ok) = DnsmasqUser.describe(pid: process.processIdentifier, user: user)
                guard say(line) else { return 141 }
                if !ok {
                    stop()
                    return 1
                }
            }
            guard var current = monitor, let fd else { continue }
            for case .print(let text) in current.tick(at: now) {
                guard say(text) else { return 141 }
            }
            monitor = current
            guard ready > 0, fds[0].revents != 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                recent = Array((recent + [line]).suffix(5))
                for action in current.feed(line, at: now) {
                    switch action {
                    case .print(let text):
                        guard say(text) else { return 141 }
                    case .enrol(let mac, let address):
                        guard say(enrol(mac, address, &inputs)) else { return 141 }
                        current.enrolled(inputs.inventory)
                        join?.update(inventory: inputs.inventory)
                    }
                }
            }
            monitor = current
        }
        guard let process else { throw MasterSideError("the join service's poll failed", subject: options.interface) }
        process.0.waitUntilExit()
        throw MasterSideError(
            "dnsmasq stopped (status \(process.0.terminationStatus)): " + recent.joined(separator: " | "),
            subject: options.interface, hint: "another DHCP or TFTP server may hold ports 67 or 69 here")
    }

    /// Appends the card to the inventory (checked first, written by rename) and regenerates: dnsmasq reads
    /// the new host file by itself, so the machine gets its address on its next boot. The caller then tells
    /// its monitor (`ServeMonitor.enrolled`), whether this worked or not.
    private func enrol(_ mac: MACAddress, _ address: IPv4Address, tpm: String? = nil, _ inputs: inout MasterInputs) -> String {
        let file = inputs.spec.resolve(inputs.spec.cluster.nodes)
        let old = FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) }
            ?? "# clump node inventory: one entry per machine (see README, `The node inventory`).\n"
        // The time, so an admin can tell what serve enrolled, and when, from what they wrote themselves.
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = old + (old.hasSuffix("\n") || old.isEmpty ? "" : "\n")
            + Inventory.enrolmentLine(mac: mac, address: address, tpm: tpm) + "  # enrolled by clumpbuild serve \(stamp)\n"
        do {
            let inventory = try InventoryLoader.parse(yaml: text, file: file, cluster: inputs.spec.cluster, spec: inputs.spec)
            try AtomicWrite.write(Array(text.utf8), to: file, mode: 0o644)
            let report = try Generator(
                spec: inputs.spec, inventory: inventory, outDir: options.outDir, interface: options.interface
            ).generate()
            inputs.inventory = inventory
            let node = inventory.node(with: mac)
            return "clump: enrolled \(mac) as \(node?.name ?? "?") \(address)" + (tpm.map { " bound to TPM \(TPMFingerprint.short($0))..." } ?? "")
                + " in \(file) "
                + "(\(report.written.count) files written in \(String(format: "%.3f", report.seconds)) s); "
                + "it gets that address from its next DHCP request on"
        } catch {
            return "clump: could not enrol \(mac): \(error)"
        }
    }

    /// `scontrol delete` for a revoked node, on the controller this master's `scontrol` talks to:
    /// the drone registered itself as a dynamic node, and its jobs' allocations go with it.
    static func removeFromController(_ node: String) -> String {
        guard let scontrol = Executable.find("scontrol", extraDirectories: ["/usr/sbin", "/usr/bin"]) else {
            return "clump: join: no scontrol on this master: remove \(node) from the Slurm controller yourself "
                + "(`scontrol delete nodename=\(node)`)"
        }
        let result: (status: Int32, output: String)
        do {
            // scontrol gives up on an unreachable controller by itself (MessageTimeout); this bounds the wait anyway.
            result = try HostProgram.output(scontrol, ["delete", "nodename=\(node)"], timeout: 15)
        } catch {
            return "clump: join: cannot run scontrol to remove \(node) from the controller: \(error)"
        }
        let said = result.output.split(separator: "\n").joined(separator: " | ")
        return result.status == 0
            ? "clump: join: \(node) removed from the Slurm controller (scontrol delete nodename=\(node))"
            : "clump: join: scontrol could not remove \(node) from the controller (status \(result.status)): \(said)"
    }

    /// Seconds of the monotonic clock, for the monitor's rates and windows.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The interface's IPv4 address on the cluster network.
    static func address(of interface: String, on network: IPv4Network) throws -> IPv4Address {
        let entry = InterfaceAddresses.ipv4().first { $0.interface == interface }
        let exists = entry != nil
        let found = (entry?.addresses ?? []).map { IPv4Address($0) }
        guard exists else {
            throw MasterSideError("no such network interface", subject: interface, hint: "`ip link` lists them")
        }
        guard let address = found.first(where: network.contains) else {
            let has = found.isEmpty ? "no IPv4 address" : "only " + found.map(\.description).joined(separator: ", ")
            let example = network.hosts.map { "\($0.lowerBound)/\(network.prefix)" } ?? network.description
            throw MasterSideError(
                "has \(has), none on the cluster network \(network)", subject: interface,
                hint: "give it one, e.g. `ip addr add \(example) dev \(interface)`, or fix cluster.network")
        }
        return address
    }

    static func mac(of interface: String) -> [UInt8] {
        let text = (try? String(contentsOfFile: "/sys/class/net/\(interface)/address", encoding: .utf8)) ?? ""
        return MACAddress(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))?.bytes ?? [2, 0, 0, 0, 0, 1]
    }

    static func locate(_ program: String) throws -> URL {
        if let found = Executable.find(program, extraDirectories: ["/usr/sbin", "/sbin"]) { return found }
        throw MasterSideError("\(program) not found", subject: program, hint: "apt-get install dnsmasq-base")
    }
}
