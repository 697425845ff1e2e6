import AutoMap
import Testing

/// Which card numbers the node: the cluster network first, then the PXE boot card, then the
/// lowest bus address (`PrimaryHints`).
struct PrimaryChoiceTests {
    /// Slot 3 on 10.0.2.0/24, slot 4 on 10.0.3.0/24, slot 5 on 192.168.7.0/24.
    static let slot3 = lease("10.0.2.15/24", interface: "eth0", bus: "0000:00:03.0", mac: "52:54:00:12:34:56")
    static let slot4 = lease("10.0.3.21/24", interface: "eth1", bus: "0000:00:04.0", mac: "52:54:00:12:34:57")
    static let slot5 = lease("192.168.7.2/24", interface: "eth2", bus: "0000:00:05.0", mac: "02:00:00:00:00:01")

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var network: String?
        var bootMAC: String?
        var leases: [Lease]
        /// The primary's interface and the reason given.
        var primary: String
        var reason: String
        var warnings: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "no hints: lowest bus address", leases: [slot4, slot3, slot5], primary: "eth0",
            reason: "lowest bus address 0000:00:03.0"),
        Case(
            name: "cluster network beats the bus address", network: "10.0.3.0/24", leases: [slot3, slot4, slot5],
            primary: "eth1", reason: "on cluster network 10.0.3.0/24"),
        Case(
            name: "a wider cluster network holds the lease's own network", network: "192.168.0.0/16",
            leases: [slot3, slot4, slot5], primary: "eth2", reason: "on cluster network 192.168.0.0/16"),
        Case(
            name: "boot card beats the bus address", bootMAC: "52:54:00:12:34:57", leases: [slot3, slot4, slot5],
            primary: "eth1", reason: "booted from it (BOOTIF 52:54:00:12:34:57)"),
        Case(
            name: "boot MAC in capitals", bootMAC: "02:00:00:00:00:01".uppercased(), leases: [slot3, slot4, slot5],
            primary: "eth2", reason: "booted from it (BOOTIF 02:00:00:00:00:01)"),
        Case(
            name: "cluster network beats the boot card", network: "10.0.2.0/24", bootMAC: "52:54:00:12:34:57",
            leases: [slot4, slot3], primary: "eth0", reason: "on cluster network 10.0.2.0/24"),
        Case(
            name: "two cards on the cluster network: the boot card decides", network: "10.0.0.0/8",
            bootMAC: "52:54:00:12:34:57", leases: [slot3, slot4, slot5], primary: "eth1",
            reason: "on cluster network 10.0.0.0/8"),
        Case(
            name: "two cards on the cluster network, no boot card: the bus address decides", network: "10.0.0.0/8",
            leases: [slot4, slot3, slot5], primary: "eth0", reason: "on cluster network 10.0.0.0/8"),
        Case(
            name: "no card on the cluster network: the next rules, and a note", network: "10.9.0.0/16",
            bootMAC: "02:00:00:00:00:01", leases: [slot3, slot5], primary: "eth2",
            reason: "booted from it (BOOTIF 02:00:00:00:00:01)",
            warnings: [
                "no card has a lease on the cluster network 10.9.0.0/16 (clump.network=); "
                    + "the primary is chosen by the next rule"
            ]),
        Case(
            name: "boot card without a lease: the bus address, and a note", bootMAC: "aa:bb:cc:dd:ee:ff",
            leases: [slot5, slot4], primary: "eth1", reason: "lowest bus address 0000:00:04.0",
            warnings: [
                "the boot card aa:bb:cc:dd:ee:ff (BOOTIF=) has no lease; the primary is chosen by the next rule"
            ]),
        Case(
            name: "one card", network: "10.0.3.0/24", leases: [slot3], primary: "eth0",
            reason: "the only card with a lease",
            warnings: [
                "no card has a lease on the cluster network 10.0.3.0/24 (clump.network=); "
                    + "the primary is chosen by the next rule"
            ]),
    ]

    @Test(arguments: cases)
    func primaryAndReason(_ test: Case) throws {
        let hints = PrimaryHints(
            clusterNetwork: try test.network.map { try IPv4Network(parsing: $0) }, bootMAC: test.bootMAC)
        let derived = try derive(leases: test.leases, hints: hints)
        #expect(derived.primary.interface == test.primary)
        #expect(derived.reason == test.reason)
        #expect(derived.warnings == test.warnings)
        #expect(derived.mosixMap.contains("# primary card \(test.primary): \(test.reason)\n"))
        // Whatever order the cards were detected in.
        #expect(try derive(leases: test.leases.reversed(), hints: hints) == derived)
    }

    /// The QEMU test's situation: two cards moved between PCI slots (and renamed by probe
    /// order). With the cluster network known, the node number and the map stay; without it,
    /// the slot decides and they change.
    @Test func cardsMovedBetweenSlotsKeepTheMapOnTheClusterNetwork() throws {
        let hints = PrimaryHints(clusterNetwork: try IPv4Network(parsing: "10.0.3.0/24"))
        var moved3 = Self.slot3
        var moved4 = Self.slot4
        (moved3.busAddress, moved4.busAddress) = (moved4.busAddress, moved3.busAddress)
        (moved3.interface, moved4.interface) = (moved4.interface, moved3.interface)
        let before = try derive(leases: [Self.slot3, Self.slot4], hints: hints)
        let after = try derive(leases: [moved3, moved4], hints: hints)
        #expect(before.nodeID == 21 && after.nodeID == 21)
        #expect(before.map == after.map)
        #expect(before.summary == "node 21 network 10.0.3.0/24 map 1 10.0.3.1 254 alias 10.0.2.15")
        #expect(after.summary == before.summary)
        #expect(try derive(leases: [Self.slot3, Self.slot4]).nodeID == 15)
        #expect(try derive(leases: [moved3, moved4]).nodeID == 21)
    }

    /// A card on the cluster network that cannot number a map (a /32) does not stop the boot:
    /// the next card numbers it, and the reason says so.
    @Test func unnumberableClusterCardFallsThrough() throws {
        let host = lease("10.0.3.9/32", interface: "eth1", bus: "0000:00:04.0", mac: "52:54:00:12:34:57")
        let hints = PrimaryHints(clusterNetwork: try IPv4Network(parsing: "10.0.3.0/24"))
        let derived = try derive(leases: [Self.slot3, host], hints: hints)
        #expect(derived.primary.interface == "eth0")
        #expect(derived.reason == "lowest bus address 0000:00:03.0 (the cards before it cannot number a map)")
        #expect(derived.warnings.first?.hasPrefix("eth1 not used for the map") == true)
    }
}
