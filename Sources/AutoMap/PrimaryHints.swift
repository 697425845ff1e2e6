import DroneProtocol

/// What, besides the leases themselves, decides which card is the primary: the cluster network
/// and the card the drone was booted from. Both come from the kernel command line (the agent
/// parses them); `derive` takes them as plain inputs.
///
/// The rules, in order (the first that tells two cards apart decides):
/// 1. a lease on the cluster network (`clump.network=`) comes first: the admin said which
///    network the cluster is on, so the card on it numbers the node whatever slot it sits in;
/// 2. the card the drone booted from by PXE (`BOOTIF=`) comes next: its network is the one the
///    boot server answered on;
/// 3. `Lease.precedes`, the lowest bus address, decides the rest.
public struct PrimaryHints: Equatable, Sendable {
    /// The cluster network, when known.
    public var clusterNetwork: IPv4Network?
    /// The MAC of the card the drone booted from, lower case with colons (`52:54:00:12:34:56`).
    public var bootMAC: String?

    /// No hints: the lowest bus address decides.
    public static let none = PrimaryHints()

    public init(clusterNetwork: IPv4Network? = nil, bootMAC: String? = nil) {
        self.clusterNetwork = clusterNetwork
        self.bootMAC = bootMAC?.lowercased()
    }

    /// Whether `lease` is on the cluster network.
    public func isOnClusterNetwork(_ lease: Lease) -> Bool {
        clusterNetwork?.contains(lease.address) ?? false
    }

    /// Whether `lease` is the card the drone booted from.
    public func isBootCard(_ lease: Lease) -> Bool {
        guard let bootMAC, !lease.mac.isEmpty else { return false }
        return lease.mac.lowercased() == bootMAC
    }

    /// The leases in the order that picks the primary: the rules above, then `Lease.precedes`.
    /// Independent of the order of `leases`.
    public func ordered(_ leases: [Lease]) -> [Lease] {
        leases.sorted { a, b in
            let (x, y) = (rank(a), rank(b))
            return x != y ? x < y : Lease.precedes(a, b)
        }
    }

    /// 0 on the cluster network and booted from, 1 on the network, 2 booted from, 3 neither.
    private func rank(_ lease: Lease) -> Int {
        (isOnClusterNetwork(lease) ? 0 : 2) + (isBootCard(lease) ? 0 : 1)
    }

    /// Why `primary` was chosen among `leases`, for the console and the status file:
    /// `on cluster network 10.0.2.0/24`, `booted from it (BOOTIF 52:54:00:12:34:56)`,
    /// `lowest bus address 0000:00:03.0`, `the only card with a lease`.
    public func reason(for primary: Lease, among leases: [Lease]) -> String {
        if let clusterNetwork, isOnClusterNetwork(primary) { return "on cluster network \(clusterNetwork)" }
        if let bootMAC, isBootCard(primary) { return "booted from it (BOOTIF \(bootMAC))" }
        if leases.count == 1 { return "the only card with a lease" }
        if let bus = primary.busAddress { return "lowest bus address \(bus)" }
        return "first by interface name"
    }

    /// A note when a hint matched no card, so a typo in `clump.network=` does not go unseen.
    public func unmatched(_ leases: [Lease]) -> [String] {
        var notes: [String] = []
        if let clusterNetwork, !leases.contains(where: isOnClusterNetwork) {
            notes.append(
                "no card has a lease on the cluster network \(clusterNetwork) (\(BootArgument.network.rawValue)=); "
                    + "the primary is chosen by the next rule")
        }
        if let bootMAC, !leases.contains(where: isBootCard) {
            notes.append("the boot card \(bootMAC) (BOOTIF=) has no lease; the primary is chosen by the next rule")
        }
        return notes
    }
}
