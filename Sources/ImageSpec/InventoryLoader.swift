import AutoMap
import Foundation
import Yams

/// Reads the node inventory as strictly as the spec: every problem is reported at once, with the
/// inventory file, line:column and key path (`[3].mac`), and nothing is generated from a bad one.
public enum InventoryLoader {
    /// The keys a node entry may have.
    static let keys = ["mac", "address", "name", "boot", "kernel-args", "root", "tpm"]

    /// Reads the inventory the spec names; a missing file is an empty inventory.
    public static func load(for spec: Spec) throws(SpecError) -> Inventory {
        let path = spec.resolve(spec.cluster.nodes)
        guard FileManager.default.fileExists(atPath: path) else { return Inventory(file: path, nodes: []) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw SpecError(
                file: path, location: nil, keyPath: "", message: "cannot read the inventory as UTF-8 text",
                hint: "check its permissions and save it as UTF-8")
        }
        return try parse(yaml: text, file: path, cluster: spec.cluster, spec: spec)
    }

    /// Parses inventory text against the cluster settings it must fit.
    public static func parse(
        yaml: String, file: String, cluster: Spec.Cluster, spec: Spec? = nil
    ) throws(SpecError) -> Inventory {
        try parse(yaml: yaml, file: file, cluster: cluster, spec: spec, fastPath: true)
    }

    /// `fastPath: false` always composes the YAML, so tests can compare the two readers.
    static func parse(
        yaml: String, file: String, cluster: Spec.Cluster, spec: Spec?, fastPath: Bool
    ) throws(SpecError) -> Inventory {
        var decoding = Decoding(file: file)
        let entries: [Entry]
        if fastPath, let fast = InventoryFastPath.entries(yaml) {
            entries = fast
        } else {
            guard let root = SpecLoader.compose(yaml, &decoding) else {
                throw SpecError(diagnostics: decoding.diagnostics)
            }
            entries = decodeDocument(root, &decoding)
        }
        var nodes: [Inventory.Node] = []
        if decoding.diagnostics.isEmpty, !entries.isEmpty {
            if let network = cluster.network {
                nodes = resolve(entries, network: network, cluster: cluster, &decoding)
            } else {
                let where_ = spec.map { " in \($0.file)" } ?? ""
                decoding.error(
                    "", at: entries.first?.location,
                    "the inventory lists nodes, but cluster.network is not set\(where_)",
                    hint: "set `network:` under `cluster:` in the spec, e.g. `network: 10.0.2.0/24`")
            }
        }
        guard decoding.diagnostics.isEmpty else {
            throw SpecError(diagnostics: SpecLoader.inFileOrder(decoding.diagnostics))
        }
        return Inventory(file: file, nodes: nodes)
    }

    /// The entries of a composed document: the slow path, which also reports every problem.
    private static func decodeDocument(_ root: Node?, _ decoding: inout Decoding) -> [Entry] {
        var entries: [Entry] = []
        switch root {
        case .none: break
        case .some(let node) where node.isNull: break
        case .some(.sequence(let sequence)):
            for (index, item) in sequence.enumerated() {
                if let entry = decodeEntry(item, index, &decoding) { entries.append(entry) }
            }
        case .some(let node):
            decoding.error(
                "", at: node, "expected a list of nodes, got \(node.described)",
                hint: "write one `- mac: 52:54:00:12:34:56` item per machine")
        }
        return entries
    }

    /// A node entry as written, before addresses and names are resolved.
    struct Entry {
        /// Its place in the list; its key path is made only for a diagnostic (10,000 of them cost).
        var index: Int
        var path: String { "[\(index)]" }
        var location: SourceLocation?
        var macs: [(MACAddress, SourceLocation?)] = []
        var address: (IPv4Address, SourceLocation?)?
        var name: (String, SourceLocation?)?
        var boot: Inventory.BootKind = .drone
        var kernelArgs: [String] = []
        /// An NFS-root node's own root directory, when not the spec's `nfsroot.root`; only the full parser reads it.
        var root: (String, SourceLocation?)?
        /// The fingerprint of the node's TPM (`sha256:` and 64 hex digits), which lets it join unattended.
        var tpm: (String, SourceLocation?)?
    }

    private static func decodeEntry(_ item: Node, _ index: Int, _ decoding: inout Decoding) -> Entry? {
        let path = "[\(index)]"
        guard case .mapping(let mapping) = item else {
            decoding.error(
                path, at: item, "expected a node (a mapping with at least `mac`), got \(item.described)",
                hint: "write `- {mac: 52:54:00:12:34:56}` or `- mac: 52:54:00:12:34:56` with more keys below")
            return nil
        }
        var entry = Entry(index: index, location: item.location)
        var ok = true
        for field in decoding.entries(of: mapping, at: path) {
            decoding.record(field.path, field.value)
            switch field.key {
            case "mac":
                let values: [Node]
                if case .sequence(let sequence) = field.value { values = Array(sequence) } else { values = [field.value] }
                if values.isEmpty {
                    decoding.error(field.path, at: field.value, "the list of MACs is empty", hint: "give at least one")
                    ok = false
                }
                for (index, value) in values.enumerated() {
                    let at = values.count > 1 || field.value.isSequence ? "\(field.path)[\(index)]" : field.path
                    guard let mac = decodeMAC(value, at, &decoding) else {
                        ok = false
                        continue
                    }
                    entry.macs.append((mac, value.location))
                }
            case "address":
                guard let text = ScalarDecoder.text(field.value, field.path, &decoding, expected: "an address") else {
                    ok = false
                    continue
                }
                do {
                    entry.address = (try IPv4Address(parsing: text), field.value.location)
                } catch {
                    decoding.error(
                        field.path, at: field.value, "\(text.debugDescription) is not an IPv4 address: \(error)",
                        hint: "write four decimal numbers, e.g. `address: 10.0.2.11`, or leave it out for the next free one")
                    ok = false
                }
            case "name":
                guard let text = ScalarDecoder.text(field.value, field.path, &decoding, expected: "a host name") else {
                    ok = false
                    continue
                }
                guard HostName.isValid(text), !text.contains(".") else {
                    decoding.error(
                        field.path, at: field.value, "\(text.debugDescription) is not a valid host name",
                        hint: "use 1-63 letters, digits and '-', not starting or ending with '-', e.g. `name: node11`")
                    ok = false
                    continue
                }
                entry.name = (text, field.value.location)
            case "boot":
                guard let kind: Inventory.BootKind = ScalarDecoder.choice(field.value, field.path, &decoding, what: "boot kind")
                else {
                    ok = false
                    continue
                }
                entry.boot = kind
            case "kernel-args":
                guard let args = ValueType<[String]>.kernelArgs.decode(field.value, field.path, &decoding) else {
                    ok = false
                    continue
                }
                entry.kernelArgs = args
            case "root":
                guard let text = ValueType<String>.string("a directory", check: PathCheck.exportPath)
                    .decode(field.value, field.path, &decoding)
                else {
                    ok = false
                    continue
                }
                entry.root = (text, field.value.location)
            case "tpm":
                guard let text = ScalarDecoder.text(field.value, field.path, &decoding, expected: "a TPM fingerprint") else {
                    ok = false
                    continue
                }
                guard let fingerprint = Inventory.tpmFingerprint(text) else {
                    decoding.error(
                        field.path, at: field.value, "\(text.debugDescription) is not a TPM fingerprint",
                        hint: "write `sha256:` and 64 hex digits, as serve records it on approving the machine "
                            + "(`tpm2 createek -G rsa -u ek.pub; sha256sum ek.pub` on the machine gives the digits)")
                    ok = false
                    continue
                }
                entry.tpm = (fingerprint, field.value.location)
            default:
                SpecLoader.unknownKey(field, among: keys, &decoding)
                ok = false
            }
        }
        guard ok else { return nil }
        if entry.macs.isEmpty {
            decoding.error(
                path, at: item, "a node needs a mac",
                hint: "add `mac: 52:54:00:12:34:56` (a booting machine's MAC is printed by `clumpbuild serve`)")
            return nil
        }
        if let root = entry.root, entry.boot != .nfsroot {
            decoding.error(
                "\(path).root", at: root.1,
                "`root` is for NFS-root nodes, and this node boots as a \(entry.boot.rawValue)",
                hint: "add `boot: nfsroot`, or remove `root`")
            return nil
        }
        return entry
    }

    private static func decodeMAC(_ node: Node, _ path: String, _ decoding: inout Decoding) -> MACAddress? {
        let hint = "write six two-digit hex bytes, e.g. `52:54:00:12:34:56`"
        // Plain `52:54:00:12:34:56` is a base-60 integer to YAML 1.1; the scalar's text is what was written.
        // Its tag is resolved (a regular expression per scalar) only when the text is no MAC: at 10,000
        // nodes that resolution was a tenth of the time of adding one.
        guard case .scalar(let scalar) = node, let mac = MACAddress(parsing: scalar.string) else {
            guard case .scalar(let scalar) = node, !node.isNull, !node.isBool else {
                decoding.error(path, at: node, "expected a MAC address, got \(node.described)", hint: hint)
                return nil
            }
            decoding.error(path, at: node, "\(scalar.string.debugDescription) is not a MAC address", hint: hint)
            return nil
        }
        if mac.isMulticast || mac.value == 0 {
            decoding.error(
                path, at: node, "\(mac) is a \(mac.isMulticast ? "multicast" : "zero") address, no card's own",
                hint: "copy the card's MAC from `ip link` or from what `clumpbuild serve` prints")
            return nil
        }
        return mac
    }

    /// Addresses and names for every entry, and the cross-entry checks: no MAC, address or name twice,
    /// every address a host of the network and clear of the master and the DHCP range.
    private static func resolve(
        _ entries: [Entry], network: IPv4Network, cluster: Spec.Cluster, _ decoding: inout Decoding
    ) -> [Inventory.Node] {
        // Owners by entry index, named only for an error: the names built for every entry were a
        // fifth of reading a 10,000-node inventory.
        var macOwner: [MACAddress: Int] = [:]
        var addressOwner: [IPv4Address: Int] = [:]
        var tpmOwner: [String: Int] = [:]
        macOwner.reserveCapacity(entries.count)
        let range = cluster.effectiveDHCPRange
        let master = cluster.effectiveMaster
        func owner(_ index: Int) -> String {
            let entry = entries[index]
            return "\(entry.path)" + (entry.location.map { " (line \($0.line))" } ?? "")
        }
        for (entryIndex, entry) in entries.enumerated() {
            for (index, (mac, node)) in entry.macs.enumerated() {
                if let first = macOwner[mac] {
                    let path = entry.macs.count > 1 ? "\(entry.path).mac[\(index)]" : "\(entry.path).mac"
                    decoding.error(
                        path, at: node, "\(mac) is listed twice: it already belongs to \(owner(first))",
                        hint: "a card boots one node; remove one of the entries")
                } else {
                    macOwner[mac] = entryIndex
                }
            }
            // One TPM is one machine: a second node bound to it would let that machine in under any MAC it claims.
            if let (tpm, location) = entry.tpm {
                if let first = tpmOwner[tpm] {
                    decoding.error(
                        "\(entry.path).tpm", at: location, "this TPM is listed twice: it already belongs to \(owner(first))",
                        hint: "a TPM is one machine; remove the tpm of the entry that is not that machine")
                } else {
                    tpmOwner[tpm] = entryIndex
                }
            }
            guard let (address, node) = entry.address else { continue }
            let path = "\(entry.path).address"
            if !network.contains(address) {
                decoding.error(
                    path, at: node, "\(address) is outside the cluster network \(network)",
                    hint: "give an address in \(network), or leave `address` out for the next free one")
            } else if address == network.address || address == network.broadcast {
                decoding.error(
                    path, at: node, "\(address) is the \(address == network.address ? "network" : "broadcast") address of \(network)",
                    hint: "give a host address, or leave `address` out for the next free one")
            } else if address == master {
                decoding.error(
                    path, at: node, "\(address) is the master's address (cluster.master)",
                    hint: "give the node another address, or set cluster.master to the master's real one")
            } else if let range, range.contains(address) {
                decoding.error(
                    path, at: node, "\(address) is inside the DHCP range \(range) for unknown machines",
                    hint: "give an address below \(range.first), or move cluster.dhcp-range")
            } else if let first = addressOwner[address] {
                decoding.error(
                    path, at: node, "\(address) already belongs to \(owner(first))",
                    hint: "give each node its own address, or leave `address` out for the next free one")
            } else {
                addressOwner[address] = entryIndex
            }
        }
        guard decoding.diagnostics.isEmpty, let hosts = network.hosts else { return [] }
        var free = freeAddresses(hosts: hosts, taken: Set(addressOwner.keys), cluster: cluster).makeIterator()
        var nodes: [Inventory.Node] = []
        var nameOwner: [String: Int] = [:]
        nameOwner.reserveCapacity(entries.count)
        for (entryIndex, entry) in entries.enumerated() {
            guard let address = entry.address?.0 ?? free.next() else {
                decoding.error(
                    entry.path, at: entry.location, "no free address is left in \(network) for this node",
                    hint: "use a larger network, or a smaller cluster.dhcp-range")
                continue
            }
            let number = network.hostNumber(of: address) ?? 0
            let name = entry.name?.0 ?? "node\(number)"
            // Names differ by more than case; most are lower case already, and lowercasing each was a cost.
            let upper = name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
            let key = upper ? name.lowercased() : name
            if let first = nameOwner[key] {
                decoding.error(
                    "\(entry.path).name", at: entry.name?.1 ?? entry.macs[0].1,
                    "the name \(name) already belongs to \(owner(first))"
                        + (entry.name == nil ? " (it is this node's default name, node<number>)" : ""),
                    hint: "give each node its own `name`")
            } else {
                nameOwner[key] = entryIndex
            }
            nodes.append(
                Inventory.Node(
                    macs: entry.macs.map(\.0), address: address, number: number, name: name, boot: entry.boot,
                    kernelArgs: entry.kernelArgs, root: entry.root?.0, tpm: entry.tpm?.0, location: entry.location))
        }
        return nodes
    }

    /// Host addresses in order that a node may take: not taken, not the master, not in the DHCP range.
    static func freeAddresses(
        hosts: ClosedRange<IPv4Address>, taken: Set<IPv4Address>, cluster: Spec.Cluster
    ) -> some Sequence<IPv4Address> {
        let range = cluster.effectiveDHCPRange
        let master = cluster.effectiveMaster
        return (hosts.lowerBound.value...hosts.upperBound.value).lazy.map(IPv4Address.init).filter { address in
            !taken.contains(address) && address != master && !(range?.contains(address) ?? false)
        }
    }
}

extension Node {
    var isSequence: Bool {
        if case .sequence = self { return true }
        return false
    }
}
