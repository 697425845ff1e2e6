import AgentSupport
import AutoMap
import BootMenus
import Foundation
import HostTools
import ImageSpec

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
        /// What `enrol` takes at most, how fast and for how long.
        public var limits: EnrolmentLimits
        public var dnsmasq: String
        /// Where `output` writes: when its reader goes away, serving stops.
        public var outputDescriptor: Int32

        public init(
            specPath: String?, outDir: String, interface: String, proxy: Bool, enrol: Bool,
            limits: EnrolmentLimits = .init(), dnsmasq: String = "dnsmasq", outputDescriptor: Int32 = STDOUT_FILENO
        ) {
            self.limits = limits
            self.specPath = specPath
            self.outDir = outDir
            self.interface = interface
            self.proxy = proxy
            self.enrol = enrol
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
        var monitor = ServeMonitor(
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

        let started = Self.now()
        var checked = false

        let fd = log.fileHandleForReading.fileDescriptor
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        var recent: [String] = []
        while true {
            if StopSignals.requested != 0 {
                HostProgram.stop(process)
                return 128 + StopSignals.requested
            }
            // The output is watched too: a reader that went away (`serve | grep -m1 node11`) shows as an
            // error on a pipe's write end even while no machine boots and nothing is written.
            var fds = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: options.outputDescriptor, events: 0, revents: 0),
            ]
            let ready = poll(&fds, 2, 200)
            if ready < 0 && errno != EINTR { break }
            if fds[1].revents & Int16(POLLERR | POLLHUP) != 0 {
                HostProgram.stop(process)
                return 141
            }
            // dnsmasq drops root once its sockets are open: say what it kept, once, when it has.
            if !checked, Self.now() - started > 1 {
                checked = true
                let (line, ok) = DnsmasqUser.describe(pid: process.processIdentifier, user: user)
                _ = output(line)
                if !ok {
                    HostProgram.stop(process)
                    return 1
                }
            }
            for case .print(let text) in monitor.tick(at: Self.now()) {
                guard output(text) else {
                    HostProgram.stop(process)
                    return 141
                }
            }
            guard ready > 0, fds[0].revents != 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                recent = Array((recent + [line]).suffix(5))
                for action in monitor.feed(line, at: Self.now()) {
                    switch action {
                    case .print(let text):
                        guard output(text) else {
                            HostProgram.stop(process)
                            return 141
                        }
                    case .enrol(let mac, let address):
                        let text = enrol(mac, address, &inputs, &monitor)
                        guard output(text) else {
                            HostProgram.stop(process)
                            return 141
                        }
                    }
                }
            }
        }
        process.waitUntilExit()
        throw MasterSideError(
            "dnsmasq stopped (status \(process.terminationStatus)): " + recent.joined(separator: " | "),
            subject: options.interface, hint: "another DHCP or TFTP server may hold ports 67 or 69 here")
    }

    /// Appends the card to the inventory (checked first, written by rename) and regenerates: dnsmasq reads
    /// the new host file by itself, so the machine gets its address on its next boot.
    private func enrol(_ mac: MACAddress, _ address: IPv4Address, _ inputs: inout MasterInputs, _ monitor: inout ServeMonitor) -> String {
        let file = inputs.spec.resolve(inputs.spec.cluster.nodes)
        let old = FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) }
            ?? "# clump node inventory: one entry per machine (see README, `The node inventory`).\n"
        // The time, so an admin can tell what serve enrolled, and when, from what they wrote themselves.
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = old + (old.hasSuffix("\n") || old.isEmpty ? "" : "\n")
            + Inventory.enrolmentLine(mac: mac, address: address) + "  # enrolled by clumpbuild serve \(stamp)\n"
        do {
            let inventory = try InventoryLoader.parse(yaml: text, file: file, cluster: inputs.spec.cluster, spec: inputs.spec)
            try AtomicWrite.write(Array(text.utf8), to: file, mode: 0o644)
            let report = try Generator(
                spec: inputs.spec, inventory: inventory, outDir: options.outDir, interface: options.interface
            ).generate()
            inputs.inventory = inventory
            monitor.enrolled(inventory)
            let node = inventory.node(with: mac)
            return "clump: enrolled \(mac) as \(node?.name ?? "?") \(address) in \(file) "
                + "(\(report.written.count) files written in \(String(format: "%.3f", report.seconds)) s); "
                + "it gets that address from its next DHCP request on"
        } catch {
            return "clump: could not enrol \(mac): \(error)"
        }
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
