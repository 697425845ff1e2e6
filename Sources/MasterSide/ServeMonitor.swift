import AutoMap
import DroneProtocol
import ImageSpec

/// Turns dnsmasq's log into what an admin wants to see while machines boot: who asked, which address
/// it got, whether it is a known node, which files it fetched; and, for a machine not in the
/// inventory, the line that enrols it. A pure state machine: lines in, actions out.
public struct ServeMonitor: Sendable {
    /// What the server loop does for a log line.
    public enum Action: Sendable, Equatable {
        /// Print this line.
        case print(String)
        /// Add this card to the inventory at this address (with `--enrol`).
        case enrol(MACAddress, IPv4Address)
    }

    /// The known nodes; replaced after an enrolment.
    public var inventory: Inventory
    /// The cluster settings, for the next free address.
    public var cluster: Spec.Cluster
    /// The TFTP root, stripped from fetched paths.
    public var tftpRoot: String
    /// Whether unknown machines are enrolled, or only shown with their enrolment line.
    public var enrol: Bool
    /// How many machines enrolment takes, how fast, and for how long.
    public var limits: EnrolmentLimits

    /// How much of the serve's bookkeeping of machines seen is kept: a flood of invented cards
    /// pushes out the oldest, never grows it.
    static let capacity = 4096
    /// Lines about unknown machines shown per second; the rest are counted in one summary line.
    static let unknownLinesPerSecond = 5

    private var macOf = BoundedMap<String, MACAddress>(capacity: capacity)
    private var asking = BoundedMap<MACAddress, Bool>(capacity: capacity)
    private var reported = BoundedMap<MACAddress, Bool>(capacity: capacity)
    private var pending: [MACAddress: IPv4Address] = [:]
    private var started: Double?
    private var enrolments: [Double] = []
    private var closed = false
    private var budget = LineBudget(perSecond: unknownLinesPerSecond)

    /// How many machines the monitor keeps something about: bounded by `capacity` per table.
    var tracked: Int { macOf.count + asking.count + reported.count + pending.count }

    public init(
        inventory: Inventory, cluster: Spec.Cluster, tftpRoot: String, enrol: Bool, limits: EnrolmentLimits = .init()
    ) {
        self.inventory = inventory
        self.cluster = cluster
        self.tftpRoot = tftpRoot.hasSuffix("/") ? tftpRoot : tftpRoot + "/"
        self.enrol = enrol
        self.limits = limits
    }

    /// The summary of the last second's lines that were not shown, once that second is over; call it
    /// now and then (`serve` does, between log lines) with the seconds of a monotonic clock.
    public mutating func tick(at now: Double) -> [Action] {
        guard let held = budget.heldBack(at: now) else { return [] }
        var line = "clump: \(held) more lines about unknown machines in the last second, not shown one by one"
        if enrol { line += " (\(enrolments.count) of at most \(limits.max) enrolled)" }
        return [.print(line)]
    }

    /// A line about an unknown machine, unless this second already had its share (`tick` counts the rest).
    private mutating func aboutUnknown(_ line: String, at now: Double) -> [Action] {
        let actions = tick(at: now)
        return budget.admit(at: now) ? actions + [.print(line)] : actions
    }

    /// The actions for one line of dnsmasq's log (`dnsmasq-dhcp[PID]: DHCPACK(br0) 10.0.2.2 52:54:00:12:34:56 node2`),
    /// read at `now` (seconds of a monotonic clock).
    public mutating func feed(_ line: String, at now: Double = 0) -> [Action] {
        // A TFTP file name, a DHCP client's name: what dnsmasq logs comes from any PC on the LAN.
        read(line, at: now).map {
            if case .print(let text) = $0 { return .print(ConsoleText.printable(text, limit: 400)) }
            return $0
        }
    }

    private mutating func read(_ line: String, at now: Double) -> [Action] {
        if started == nil { started = now }
        guard let colon = line.range(of: "]: ") else { return line.isEmpty ? [] : [.print("dnsmasq: \(line)")] }
        let source = line[..<colon.lowerBound]
        let words = line[colon.upperBound...].split(separator: " ").map(String.init)
        guard let first = words.first else { return [] }
        if source.hasPrefix("dnsmasq-dhcp") { return dhcp(first, Array(words.dropFirst()), line, at: now) }
        if source.hasPrefix("dnsmasq-tftp") { return tftp(words, line) }
        if line[colon.upperBound...].hasPrefix("compile time options") { return [] }
        return [.print("dnsmasq: \(line[colon.upperBound...])")]
    }

    private mutating func dhcp(_ verb: String, _ rest: [String], _ line: String, at now: Double) -> [Action] {
        let kind = verb.prefix { $0 != "(" }
        switch kind {
        case "DHCPDISCOVER":
            guard let mac = rest.first.flatMap(MACAddress.init(parsing:)), asking.insert(mac, true) else { return [] }
            let text = "clump: \(who(mac)) asks for an address"
            return inventory.node(with: mac) == nil ? aboutUnknown(text, at: now) : [.print(text)]
        case "DHCPACK":
            guard rest.count >= 2, let address = try? IPv4Address(parsing: rest[0]),
                let mac = MACAddress(parsing: rest[1])
            else { return [] }
            asking.remove(mac)
            macOf.insert(rest[0], mac)
            return leased(mac, address, at: now)
        case "PXE":
            // Proxy mode: the address came from the other server; dnsmasq only said what to boot.
            guard let mac = rest.lazy.compactMap(MACAddress.init(parsing:)).first else { return [] }
            if rest.first.flatMap({ try? IPv4Address(parsing: $0) }) != nil { macOf.insert(rest[0], mac) }
            guard asking.insert(mac, true) else { return [] }
            let text = "clump: \(who(mac)) asks what to boot (proxy DHCP)"
            guard inventory.node(with: mac) == nil else { return [.print(text)] }
            return aboutUnknown(text, at: now) + unknown(mac, address: nil, at: now)
        case "DHCPNAK":
            return aboutUnknown(
                "clump: refused \(rest.joined(separator: " ")): an address of another network or lease", at: now)
        case "read":
            return []
        default:
            return kind.hasPrefix("DHCP") && kind != "DHCPINFORM" ? [] : [.print("dnsmasq: \(verb) \(rest.joined(separator: " "))")]
        }
    }

    private mutating func tftp(_ words: [String], _ line: String) -> [Action] {
        if words.count == 4, words[0] == "sent", words[2] == "to" {
            let file = relative(words[1])
            let client = macOf[words[3]].map { who($0) + " " } ?? ""
            return [.print("clump: \(client)\(words[3]) fetched \(file)")]
        }
        if words.count >= 4, words[0] == "file", words[2] == "not", words[3] == "found" {
            let file = relative(words[1])
            // Misses by design: iPXE's chain to a node script for every machine not in the inventory,
            // pxelinux's search through pxelinux.cfg (01-<mac>, the address in hex, shorter and shorter),
            // and GRUB's: the card's own menu (grub/nodes/<mac>.cfg), its module and font directories.
            if file.hasPrefix("nodes/") || file.hasPrefix("pxelinux.cfg/") || file.hasPrefix("grub/") { return [] }
            return [.print("clump: \(words.last ?? "?") asked for \(file), which is not in the TFTP root")]
        }
        if words.first == "cannot" {
            return [
                .print(
                    "clump: TFTP: \(words.joined(separator: " ")) (dnsmasq runs as \(DnsmasqUser.name): it serves "
                        + "files any user can read)")
            ]
        }
        return [.print("dnsmasq: \(words.joined(separator: " "))")]
    }

    private mutating func leased(_ mac: MACAddress, _ address: IPv4Address, at now: Double) -> [Action] {
        if let node = inventory.node(with: mac) {
            var line = "clump: \(node.name) \(mac) leased \(address) (known node)"
            if node.address != address { line += "; the inventory gives it \(node.address): it gets that on its next boot" }
            return [.print(line)]
        }
        return aboutUnknown("clump: new machine \(mac) leased \(address)", at: now) + unknown(mac, address: address, at: now)
    }

    /// An unknown card: its enrolment line once, or the enrolment itself while the limits allow.
    private mutating func unknown(_ mac: MACAddress, address: IPv4Address?, at now: Double) -> [Action] {
        guard inventory.node(with: mac) == nil, reported[mac] == nil else { return [] }
        if enrol, let refusal = enrolmentRefusal(at: now) {
            // Not marked as reported while only the rate holds it back: its next lease may be enrolled.
            if case .later = refusal { return [] }
            if case .stopped(let line) = refusal {
                reported.insert(mac, true)
                return line.map { [.print($0)] } ?? []
            }
        }
        reported.insert(mac, true)
        var planned = inventory
        planned.nodes += pending.map { Inventory.Node(macs: [$0.key], address: $0.value, number: 0, name: "") }
        guard let next = planned.nextFreeAddress(in: cluster) else {
            return aboutUnknown("clump: \(mac) cannot be enrolled: no free address is left in the cluster network", at: now)
        }
        let line = Inventory.enrolmentLine(mac: mac, address: next)
        if enrol {
            pending[mac] = next
            enrolments.append(now)
            return [.enrol(mac, next)]
        }
        return aboutUnknown(
            "clump: to make \(mac) a known node, add to \(inventory.file): \(line)  (or serve with --enrol)", at: now)
    }

    private enum Refusal {
        /// Too many in the last minute: try again on a later lease.
        case later
        /// The window or the maximum is over: the line that says so, the first time.
        case stopped(String?)
    }

    /// Why enrolment does not take another machine at `now`, if it does not.
    private mutating func enrolmentRefusal(at now: Double) -> Refusal? {
        let first = !closed
        if now - (started ?? now) >= limits.window {
            closed = true
            return .stopped(
                first
                    ? "clump: the enrolment window of \(Int(limits.window / 60)) min is over (\(enrolments.count) enrolled): "
                        + "unknown machines are shown, not enrolled; serve --enrol again for another window" : nil)
        }
        if enrolments.count >= limits.max {
            closed = true
            return .stopped(
                first
                    ? "clump: enrolled \(enrolments.count), the most --max allows: unknown machines are shown, not "
                        + "enrolled; review them in \(inventory.file)" : nil)
        }
        if enrolments.filter({ now - $0 < 60 }).count >= limits.perMinute { return .later }
        return nil
    }

    /// After an enrolment: the new inventory knows the card.
    public mutating func enrolled(_ inventory: Inventory) {
        self.inventory = inventory
        pending = pending.filter { inventory.node(with: $0.key) == nil }
    }

    private func who(_ mac: MACAddress) -> String {
        inventory.node(with: mac).map { "\($0.name) \(mac)" } ?? "unknown \(mac)"
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(tftpRoot) ? String(path.dropFirst(tftpRoot.count)) : path
    }
}

/// How many machines `serve --enrol` takes, how fast, and for how long: enrolment gives a new
/// address of the cluster's for good, so an open one is a way to fill the address space from
/// any PC on the LAN (a few hundred invented cards in seconds).
public struct EnrolmentLimits: Sendable, Equatable {
    /// At most this many machines in all.
    public var max: Int
    /// At most this many in any minute.
    public var perMinute: Int
    /// Seconds from the start of serve after which nothing more is enrolled.
    public var window: Double

    public init(max: Int = 32, perMinute: Int = 6, window: Double = 30 * 60) {
        self.max = max
        self.perMinute = perMinute
        self.window = window
    }
}

/// A map that keeps at most `capacity` keys, forgetting the oldest first.
struct BoundedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let capacity: Int
    private var values: [Key: Value] = [:]
    private var order: [Key] = []
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    subscript(key: Key) -> Value? { values[key] }

    var count: Int { values.count }

    /// Sets `key`; false when it was there already (its value is replaced).
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value) -> Bool {
        if values.updateValue(value, forKey: key) != nil { return false }
        order.append(key)
        while values.count > capacity, head < order.count {
            values.removeValue(forKey: order[head])
            head += 1
        }
        if head > capacity {
            order.removeFirst(head)
            head = 0
        }
        if order.count - head > 2 * capacity {
            // Keys removed and added again leave stale entries behind: keep each live key once, newest place.
            var seen: Set<Key> = []
            order = order[head...].reversed().filter { values[$0] != nil && seen.insert($0).inserted }.reversed()
            head = 0
        }
        return true
    }

    mutating func remove(_ key: Key) { values.removeValue(forKey: key) }
}
