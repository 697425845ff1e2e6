import DroneProtocol
/// Everything a drone derives from its leases: who it is in the cluster and the files to write.
public struct Derived: Equatable, Sendable {
    /// This node's openMosix node id.
    public var nodeID: Int
    /// The lease whose network the map numbers.
    public var primary: Lease
    /// Why that card: `on cluster network 10.0.2.0/24` (see `PrimaryHints.reason`).
    public var reason: String
    /// The primary lease's network.
    public var network: IPv4Network
    /// The other leases written as `ALIAS` lines for this node, in `PrimaryHints.ordered` order.
    public var aliases: [Lease]
    /// The map: range lines over the primary network, then this node's ALIAS lines.
    public var map: ClusterMap
    /// Text for `/etc/mosix.map` (MOSIX).
    public var mosixMap: String
    /// Text for `/etc/hpc.map`, the file openMosix's `setpe -w -f` reads; the same as `mosixMap`.
    public var hpcMap: String
    /// Text for `/etc/hostname` without the newline: the DHCP host name if valid, else `node<N>`.
    public var hostname: String
    /// Text for `/etc/hosts`.
    public var hosts: String
    /// The console line, printed by the agent after `clump: `:
    /// `node 15 network 10.0.2.0/24 map 1 10.0.2.1 254`.
    public var summary: String
    /// Things the user should know that did not stop the derivation (skipped cards, truncation).
    public var warnings: [String]

    /// At most this many other nodes are named in `/etc/hosts`; a /24 fits, a /16 would not.
    public static let hostsLimit = 1024
}

/// Derives this node's cluster identity and files from its leases (call it as `AutoMap.derive`).
///
/// Clump/OS (HOWTO chapter 7) assumed a class-C network: "On the 192.168.1 network, node #1
/// will be 192.168.1.1", with the map `1 a.b.c.1 254`. Other prefixes generalise that: the
/// node id is the host number within the network, and the map's range lines cover the
/// network's hosts (network+1 ... broadcast-1). openMosix counts up only the last byte of a
/// range's address, so no line crosses a .255/.0 boundary: one line per last-byte block, each
/// line's id equal to its first address's host number. A /23 gives two lines, a /16 exactly
/// 256 (ids 1-65534); anything larger is cut at 256 lines / id 65535 with a warning.
///
/// With several leases the primary is the first in `hints.ordered` order (the cluster network,
/// then the boot card, then the lowest bus address) that can be numbered; the others become
/// `ALIAS` lines with this node's id (HOWTO 5.4.2). The result does not depend on the order of
/// `leases`.
public func derive(leases: [Lease], hints: PrimaryHints = .none) throws -> Derived {
    guard !leases.isEmpty else { throw AutoMapError(.noLeases) }
    let ordered = hints.ordered(leases)
    var warnings = hints.unmatched(leases)

    var chosen: (index: Int, plan: RangePlan)?
    var firstError: AutoMapError?
    for (index, lease) in ordered.enumerated() {
        do {
            chosen = (index, try RangePlan(lease: lease))
            break
        } catch let error as AutoMapError {
            firstError = firstError ?? error
            warnings.append("\(lease.interface) not used for the map: \(error.message)")
        }
    }
    guard let (primaryIndex, plan) = chosen else {
        throw firstError ?? AutoMapError(.noLeases)
    }
    let primary = ordered[primaryIndex]
    var reason = hints.reason(for: primary, among: leases)
    if primaryIndex > 0 { reason += " (the cards before it cannot number a map)" }
    if let truncation = plan.truncation { warnings.append(truncation) }

    // This node's other cards: ALIAS lines carrying this node's id (HOWTO 5.4.2).
    let ranges = try ClusterMap(lines: plan.lines)
    var aliasLines: [ClusterMap.Line] = []
    var aliases: [Lease] = []
    var written: Set<IPv4Address> = [primary.address]
    for (index, lease) in ordered.enumerated() where index != primaryIndex {
        let address = lease.address
        if written.contains(address) {
            warnings.append("\(lease.interface) has \(address) like another card; no second ALIAS line")
        } else if let owner = ranges.nodeID(for: address) {
            warnings.append(
                "\(lease.interface) \(address) lies in the map as node \(owner)'s address; no ALIAS line "
                    + "(two cards on one network confuse openMosix: disconnect one or use Expert mode)")
        } else if plan.lines.count + aliasLines.count >= ClusterMap.maxLines {
            warnings.append(
                "\(lease.interface) \(address) has no ALIAS line: the map already has \(ClusterMap.maxLines) lines")
        } else {
            aliasLines.append(.alias(id: plan.nodeID, address: address))
            aliases.append(lease)
            written.insert(address)
        }
    }
    let map = try ClusterMap(lines: plan.lines + aliasLines)

    var header = [
        "cluster map derived by clump; format: node-id address range-size|ALIAS (openMosix HOWTO 5.4.2)",
        "from the lease on \(primary.summary)",
        "primary card \(primary.interface): \(reason)",
        "network \(plan.network): node id = host number in the network; this node is node \(plan.nodeID)",
    ]
    for lease in aliases { header.append("ALIAS for this node: \(lease.summary)") }
    if let truncation = plan.truncation { header.append(truncation) }
    let mapText = map.rendered(header: header)

    let name = chooseHostname(ordered: ordered, primaryIndex: primaryIndex, nodeID: plan.nodeID, warnings: &warnings)
    let hosts = hostsText(
        map: ranges, nodeID: plan.nodeID, address: primary.address, names: name, lease: primary, network: plan.network,
        warnings: &warnings)

    var summary = "node \(plan.nodeID) network \(plan.network) map " + (plan.lines.first?.description ?? "")
    if plan.lines.count > 1 {
        summary += " +\(plan.lines.count - 1) line\(plan.lines.count == 2 ? "" : "s")"
    }
    if !aliasLines.isEmpty {
        summary += " alias " + aliasLines.map(\.host.description).joined(separator: " ")
    }

    return Derived(
        nodeID: plan.nodeID, primary: primary, reason: reason, network: plan.network, aliases: aliases, map: map,
        mosixMap: mapText, hpcMap: mapText, hostname: name.short, hosts: hosts, summary: summary,
        warnings: warnings)
}

/// The range lines for one lease's network and this node's id in them.
struct RangePlan {
    var network: IPv4Network
    var nodeID: Int
    var lines: [ClusterMap.Line]
    /// Set when the network has more hosts than a map can number.
    var truncation: String?

    init(lease: Lease) throws {
        let interface = lease.interface
        do {
            network = try IPv4Network(address: lease.address, prefix: lease.prefix)
        } catch let error as AutoMapError {
            throw AutoMapError(error.kind, interface: interface)
        }
        let address = lease.address
        guard let hosts = network.hosts else {
            throw AutoMapError(.noHostRange(address: "\(address)", prefix: lease.prefix), interface: interface)
        }
        if address == network.address {
            throw AutoMapError(.networkAddress(address: "\(address)", network: "\(network)"), interface: interface)
        }
        if address == network.broadcast {
            throw AutoMapError(.broadcastAddress(address: "\(address)", network: "\(network)"), interface: interface)
        }

        // One line per last-byte block: [first, min(block's .255, last host)], ids = host numbers.
        var lines: [ClusterMap.Line] = []
        var next = UInt64(hosts.lowerBound.value)
        let last = UInt64(hosts.upperBound.value)
        let base = UInt64(network.address.value)
        let maxID = UInt64(ClusterMap.nodeIDs.upperBound)
        while next <= last && lines.count < ClusterMap.maxLines {
            let id = next - base
            guard id <= maxID else { break }
            let end = min(next | 0xFF, last, base + maxID)
            lines.append(ClusterMap.Line(id: Int(id), address: IPv4Address(UInt32(next)), count: Int(end - next + 1)))
            next = end + 1
        }
        let lastMapped = IPv4Address(UInt32(next - 1))
        if next <= last {
            truncation =
                "network \(network) has \(last - base) host addresses but a map holds node ids 1-65535 in "
                + "\(ClusterMap.maxLines) lines; it covers \(hosts.lowerBound)-\(lastMapped) only"
        }
        let hostNumber = address.value - network.address.value
        guard address <= lastMapped else {
            throw AutoMapError(
                .nodeOutsideMap(
                    address: "\(address)", hostNumber: hostNumber, network: "\(network)", lastMapped: "\(lastMapped)"),
                interface: interface)
        }
        nodeID = Int(hostNumber)
        self.lines = lines
    }
}

/// The host name and, when DHCP sent a dotted one, the full name.
struct ChosenName {
    var short: String
    var full: String?
}

/// The first valid DHCP host name, primary lease first, then the others in order; else `node<N>`.
func chooseHostname(ordered: [Lease], primaryIndex: Int, nodeID: Int, warnings: inout [String]) -> ChosenName {
    let candidates = [ordered[primaryIndex]] + ordered.enumerated().filter { $0.offset != primaryIndex }.map(\.element)
    for lease in candidates {
        guard var name = lease.hostname, !name.isEmpty else { continue }
        if name.hasSuffix(".") { name.removeLast() }
        let short = String(name.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
        if HostName.isValid(name) && short.lowercased() != "localhost" {
            return ChosenName(short: short, full: name == short ? nil : name)
        }
        warnings.append(
            "\(lease.interface): DHCP host name '\(ConsoleText.printable(lease.hostname ?? "", limit: 64))' is not a "
                + "valid host name; ignored")
    }
    return ChosenName(short: "node\(nodeID)", full: nil)
}

/// `/etc/hosts`: loopback, this node under all its names, then `node<N>` for the map's
/// other addresses, at most `Derived.hostsLimit` of them.
func hostsText(
    map: ClusterMap, nodeID: Int, address: IPv4Address, names: ChosenName, lease: Lease, network: IPv4Network,
    warnings: inout [String]
) -> String {
    var own = [names.full, names.short].compactMap { $0 }
    if names.short.lowercased() != "node\(nodeID)" { own.append("node\(nodeID)") }
    let taken = Set(own.map { $0.lowercased() })
    var text = """
        # /etc/hosts derived by clump from the lease on \(lease.interface): node \(nodeID) of \(network)
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        ff02::1\tip6-allnodes
        ff02::2\tip6-allrouters
        \(address)\t\(own.joined(separator: " "))

        """
    var listed = 0
    var others = 0
    for line in map.rangeLines {
        guard case .address(let first) = line.host, case .range(let count) = line.size else { continue }
        for offset in 0..<count where line.id + offset != nodeID {
            let name = "node\(line.id + offset)"
            if taken.contains(name) {
                let other = first.advanced(by: offset).map(\.description) ?? "?"
                warnings.append("/etc/hosts gives no name to \(other): \(name) is this node's host name")
                continue
            }
            others += 1
            guard listed < Derived.hostsLimit, let other = first.advanced(by: offset) else { continue }
            text += "\(other)\t\(name)\n"
            listed += 1
        }
    }
    if listed < others {
        warnings.append("/etc/hosts names \(listed) of the map's \(others) other nodes; the rest have no name")
    }
    return text
}
