import AutoMap
import Testing

struct DerivedTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var cidr: String
        var nodeID: Int
        var network: String
        var summary: String
        /// First and last range lines, and how many there are.
        var first: String
        var last: String
        var lines: Int
        var testDescription: String { cidr }
    }

    @Test(arguments: [
        Case(
            cidr: "10.0.2.15/24", nodeID: 15, network: "10.0.2.0/24",
            summary: "node 15 network 10.0.2.0/24 map 1 10.0.2.1 254",
            first: "1 10.0.2.1 254", last: "1 10.0.2.1 254", lines: 1),
        Case(
            cidr: "192.168.1.1/24", nodeID: 1, network: "192.168.1.0/24",
            summary: "node 1 network 192.168.1.0/24 map 1 192.168.1.1 254",
            first: "1 192.168.1.1 254", last: "1 192.168.1.1 254", lines: 1),
        Case(
            cidr: "192.168.1.254/24", nodeID: 254, network: "192.168.1.0/24",
            summary: "node 254 network 192.168.1.0/24 map 1 192.168.1.1 254",
            first: "1 192.168.1.1 254", last: "1 192.168.1.1 254", lines: 1),
        Case(
            cidr: "10.1.2.3/16", nodeID: 515, network: "10.1.0.0/16",
            summary: "node 515 network 10.1.0.0/16 map 1 10.1.0.1 255 +255 lines",
            first: "1 10.1.0.1 255", last: "65280 10.1.255.0 255", lines: 256),
        Case(
            cidr: "10.1.255.254/16", nodeID: 65534, network: "10.1.0.0/16",
            summary: "node 65534 network 10.1.0.0/16 map 1 10.1.0.1 255 +255 lines",
            first: "1 10.1.0.1 255", last: "65280 10.1.255.0 255", lines: 256),
        Case(
            cidr: "10.0.3.5/23", nodeID: 261, network: "10.0.2.0/23",
            summary: "node 261 network 10.0.2.0/23 map 1 10.0.2.1 255 +1 line",
            first: "1 10.0.2.1 255", last: "256 10.0.3.0 255", lines: 2),
        Case(
            cidr: "10.0.2.255/23", nodeID: 255, network: "10.0.2.0/23",
            summary: "node 255 network 10.0.2.0/23 map 1 10.0.2.1 255 +1 line",
            first: "1 10.0.2.1 255", last: "256 10.0.3.0 255", lines: 2),
        Case(
            cidr: "192.168.1.200/25", nodeID: 72, network: "192.168.1.128/25",
            summary: "node 72 network 192.168.1.128/25 map 1 192.168.1.129 126",
            first: "1 192.168.1.129 126", last: "1 192.168.1.129 126", lines: 1),
        Case(
            cidr: "192.168.1.5/25", nodeID: 5, network: "192.168.1.0/25",
            summary: "node 5 network 192.168.1.0/25 map 1 192.168.1.1 126",
            first: "1 192.168.1.1 126", last: "1 192.168.1.1 126", lines: 1),
        Case(
            cidr: "172.16.6.10/22", nodeID: 522, network: "172.16.4.0/22",
            summary: "node 522 network 172.16.4.0/22 map 1 172.16.4.1 255 +3 lines",
            first: "1 172.16.4.1 255", last: "768 172.16.7.0 255", lines: 4),
        Case(
            cidr: "10.0.0.6/30", nodeID: 2, network: "10.0.0.4/30",
            summary: "node 2 network 10.0.0.4/30 map 1 10.0.0.5 2",
            first: "1 10.0.0.5 2", last: "1 10.0.0.5 2", lines: 1),
        Case(
            cidr: "10.0.1.7/8", nodeID: 263, network: "10.0.0.0/8",
            summary: "node 263 network 10.0.0.0/8 map 1 10.0.0.1 255 +255 lines",
            first: "1 10.0.0.1 255", last: "65280 10.0.255.0 256", lines: 256),
    ])
    func derivesNetwork(_ c: Case) throws {
        let derived = try AutoMap.derive(leases: [lease(c.cidr)])
        #expect(derived.nodeID == c.nodeID)
        #expect(derived.network.description == c.network)
        #expect(derived.summary == c.summary)
        #expect(derived.map.lines.first?.description == c.first)
        #expect(derived.map.lines.last?.description == c.last)
        #expect(derived.map.lines.count == c.lines)
        #expect(derived.map.nodeID(for: derived.primary.address) == c.nodeID)
        #expect(derived.hostname == "node\(c.nodeID)")
        // Every line stays inside one last-byte block and its id is its first host number.
        for line in derived.map.lines {
            guard case .address(let first) = line.host, case .range(let count) = line.size else {
                Issue.record("unexpected line \(line)")
                continue
            }
            #expect(Int(first.lastOctet) + count - 1 <= 255)
            #expect(derived.network.hostNumber(of: first) == UInt32(line.id))
        }
        #expect(derived.mosixMap == derived.hpcMap)
        #expect(try ClusterMap(parsing: derived.hpcMap, file: "hpc.map") == derived.map)
    }

    @Test(arguments: [
        ("10.0.2.15/24", 254), ("10.0.3.5/23", 510), ("10.1.2.3/16", 65534), ("172.16.6.10/22", 1022),
        ("192.168.1.200/25", 126), ("10.0.0.6/30", 2), ("10.0.1.7/8", 65535),
    ])
    func expandCoversEveryHost(cidr: String, count: Int) throws {
        let derived = try AutoMap.derive(leases: [lease(cidr)])
        let entries = derived.map.expand()
        #expect(entries.count == count)
        #expect(entries.map(\.id) == Array(1...count))
        for entry in entries {
            guard case .address(let address) = entry.host else { continue }
            #expect(derived.network.hostNumber(of: address) == UInt32(entry.id))
        }
    }

    @Test func classCMapText() throws {
        let derived = try AutoMap.derive(leases: [lease("10.0.2.15/24", router: "10.0.2.2")])
        #expect(
            derived.hpcMap == """
                # cluster map derived by clump; format: node-id address range-size|ALIAS (openMosix HOWTO 5.4.2)
                # from the lease on eth0 (bus 0000:00:03.0, mac 52:54:00:12:34:56): 10.0.2.15/24 router 10.0.2.2
                # primary card eth0: the only card with a lease
                # network 10.0.2.0/24: node id = host number in the network; this node is node 15
                1  10.0.2.1  254

                """)
        #expect(derived.warnings.isEmpty)
        #expect(derived.hostname == "node15")
        #expect(derived.aliases.isEmpty)
    }

    @Test func sixteenMapText() throws {
        let derived = try AutoMap.derive(leases: [lease("10.1.2.3/16", bus: nil)])
        let lines = derived.hpcMap.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4 + 256 + 1)
        #expect(lines[1] == "# from the lease on eth0 (mac 52:54:00:12:34:56): 10.1.2.3/16")
        #expect(lines[4] == "1      10.1.0.1    255")
        #expect(lines[5] == "256    10.1.1.0    256")
        #expect(lines[259] == "65280  10.1.255.0  255")
        #expect(derived.warnings == ["/etc/hosts names 1024 of the map's 65533 other nodes; the rest have no name"])
    }

    @Test func largeNetworksAreCutAtTheMapLimits() throws {
        let derived = try AutoMap.derive(leases: [lease("10.0.1.7/8")])
        let truncation =
            "network 10.0.0.0/8 has 16777214 host addresses but a map holds node ids 1-65535 in 256 lines; "
            + "it covers 10.0.0.1-10.0.255.255 only"
        #expect(
            derived.warnings == [
                truncation, "/etc/hosts names 1024 of the map's 65534 other nodes; the rest have no name",
            ])
        #expect(derived.hpcMap.contains("# \(truncation)\n"))
        #expect(derived.map.expand().last?.id == 65535)
    }

    // MARK: several cards

    static let eth0 = lease("10.0.2.15/24", interface: "eth0", bus: "0000:00:03.0", mac: "52:54:00:12:34:56")
    static let eth1 = lease("10.0.3.15/24", interface: "eth1", bus: "0000:00:04.0", mac: "52:54:00:12:34:57")
    static let usb0 = lease("192.168.7.2/24", interface: "usb0", bus: nil, mac: "02:00:00:00:00:01")

    @Test func aliasLinesForOtherCards() throws {
        let derived = try AutoMap.derive(leases: [Self.eth1, Self.eth0, Self.usb0])
        #expect(derived.primary == Self.eth0)
        #expect(derived.aliases == [Self.eth1, Self.usb0])
        #expect(derived.summary == "node 15 network 10.0.2.0/24 map 1 10.0.2.1 254 alias 10.0.3.15 192.168.7.2")
        #expect(
            derived.hpcMap == """
                # cluster map derived by clump; format: node-id address range-size|ALIAS (openMosix HOWTO 5.4.2)
                # from the lease on eth0 (bus 0000:00:03.0, mac 52:54:00:12:34:56): 10.0.2.15/24
                # primary card eth0: lowest bus address 0000:00:03.0
                # network 10.0.2.0/24: node id = host number in the network; this node is node 15
                # ALIAS for this node: eth1 (bus 0000:00:04.0, mac 52:54:00:12:34:57): 10.0.3.15/24
                # ALIAS for this node: usb0 (mac 02:00:00:00:00:01): 192.168.7.2/24
                1   10.0.2.1     254
                15  10.0.3.15    ALIAS
                15  192.168.7.2  ALIAS

                """)
        #expect(derived.map.nodeID(for: ip("10.0.3.15")) == 15)
        #expect(derived.map.nodeID(for: ip("192.168.7.2")) == 15)
    }

    static let orders: [[Lease]] = {
        let three = [eth0, eth1, usb0]
        return [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]].map { $0.map { three[$0] } }
    }()

    @Test(arguments: orders)
    func detectionOrderDoesNotMatter(leases: [Lease]) throws {
        #expect(try AutoMap.derive(leases: leases) == AutoMap.derive(leases: Self.orders[0]))
    }

    @Test func twoCardsBothOrders() throws {
        let a = try AutoMap.derive(leases: [Self.eth0, Self.eth1])
        let b = try AutoMap.derive(leases: [Self.eth1, Self.eth0])
        #expect(a == b)
        #expect(a.map.lines.map(\.description) == ["1 10.0.2.1 254", "15 10.0.3.15 ALIAS"])
    }

    /// Kernel names follow probe order, so after a reboot the card in slot 03 may be `eth1`:
    /// the bus address still picks it, and the map stays the same.
    @Test func namesSwappedByProbeOrderKeepTheMap() throws {
        var first = Self.eth0
        var second = Self.eth1
        first.interface = "eth1"
        second.interface = "eth0"
        let swapped = try AutoMap.derive(leases: [second, first])
        let original = try AutoMap.derive(leases: [Self.eth0, Self.eth1])
        #expect(swapped.map == original.map)
        #expect(swapped.summary == original.summary)
        #expect(swapped.primary.busAddress == "0000:00:03.0")
    }

    /// Two USB cards on one controller share its PCI address and get `usb0`/`usb1` in the
    /// order they finished enumerating; the port chain decides, port 2 before port 10.
    @Test func usbCardsOnOneControllerAreOrderedByPort() throws {
        let port2 = lease("10.0.2.15/24", interface: "usb1", bus: "0000:00:14.0/1-2:1.0", mac: "02:00:00:00:00:02")
        let port10 = lease("10.0.3.15/24", interface: "usb0", bus: "0000:00:14.0/1-10:1.0", mac: "02:00:00:00:00:10")
        let hub = lease("10.0.4.15/24", interface: "usb2", bus: "0000:00:14.0/1-3.1:1.0", mac: "02:00:00:00:00:31")
        let expected = try AutoMap.derive(leases: [port2, port10, hub])
        #expect(expected.primary == port2)
        #expect(expected.aliases == [hub, port10])
        var swapped = [port2, port10, hub]
        swapped[0].interface = "usb0"
        swapped[1].interface = "usb1"
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
            #expect(try AutoMap.derive(leases: order.map { [port2, port10, hub][$0] }) == expected)
            #expect(try AutoMap.derive(leases: order.map { swapped[$0] }).summary == expected.summary)
        }
    }

    /// The controller's PCI address still comes first: a USB card behind 00:03.0 precedes a
    /// PCI card in 00:04.0.
    @Test func aUSBCardIsOrderedByItsControllerFirst() throws {
        let usb = lease("10.0.2.15/24", interface: "usb0", bus: "0000:00:03.0/2-1:1.0")
        let pci = lease("10.0.3.15/24", interface: "eth0", bus: "0000:00:04.0")
        #expect(try AutoMap.derive(leases: [pci, usb]).primary == usb)
        #expect(try AutoMap.derive(leases: [usb, pci]).primary == usb)
    }

    @Test func withoutBusAddressesNamesDecideNumerically() throws {
        let eth2 = lease("10.0.2.15/24", interface: "eth2", bus: nil)
        let eth10 = lease("10.0.3.15/24", interface: "eth10", bus: nil)
        #expect(try AutoMap.derive(leases: [eth10, eth2]).primary == eth2)
        #expect(try AutoMap.derive(leases: [eth2, eth10]).primary == eth2)
    }

    @Test func secondCardOnTheSameNetworkGetsNoAlias() throws {
        let same = lease("10.0.2.16/24", interface: "eth1", bus: "0000:00:04.0")
        let derived = try AutoMap.derive(leases: [same, Self.eth0])
        #expect(derived.map.lines.map(\.description) == ["1 10.0.2.1 254"])
        #expect(
            derived.warnings == [
                "eth1 10.0.2.16 lies in the map as node 16's address; no ALIAS line "
                    + "(two cards on one network confuse openMosix: disconnect one or use Expert mode)"
            ])
    }

    /// QEMU gives every user-network card 10.0.2.15: the summary line stays the plain one.
    @Test func twoQemuUserNetworksGiveOneMap() throws {
        let twin = lease("10.0.2.15/24", interface: "eth1", bus: "0000:00:04.0", mac: "52:54:00:12:34:57")
        let a = try AutoMap.derive(leases: [Self.eth0, twin])
        let b = try AutoMap.derive(leases: [twin, Self.eth0])
        #expect(a == b)
        #expect(a.summary == "node 15 network 10.0.2.0/24 map 1 10.0.2.1 254")
        #expect(a.warnings == ["eth1 has 10.0.2.15 like another card; no second ALIAS line"])
    }

    @Test func unusableFirstCardFallsBackToTheNext() throws {
        let pointToPoint = lease("10.9.9.9/32", interface: "eth0", bus: "0000:00:02.0")
        let derived = try AutoMap.derive(leases: [Self.eth1, pointToPoint])
        #expect(derived.primary == Self.eth1)
        #expect(derived.map.lines.map(\.description) == ["1 10.0.3.1 254", "15 10.9.9.9 ALIAS"])
        #expect(derived.warnings == ["eth0 not used for the map: 10.9.9.9/32 leaves no host range to number nodes in"])
    }

    @Test func aliasesNeverPushPastTheLineLimit() throws {
        let derived = try AutoMap.derive(leases: [lease("10.1.2.3/16"), Self.eth1])
        #expect(derived.map.lines.count == 256)
        #expect(derived.aliases.isEmpty)
        #expect(derived.warnings.first == "eth1 10.0.3.15 has no ALIAS line: the map already has 256 lines")
    }

    // MARK: host names

    @Test(arguments: [
        (String?.none, "node15", "10.0.2.15\tnode15", [String]()),
        ("", "node15", "10.0.2.15\tnode15", []),
        ("drone7", "drone7", "10.0.2.15\tdrone7 node15", []),
        ("Drone-7", "Drone-7", "10.0.2.15\tDrone-7 node15", []),
        ("drone7.cluster.lan", "drone7", "10.0.2.15\tdrone7.cluster.lan drone7 node15", []),
        ("drone7.cluster.lan.", "drone7", "10.0.2.15\tdrone7.cluster.lan drone7 node15", []),
        ("node15", "node15", "10.0.2.15\tnode15", []),
        (
            "my_host", "node15", "10.0.2.15\tnode15",
            ["eth0: DHCP host name 'my_host' is not a valid host name; ignored"]
        ),
        ("-drone", "node15", "10.0.2.15\tnode15", ["eth0: DHCP host name '-drone' is not a valid host name; ignored"]),
        // A server's terminal escapes never reach the console.
        (
            "\u{1b}[2J\u{1b}]0;owned\u{07}x", "node15", "10.0.2.15\tnode15",
            ["eth0: DHCP host name '?[2J?]0;owned?x' is not a valid host name; ignored"]
        ),
        (
            "localhost", "node15", "10.0.2.15\tnode15",
            ["eth0: DHCP host name 'localhost' is not a valid host name; ignored"]
        ),
        (
            "10.0.2.15", "node15", "10.0.2.15\tnode15",
            ["eth0: DHCP host name '10.0.2.15' is not a valid host name; ignored"]
        ),
        (
            String(repeating: "a", count: 64), "node15", "10.0.2.15\tnode15",
            ["eth0: DHCP host name '\(String(repeating: "a", count: 64))' is not a valid host name; ignored"]
        ),
        (
            "node9", "node9", "10.0.2.15\tnode9 node15",
            ["/etc/hosts gives no name to 10.0.2.9: node9 is this node's host name"]
        ),
    ])
    func hostname(dhcp: String?, expected: String, ownLine: String, warnings: [String]) throws {
        let derived = try AutoMap.derive(leases: [lease("10.0.2.15/24", hostname: dhcp)])
        #expect(derived.hostname == expected)
        let lines = derived.hosts.split(separator: "\n").map(String.init)
        #expect(lines[5] == ownLine)
        #expect(derived.warnings == warnings)
    }

    @Test func hostnameFromAnotherCardWhenThePrimaryHasNone() throws {
        var eth1 = Self.eth1
        eth1.hostname = "drone9"
        #expect(try AutoMap.derive(leases: [eth1, Self.eth0]).hostname == "drone9")
    }

    @Test func hostsForAClassC() throws {
        let derived = try AutoMap.derive(leases: [lease("10.0.2.15/24", hostname: "drone15")])
        let lines = derived.hosts.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(
            Array(lines.prefix(8)) == [
                "# /etc/hosts derived by clump from the lease on eth0: node 15 of 10.0.2.0/24",
                "127.0.0.1\tlocalhost",
                "::1\tlocalhost ip6-localhost ip6-loopback",
                "ff02::1\tip6-allnodes",
                "ff02::2\tip6-allrouters",
                "10.0.2.15\tdrone15 node15",
                "10.0.2.1\tnode1",
                "10.0.2.2\tnode2",
            ])
        #expect(lines.count == 6 + 253 + 1)
        #expect(lines[lines.count - 2] == "10.0.2.254\tnode254")
        #expect(!lines.contains("10.0.2.15\tnode15"))
    }

    // MARK: errors

    static let rangeHint = "hint: fix the DHCP server's address range; it must hand out host addresses only"
    static let staticHint =
        "hint: give the cluster network a /30 or shorter prefix, or boot in Expert mode and write a static /etc/hpc.map"

    @Test(arguments: [
        (
            [Lease](),
            "no leases: no network card was configured; "
                + "hint: check the cables and the DHCP server, or boot in Expert mode and configure by hand"
        ),
        (
            [lease("10.0.2.0/24")],
            "eth0: 10.0.2.0 is the network address of 10.0.2.0/24, not a host address; \(rangeHint)"
        ),
        (
            [lease("10.0.2.255/24")],
            "eth0: 10.0.2.255 is the broadcast address of 10.0.2.0/24, not a host address; \(rangeHint)"
        ),
        (
            [lease("10.0.3.255/23")],
            "eth0: 10.0.3.255 is the broadcast address of 10.0.2.0/23, not a host address; \(rangeHint)"
        ),
        ([lease("10.0.0.1/31")], "eth0: 10.0.0.1/31 leaves no host range to number nodes in; \(staticHint)"),
        ([lease("10.0.0.1/32")], "eth0: 10.0.0.1/32 leaves no host range to number nodes in; \(staticHint)"),
        (
            [lease("10.0.0.1/33")],
            "eth0: bad prefix length '33': expected a number from 0 to 32; "
                + "hint: a netmask is ones then zeros, like 255.255.255.0 (/24)"
        ),
        (
            [lease("10.200.0.1/8")],
            "eth0: 10.200.0.1 is host 13107201 of 10.0.0.0/8, past the map's last address "
                + "10.0.255.255; hint: a map holds node ids 1-65535 in 256 lines; "
                + "use a /16 or smaller cluster network, "
                + "or boot in Expert mode and write a static /etc/hpc.map"
        ),
        // When no card can be numbered, the first card's (in bus order) problem is reported.
        (
            [lease("10.0.0.1/32", interface: "eth1", bus: "0000:00:04.0"), lease("10.0.2.0/24", interface: "eth0")],
            "eth0: 10.0.2.0 is the network address of 10.0.2.0/24, not a host address; \(rangeHint)"
        ),
    ])
    func rejects(leases: [Lease], message: String) {
        let error = autoMapError { _ = try AutoMap.derive(leases: leases) }
        #expect(error?.description == message)
    }
}
