import AutoMap
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

    private var macOf: [String: MACAddress] = [:]
    private var asking: Set<MACAddress> = []
    private var reported: Set<MACAddress> = []
    private var pending: [MACAddress: IPv4Address] = [:]

    public init(inventory: Inventory, cluster: Spec.Cluster, tftpRoot: String, enrol: Bool) {
        self.inventory = inventory
        self.cluster = cluster
        self.tftpRoot = tftpRoot.hasSuffix("/") ? tftpRoot : tftpRoot + "/"
        self.enrol = enrol
    }

    /// The actions for one line of dnsmasq's log (`dnsmasq-dhcp[PID]: DHCPACK(br0) 10.0.2.2 52:54:00:12:34:56 node2`).
    public mutating func feed(_ line: String) -> [Action] {
        guard let colon = line.range(of: "]: ") else { return line.isEmpty ? [] : [.print("dnsmasq: \(line)")] }
        let source = line[..<colon.lowerBound]
        let words = line[colon.upperBound...].split(separator: " ").map(String.init)
        guard let first = words.first else { return [] }
        if source.hasPrefix("dnsmasq-dhcp") { return dhcp(first, Array(words.dropFirst()), line) }
        if source.hasPrefix("dnsmasq-tftp") { return tftp(words, line) }
        if line[colon.upperBound...].hasPrefix("compile time options") { return [] }
        return [.print("dnsmasq: \(line[colon.upperBound...])")]
    }

    private mutating func dhcp(_ verb: String, _ rest: [String], _ line: String) -> [Action] {
        let kind = verb.prefix { $0 != "(" }
        switch kind {
        case "DHCPDISCOVER":
            guard let mac = rest.first.flatMap(MACAddress.init(parsing:)), asking.insert(mac).inserted else { return [] }
            return [.print("clump: \(who(mac)) asks for an address")]
        case "DHCPACK":
            guard rest.count >= 2, let address = try? IPv4Address(parsing: rest[0]),
                let mac = MACAddress(parsing: rest[1])
            else { return [] }
            asking.remove(mac)
            macOf[rest[0]] = mac
            return leased(mac, address)
        case "PXE":
            // Proxy mode: the address came from the other server; dnsmasq only said what to boot.
            guard let mac = rest.lazy.compactMap(MACAddress.init(parsing:)).first else { return [] }
            if rest.first.flatMap({ try? IPv4Address(parsing: $0) }) != nil { macOf[rest[0]] = mac }
            guard asking.insert(mac).inserted else { return [] }
            return [.print("clump: \(who(mac)) asks what to boot (proxy DHCP)")] + unknown(mac, address: nil)
        case "DHCPNAK":
            return [.print("clump: refused \(rest.joined(separator: " ")): an address of another network or lease")]
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
                    "clump: TFTP: \(words.joined(separator: " ")) (with tftp-secure, dnsmasq serves only files of its "
                        + "own user, or world-readable ones when it runs as root)")
            ]
        }
        return [.print("dnsmasq: \(words.joined(separator: " "))")]
    }

    private mutating func leased(_ mac: MACAddress, _ address: IPv4Address) -> [Action] {
        if let node = inventory.node(with: mac) {
            var line = "clump: \(node.name) \(mac) leased \(address) (known node)"
            if node.address != address { line += "; the inventory gives it \(node.address): it gets that on its next boot" }
            return [.print(line)]
        }
        return [.print("clump: new machine \(mac) leased \(address)")] + unknown(mac, address: address)
    }

    /// An unknown card: its enrolment line once, or the enrolment itself.
    private mutating func unknown(_ mac: MACAddress, address: IPv4Address?) -> [Action] {
        guard inventory.node(with: mac) == nil, reported.insert(mac).inserted else { return [] }
        var planned = inventory
        planned.nodes += pending.map { Inventory.Node(macs: [$0.key], address: $0.value, number: 0, name: "") }
        guard let next = planned.nextFreeAddress(in: cluster) else {
            return [.print("clump: \(mac) cannot be enrolled: no free address is left in the cluster network")]
        }
        let line = Inventory.enrolmentLine(mac: mac, address: next)
        if enrol {
            pending[mac] = next
            return [.enrol(mac, next)]
        }
        return [.print("clump: to make \(mac) a known node, add to \(inventory.file): \(line)  (or serve with --enrol)")]
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
