import AutoMap
import Glibc
import NetProbe

/// Auto mode, HOWTO chapter 7's "autoprobe for network cards, and, if any are detected, try
/// to configure them via DHCP ... create a mosix.map file": probe and load NIC drivers, bring
/// cards up, DHCP on every card with carrier at once (or the static `ip=`), derive the map,
/// write the files, apply it to a MOSIX kernel. One console line per step:
/// ```
/// clump: nic eth0 52:54:00:12:34:56 driver e1000
/// clump: lease eth0 10.0.2.15/24 router 10.0.2.2 server 10.0.2.2
/// clump: node 15 network 10.0.2.0/24 map 1 10.0.2.1 254
/// clump: primary eth0: the only card with a lease
/// ```
/// DHCP gets `firstAttemptSeconds` in the foreground; then a child process keeps the client
/// running (renewals, late servers, late cables) and the boot goes on to the shells, so a
/// drone with no DHCP server is still usable. Every change is written to `/run/clump/status`.
final class AutoMode {
    /// How long the boot waits for leases before going on.
    static let firstAttemptSeconds = 10.0

    let root: String
    let say: (String) -> Void
    /// The cluster network and the boot card from the command line: which card is the primary.
    let hints: PrimaryHints
    /// False in tests: no sethostname, no fork.
    let isDrone: Bool
    var status: NodeStatus
    var cards: [NetworkInterface] = []
    var leases: [String: DHCPLease] = [:]
    var lastSummary: String?
    var inBackground = false
    /// Whether a child keeps the DHCP client running after the boot (not when another init takes over).
    var keepsDHCPRunning = true

    init(
        root: String, mode: String, isDrone: Bool, hints: PrimaryHints = .none, say: @escaping (String) -> Void
    ) {
        self.root = root
        self.say = say
        self.hints = hints
        self.isDrone = isDrone
        status = NodeStatus(state: .probing, mode: mode)
    }

    /// The boot step.
    static func step(_ context: BootContext) throws {
        let auto = AutoMode(
            root: context.root, mode: context.options.mode.rawValue, isDrone: getpid() == 1,
            hints: context.options.hints, say: context.say)
        try auto.run(ipParameter: context.commandLine.value("ip") ?? nil)
    }

    func run(ipParameter: String?) throws {
        publish()
        let ip = try ipParameter.map { try KernelIPParameter.parse(value: $0) }
        if case .off = ip {
            say("clump: ip=off on the command line: no network configuration")
            status.state = .off
            return publish()
        }
        let probe = try NICProbe(root: root)
        let netlink = try NetlinkRoute()
        var opened = Set<String>()
        try probe.loadDrivers(say: { self.say("clump: " + $0) }) {
            // While USB devices are still arriving, the cards already here negotiate their links.
            guard let cards = try? probe.interfaces() else { return }
            opened.formUnion(probe.openReady(cards, opened: opened, netlink: netlink) { self.say("clump: " + $0) })
        }
        var found = try probe.interfaces()
        status.interfaces = found.map(\.name)
        if found.isEmpty {
            say("clump: no network card found: no driver in the image matches a device (clumpnode probe --dry-run lists them)")
            status.state = .noCard
            status.message = "no network card found"
            return publish()
        }
        found = probe.bringUp(found, netlink: netlink) { self.say("clump: " + $0) }
        cards = found
        for card in found { say("clump: \(card)") }
        for card in found where !card.carrier {
            say("clump: no carrier on \(card.name) after 5 s: is the cable in? (DHCP keeps trying on it)")
        }

        if case .static(let configuration) = ip {
            let card = configuration.device.flatMap { name in found.first { $0.name == name } }
                ?? found.first(where: \.carrier) ?? found[0]
            let lease = try DHCPClient.configureStatic(configuration, interface: card.name)
            say("clump: lease \(lease) (static, from ip=)")
            leases[card.name] = lease
            return configure()
        }

        var targets = found.filter(\.carrier)
        if case .dhcp(let device?) = ip {
            targets = found.filter { $0.name == device }
            if targets.isEmpty { say("clump: ip= names \(device), which is not an ethernet card here; using all") }
        }
        if targets.isEmpty {
            // No cable anywhere yet: ask on every card, so plugging one in later is enough.
            targets = found
            status.state = .noCarrier
            status.message = "no carrier on " + found.map(\.name).joined(separator: ", ")
        } else {
            status.state = .waitingForDHCP
        }
        publish()

        let names = targets.map(\.name)
        let client = try DHCPClient(interfaces: names)
        try client.run(seconds: Self.firstAttemptSeconds) { event in
            handle(event)
            return names.allSatisfy { leases[$0] != nil } ? .stop : .keepRunning
        }
        for name in names where leases[name] == nil {
            say("clump: no DHCP answer yet on \(name) after \(Int(Self.firstAttemptSeconds)) s; still trying in the background")
        }
        if leases.isEmpty {
            status.state = status.state == .noCarrier ? .noCarrier : .waitingForDHCP
            status.message = "no DHCP answer yet on " + names.joined(separator: ", ")
            publish()
        } else {
            configure()
        }
        if isDrone && keepsDHCPRunning { keepRunning(client) }
    }

    /// Forks the child that runs the DHCP client for the life of the node. PID 1 reaps it like
    /// any child; at shutdown it is killed with the rest.
    func keepRunning(_ client: DHCPClient) {
        let pid = fork()
        if pid < 0 {
            say("clump: cannot start the background DHCP client: \(AgentError(operation: "fork", code: errno))")
            return
        }
        if pid > 0 { return }
        // The child: PID 1's handlers would write our signals into PID 1's signal pipe.
        for signal in SignalMap.handled { Glibc.signal(signal, SIG_DFL) }
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        inBackground = true
        do {
            try client.run { event in
                handle(event)
                return .keepRunning
            }
        } catch {
            say("clump: the background DHCP client stopped: \(error)")
        }
        _exit(1)
    }

    func handle(_ event: DHCPEvent) {
        switch event {
        case .bound(let lease):
            leases[lease.interface] = lease
            say("clump: \(event)")
            if inBackground { configure() }
        case .renewed(let lease):
            let changed = leases[lease.interface]?.address != lease.address
            leases[lease.interface] = lease
            if changed {
                say("clump: \(event)")
                configure()
            }
        case .expired(let lease):
            leases[lease.interface] = nil
            say("clump: \(event)")
            configure()
        case .nak, .failed:
            say("clump: \(event)")
        case .noAnswer(_, let attempt, _):
            // In the background, say so now and then (attempts 8, 16, 32, ...), not every few seconds.
            if inBackground && attempt >= 8 && attempt & (attempt - 1) == 0 { say("clump: \(event)") }
        case .offered, .rebinding:
            break
        }
    }

    /// Derives the map from the leases in force, writes the files and status, applies MOSIX.
    func configure() {
        guard !leases.isEmpty else {
            status.state = .waitingForDHCP
            return publish()
        }
        let input = leases.values.map { lease in NodeFiles.lease(lease, card: cards.first { $0.name == lease.interface }) }
        do {
            let derived = try derive(leases: input, hints: hints)
            try NodeFiles.write(derived, root: root, setHostname: isDrone)
            status.configured(by: derived)
            publish()
            if derived.summary != lastSummary {
                lastSummary = derived.summary
                say("clump: \(derived.summary)")
                say("clump: primary \(derived.primary.interface): \(derived.reason)")
                derived.warnings.forEach { say("clump: " + $0) }
                if let line = MosixHook.apply(root: root) { say(line) }
            }
        } catch {
            status.state = .failed
            status.message = "\(error)"
            publish()
            say("clump: no cluster map: \(error)")
        }
    }

    func publish() {
        do {
            try NodeFiles.write(status, root: root)
        } catch {
            say("clump: cannot write \(NodeStatus.path): \(error)")
        }
    }
}
