import AgentSupport
import AutoMap

/// `clumpnode map`: the cluster map by hand.
///
/// - `map --check FILE`: parse a map (a master's own `/etc/hpc.map`) and report the first
///   problem with its line and column, or what it holds.
/// - `map [--write] [--root DIR] [--network CIDR] [--boot-mac MAC] [ADDRESS/PREFIX[@IFACE][,MAC]...]`:
///   derive the map from the given addresses (default: the primary address auto mode recorded
///   in `/run/clump/status`), print it, and with `--write` write the map files, /etc/hostname
///   and /etc/hosts under DIR. `--network` and `--boot-mac` are what `clump.network=` and
///   `BOOTIF=` tell a drone: which card is the primary, checked by hand.
public struct MapCommand: Equatable, Sendable {
    public var check: String?
    public var write = false
    public var root = "/"
    public var addresses: [String] = []
    public var hints = PrimaryHints()

    static let usage = """
        usage: clumpnode map --check FILE | clumpnode map [--write] [--root DIR] [--network CIDR] [--boot-mac MAC] \
        [ADDRESS/PREFIX[@IFACE][,MAC]...]
        """

    static func parse(_ words: ArraySlice<String>) -> NodeAgentCommand.Invocation {
        var command = MapCommand()
        var rest = words
        while let word = rest.popFirst() {
            switch word {
            case "--write": command.write = true
            case "--check", "--root":
                guard let value = rest.popFirst() else { return .usageError(usage) }
                if word == "--check" { command.check = value } else { command.root = value }
            case "--network":
                guard let value = rest.popFirst(), let network = try? IPv4Network(parsing: value) else {
                    return .usageError("map --network needs a network like 10.0.2.0/24 (host bits zero)\n" + usage)
                }
                command.hints.clusterNetwork = network
            case "--boot-mac":
                guard let value = rest.popFirst(), let mac = BootOptions.bootMAC(value, bare: true) else {
                    return .usageError(
                        "map --boot-mac needs a MAC like 52:54:00:12:34:56 or 01-52-54-00-12-34-56\n"
                            + usage)
                }
                command.hints.bootMAC = mac
            default:
                if word.hasPrefix("-") { return .usageError(usage) }
                command.addresses.append(word)
            }
        }
        if command.check != nil && (command.write || !command.addresses.isEmpty) { return .usageError(usage) }
        return .map(command)
    }

    func run(output: (String) -> Void) -> Int32 {
        do {
            if let check {
                let map = try ClusterMap(parsing: try SystemFile.readText(check), file: check)
                let nodes = map.expand().filter { !$0.isAlias }.count
                output("\(check): \(map.rangeLines.count) range lines, \(map.aliasLines.count) ALIAS lines, \(nodes) nodes: ok")
                return 0
            }
            var words = addresses
            if words.isEmpty {
                let statusPath = rooted(root, NodeStatus.path)
                let status = try NodeStatus(parsing: try SystemFile.readText(statusPath), file: statusPath)
                guard let address = status.address else {
                    output("clumpnode map: \(statusPath) has no address (state \(status.state.rawValue)); give ADDRESS/PREFIX")
                    return 1
                }
                words = [address + (status.interface.map { "@" + $0 } ?? "")]
            }
            let leases = try words.enumerated().map { try Self.lease($0.element, number: $0.offset) }
            let derived = try derive(leases: leases, hints: hints)
            output(derived.summary)
            output("primary \(derived.primary.interface): \(derived.reason)")
            derived.warnings.forEach(output)
            output(derived.mosixMap)
            if write { try NodeFiles.write(derived, root: root, setHostname: false) }
            return 0
        } catch {
            output("clumpnode map: \(error)")
            return 1
        }
    }

    /// `10.0.2.15/24@eth0,52:54:00:12:34:56` as a lease (interface `arg<N>` when none is given,
    /// no MAC when none is given).
    static func lease(_ word: String, number: Int) throws -> Lease {
        let withMAC = word.split(separator: ",", maxSplits: 1)
        let text = withMAC.first.map(String.init) ?? ""
        var mac = ""
        if withMAC.count > 1 {
            guard let parsed = BootOptions.bootMAC(String(withMAC[1]), bare: true) else {
                throw AutoMapError(.badAddress(word, reason: "expected a MAC like 52:54:00:12:34:56 after the comma"))
            }
            mac = parsed
        }
        let parts = text.split(separator: "@", maxSplits: 1)
        let network = parts.first.map(String.init) ?? ""
        let slash = network.split(separator: "/", maxSplits: 1)
        guard slash.count == 2, let prefix = Int(slash[1]) else {
            throw AutoMapError(.badPrefix(text), interface: parts.count > 1 ? String(parts[1]) : nil)
        }
        let interface = parts.count > 1 ? String(parts[1]) : "arg\(number + 1)"
        return Lease(
            interface: interface, mac: mac, address: try IPv4Address(parsing: String(slash[0])), prefix: prefix)
    }
}
