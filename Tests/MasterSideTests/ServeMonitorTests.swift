import AutoMap
import ImageSpec
import Testing

@testable import MasterSide

@Suite struct ServeMonitorTests {
    static func monitor(enrol: Bool) throws -> ServeMonitor {
        var cluster = Spec.Cluster()
        cluster.network = try IPv4Network(parsing: "10.0.2.0/24")
        let inventory = try InventoryLoader.parse(
            yaml: "- mac: 52:54:00:12:34:56\n", file: "nodes.yaml", cluster: cluster)
        return ServeMonitor(inventory: inventory, cluster: cluster, tftpRoot: "/m/tftp", enrol: enrol)
    }

    static func lines(_ actions: [ServeMonitor.Action]) -> [String] {
        actions.compactMap { if case .print(let line) = $0 { return line } else { return nil } }
    }

    @Test func aKnownNodeIsShownAsItBoots() throws {
        var monitor = try Self.monitor(enrol: false)
        var out: [String] = []
        for line in [
            "dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:12:34:56 ",
            "dnsmasq-dhcp[7]: DHCPOFFER(br0) 10.0.2.2 52:54:00:12:34:56 ",
            "dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:12:34:56 ",
            "dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.2.2 52:54:00:12:34:56 node2",
            "dnsmasq-tftp[7]: sent /m/tftp/boot.ipxe to 10.0.2.2",
            "dnsmasq-dhcp[7]: read /m/dnsmasq/hosts/node2",
        ] {
            out += Self.lines(monitor.feed(line))
        }
        #expect(
            out == [
                "clump: node2 52:54:00:12:34:56 asks for an address",
                "clump: node2 52:54:00:12:34:56 leased 10.0.2.2 (known node)",
                "clump: node2 52:54:00:12:34:56 10.0.2.2 fetched boot.ipxe",
            ])
    }

    @Test func anUnknownMachineIsShownWithItsEnrolmentLineOnce() throws {
        var monitor = try Self.monitor(enrol: false)
        let ack = "dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.2.200 02:00:00:00:00:09 "
        let first = Self.lines(monitor.feed(ack))
        #expect(first.first == "clump: new machine 02:00:00:00:00:09 leased 10.0.2.200")
        #expect(first.last?.contains("- {mac: \"02:00:00:00:00:09\", address: 10.0.2.3}") == true)
        #expect(Self.lines(monitor.feed(ack)) == ["clump: new machine 02:00:00:00:00:09 leased 10.0.2.200"])
        #expect(monitor.feed("dnsmasq-tftp[7]: file /m/tftp/nodes/02-00-00-00-00-09.ipxe not found for 10.0.2.200").isEmpty)
        let grubMiss = "dnsmasq-tftp[7]: file /m/tftp/grub/nodes/02-00-00-00-00-09.cfg not found for 10.0.2.200"
        #expect(monitor.feed(grubMiss).isEmpty)
        #expect(!monitor.feed("dnsmasq-tftp[7]: file /m/tftp/bootx64.efi not found for 10.0.2.200").isEmpty)
    }

    @Test func withEnrolTwoNewMachinesGetTwoAddresses() throws {
        var monitor = try Self.monitor(enrol: true)
        let a = monitor.feed("dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.2.200 02:00:00:00:00:09 ")
        let b = monitor.feed("dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.2.201 02:00:00:00:00:0a ")
        let mac9 = try #require(MACAddress(parsing: "02:00:00:00:00:09"))
        let mac10 = try #require(MACAddress(parsing: "02:00:00:00:00:0a"))
        #expect(a.last == .enrol(mac9, IPv4Address(10, 0, 2, 3)))
        #expect(b.last == .enrol(mac10, IPv4Address(10, 0, 2, 4)))
    }
}

/// `serve --enrol` under a flood of invented machines: a few a minute, a maximum, a window, one
/// summary line a second, bounded bookkeeping, and known nodes shown all along.
@Suite struct EnrolmentLimitTests {
    static func monitor(_ limits: EnrolmentLimits) throws -> ServeMonitor {
        var cluster = Spec.Cluster()
        cluster.network = try IPv4Network(parsing: "10.0.0.0/16")
        let inventory = try InventoryLoader.parse(yaml: "- mac: 52:54:00:12:34:56\n", file: "nodes.yaml", cluster: cluster)
        return ServeMonitor(inventory: inventory, cluster: cluster, tftpRoot: "/m/tftp", enrol: true, limits: limits)
    }

    static func invented(_ index: Int) -> String {
        String(format: "02:%02x:%02x:%02x:00:01", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff)
    }

    static func ack(_ index: Int) -> String {
        "dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.\((index >> 8) & 0xff).\(index & 0xff) \(invented(index)) "
    }

    @Test func aFloodEnrolsAFewAMinuteUpToTheMaximumAndSaysSoOnceASecond() throws {
        var monitor = try Self.monitor(EnrolmentLimits(max: 5, perMinute: 3, window: 1800))
        var enrolled: [MACAddress] = []
        var lines: [String] = []
        func take(_ actions: [ServeMonitor.Action]) {
            for action in actions {
                switch action {
                case .enrol(let mac, _): enrolled.append(mac)
                case .print(let line): lines.append(line)
                }
            }
        }
        // 1,000 invented machines in 10 s, a known node in the middle of them.
        for index in 0..<1000 {
            let now = Double(index) / 100
            take(monitor.feed(Self.ack(index), at: now))
            take(monitor.tick(at: now))
            if index == 500 { take(monitor.feed("dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.0.2 52:54:00:12:34:56 node2", at: now)) }
        }
        take(monitor.tick(at: 11))
        #expect(enrolled.count == 3, "three in the first minute")
        #expect(lines.contains("clump: node2 52:54:00:12:34:56 leased 10.0.0.2 (known node)"))
        let summaries = lines.filter { $0.contains("more lines about unknown machines in the last second") }
        #expect(summaries.count == 10, "\(summaries)")
        #expect(summaries.allSatisfy { $0.contains("(3 of at most 5 enrolled)") })
        #expect(lines.count < 10 * (ServeMonitor.unknownLinesPerSecond + 1) + 2, "\(lines.count) lines")

        // A minute later the rate allows more, up to the maximum; then it says it stops, once.
        for index in 1000..<1100 { take(monitor.feed(Self.ack(index), at: 75 + Double(index - 1000) / 100)) }
        for index in 1100..<1200 { take(monitor.feed(Self.ack(index), at: 150 + Double(index - 1100) / 100)) }
        #expect(enrolled.count == 5)
        #expect(Set(enrolled).count == 5)
        #expect(lines.filter { $0.contains("the most --max allows") }.count == 1)
    }

    @Test func nothingIsEnrolledAfterTheWindow() throws {
        var monitor = try Self.monitor(EnrolmentLimits(max: 32, perMinute: 6, window: 600))
        _ = monitor.feed("dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:12:34:56 ", at: 0)
        let late = monitor.feed(Self.ack(1), at: 601)
        #expect(!late.contains { if case .enrol = $0 { return true } else { return false } })
        #expect(late.contains(.print("clump: the enrolment window of 10 min is over (0 enrolled): unknown machines are "
            + "shown, not enrolled; serve --enrol again for another window")))
    }

    @Test func theBookkeepingOfMachinesSeenIsBounded() throws {
        var monitor = try Self.monitor(EnrolmentLimits(max: 1, perMinute: 1, window: 1800))
        for index in 0..<50_000 {
            _ = monitor.feed("dnsmasq-dhcp[7]: DHCPDISCOVER(br0) \(Self.invented(index)) ", at: Double(index) / 1000)
            _ = monitor.feed(Self.ack(index), at: Double(index) / 1000)
        }
        #expect(monitor.tracked <= 3 * ServeMonitor.capacity + 1, "\(monitor.tracked)")
    }

    @Test func aBoundedMapForgetsTheOldestAndStaysSmall() {
        var map = BoundedMap<Int, Bool>(capacity: 4)
        for key in 0..<10 { map.insert(key, true) }
        #expect(map.count == 4 && map[9] == true && map[5] == nil)
        for round in 0..<1000 {
            map.insert(100, true)
            map.remove(100)
            #expect(map.count <= 4, "round \(round)")
        }
        #expect(map[9] == true)
    }
}
