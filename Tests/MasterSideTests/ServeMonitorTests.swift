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
