import Foundation
import TestSupport
import Testing

@testable import NetProbe

/// Our client against real dnsmasq across veth pairs in network namespaces (root).
@Suite(.timeLimit(.minutes(2))) struct DHCPNamespaceTests {
    static let mac0 = "52:54:00:00:10:01"
    static let mac1 = "52:54:00:00:10:02"

    @Test func leaseConfiguresAddressAndDefaultRoute() async throws {
        guard let net = TestNetwork.make("lease") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.61.0.1", mac: Self.mac0)
        try net.startDnsmasq([
            "--interface=srv0", "--dhcp-range=10.61.0.50,10.61.0.150,255.255.255.0,1h",
            "--dhcp-option=3,10.61.0.1", "--dhcp-option=6,10.61.0.1", "--domain=cluster.lan",
            "--dhcp-host=\(Self.mac0),drone15,10.61.0.15", "--dhcp-boot=pxelinux.0,,10.61.0.1",
            "--dhcp-option-force=17,/srv/nfsroot",
        ])
        let events = try await net.runClient(interfaces: ["eth0"], seconds: 20) { !$0.bound.isEmpty }
        let lease = try #require(events.bound.first, "no lease; events: \(events); dnsmasq: \(net.log("dnsmasq"))")
        #expect(events.failures.isEmpty)
        #expect(lease.description == "eth0 10.61.0.15/24 router 10.61.0.1 server 10.61.0.1")
        #expect(lease.hostName == "drone15")
        #expect(lease.domainName == "cluster.lan")
        #expect(lease.dnsServers == [IPv4(10, 61, 0, 1)])
        #expect(lease.leaseTime == 3600)
        #expect(lease.nextServer == IPv4(10, 61, 0, 1))
        #expect(lease.bootFile == "pxelinux.0")
        #expect(lease.rootPath == "/srv/nfsroot")
        #expect(lease.mac == MACAddress(Self.mac0))
        let addresses = net.clientAddresses("eth0")
        #expect(addresses.contains("inet 10.61.0.15/24 brd 10.61.0.255"), "\(addresses)")
        let routes = net.clientRoutes()
        #expect(routes.contains("default via 10.61.0.1 dev eth0 proto dhcp src 10.61.0.15"), "\(routes)")
        #expect(routes.contains("10.61.0.0/24 dev eth0"), "\(routes)")
    }

    /// `clumpnode dhcp IFACE`, the Expert-mode step by hand: it leases, configures the card, says
    /// so and exits 0; with no server it gives up at `--timeout`, exits 1 and says why.
    @Test func theDHCPCommandLeasesOrSaysWhyNot() throws {
        guard let net = TestNetwork.make("command") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.66.0.1", mac: Self.mac0)
        let command = ["ip", "netns", "exec", net.client, Spawn.agent(nextTo: Bundle.module), "dhcp", "--timeout"]
        let (silent, complaint) = try Spawn.capture(command + ["2", "eth0"], timeout: 30)
        #expect(silent == 1, "\(complaint)")
        #expect(complaint.contains("no lease on eth0 within 2.0 s"), "\(complaint)")
        try net.startDnsmasq([
            "--interface=srv0", "--dhcp-range=10.66.0.50,10.66.0.150,255.255.255.0,1h", "--dhcp-option=3,10.66.0.1",
            "--dhcp-host=\(Self.mac0),10.66.0.15",
        ])
        let (status, output) = try Spawn.capture(command + ["20", "eth0"], timeout: 30)
        #expect(status == 0, "\(output); dnsmasq: \(net.log("dnsmasq"))")
        #expect(output.contains("eth0 10.66.0.15/24 router 10.66.0.1 server 10.66.0.1"), "\(output)")
        #expect(net.clientAddresses("eth0").contains("inet 10.66.0.15/24"), "\(net.clientAddresses("eth0"))")
        #expect(net.clientRoutes().contains("default via 10.66.0.1 dev eth0"), "\(net.clientRoutes())")
    }

    @Test func nakSendsUsBackToDiscover() async throws {
        guard let net = TestNetwork.make("nak") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.62.0.1", mac: Self.mac0)
        try net.startDnsmasq([
            "--interface=srv0", "--dhcp-range=10.62.0.50,10.62.0.150,255.255.255.0,1h", "--dhcp-authoritative",
        ])
        var options = DHCPClient.Options()
        // INIT-REBOOT with an address from another network: an authoritative server must NAK it.
        options.previousAddresses = ["eth0": IPv4(192, 168, 200, 9)]
        let events = try await net.runClient(interfaces: ["eth0"], options: options, seconds: 20) { !$0.bound.isEmpty }
        #expect(events.naks == 1, "\(events)")
        #expect(events.failures.isEmpty, "\(events)")
        let lease = try #require(events.bound.first, "\(events)")
        #expect((IPv4(10, 62, 0, 50)...IPv4(10, 62, 0, 150)).contains(lease.address))
        #expect(net.clientAddresses("eth0").contains("inet \(lease.address)/24"))
        #expect(!net.clientAddresses("eth0").contains("192.168.200.9"))
    }

    @Test func serverThatAppearsLaterIsUsed() async throws {
        guard let net = TestNetwork.make("late") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.63.0.1", mac: Self.mac0)
        let starter = Thread {
            Thread.sleep(forTimeInterval: 4)
            _ = try? net.startDnsmasq(["--interface=srv0", "--dhcp-range=10.63.0.50,10.63.0.150,255.255.255.0,1h"])
        }
        starter.start()
        let events = try await net.runClient(interfaces: ["eth0"], seconds: 40) { !$0.bound.isEmpty }
        #expect(events.noAnswers >= 2, "\(events)")
        #expect(events.failures.isEmpty, "\(events)")
        if case .noAnswer(let interface, let attempt, _) = events.first {
            #expect(interface == "eth0" && attempt == 1)
        } else {
            Issue.record("the first event should be 'no DHCP answer yet': \(events)")
        }
        let lease = try #require(events.bound.first, "\(events); dnsmasq: \(net.log("dnsmasq"))")
        #expect((IPv4(10, 63, 0, 50)...IPv4(10, 63, 0, 150)).contains(lease.address))
    }

    /// dnsmasq's shortest lease is 2 minutes; T1 is forced to 5 s with option 58, so the renewal
    /// (unicast to the server, RENEWING -> BOUND) really happens within the test.
    @Test func shortLeaseIsRenewed() async throws {
        guard let net = TestNetwork.make("renew") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.64.0.1", mac: Self.mac0)
        try net.startDnsmasq([
            "--interface=srv0", "--dhcp-range=10.64.0.50,10.64.0.150,255.255.255.0,2m", "--dhcp-option=58,5",
            "--dhcp-option=3,10.64.0.1",
        ])
        let events = try await net.runClient(interfaces: ["eth0"], seconds: 30) { !$0.renewed.isEmpty }
        let lease = try #require(events.bound.first, "\(events)")
        #expect(lease.renewalTime == 5)
        #expect(events.failures.isEmpty, "\(events)")
        #expect(lease.leaseTime == 120)
        let renewed = try #require(events.renewed.first, "\(events); dnsmasq: \(net.log("dnsmasq"))")
        #expect(renewed.address == lease.address)
        #expect(renewed.acquiredAt.milliseconds - lease.acquiredAt.milliseconds >= 4_500)
        // The renewal was unicast from our address: dnsmasq logs the REQUEST with our IP as source
        // and ciaddr set, which it shows as "DHCPREQUEST(srv0) <address>".
        #expect(net.log("dnsmasq").contains("DHCPREQUEST(srv0) \(lease.address)"), "\(net.log("dnsmasq"))")
        #expect(net.clientAddresses("eth0").contains("inet \(lease.address)/24"))
        #expect(net.clientRoutes().contains("default via 10.64.0.1"))
    }

    @Test func rapidCommitTakesTwoPackets() async throws {
        guard let net = TestNetwork.make("rapid") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.65.0.1", mac: Self.mac0)
        try net.startDnsmasq([
            "--interface=srv0", "--dhcp-range=10.65.0.50,10.65.0.150,255.255.255.0,1h", "--dhcp-rapid-commit",
        ])
        let events = try await net.runClient(interfaces: ["eth0"], seconds: 20) { !$0.bound.isEmpty }
        #expect(events.bound.count == 1, "\(events)")
        #expect(events.failures.isEmpty, "\(events)")
        #expect(events.offers == 0, "an OFFER means no rapid commit: \(events)")
        let log = net.log("dnsmasq")
        #expect(!log.contains("DHCPOFFER"), "\(log)")
        #expect(log.contains("DHCPACK"), "\(log)")
    }

    @Test func twoInterfacesOnTwoNetworks() async throws {
        guard let net = TestNetwork.make("two") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.66.0.1", mac: Self.mac0)
        try net.addLink(1, serverAddress: "10.67.0.1", mac: Self.mac1)
        try net.startDnsmasq([
            "--interface=srv0", "--interface=srv1",
            "--dhcp-range=10.66.0.50,10.66.0.150,255.255.255.0,1h",
            "--dhcp-range=10.67.0.50,10.67.0.150,255.255.255.0,1h",
            "--dhcp-option=tag:srv0,3,10.66.0.1", "--dhcp-option=tag:srv1,3,10.67.0.1",
        ])
        let events = try await net.runClient(interfaces: ["eth0", "eth1"], seconds: 20) { $0.bound.count == 2 }
        #expect(events.failures.isEmpty, "\(events)")
        let leases = Dictionary(uniqueKeysWithValues: events.bound.map { ($0.interface, $0) })
        let eth0 = try #require(leases["eth0"], "\(events)")
        let eth1 = try #require(leases["eth1"], "\(events)")
        #expect(eth0.address.value >> 8 == IPv4(10, 66, 0, 0).value >> 8)
        #expect(eth1.address.value >> 8 == IPv4(10, 67, 0, 0).value >> 8)
        #expect(net.clientAddresses("eth0").contains("inet \(eth0.address)/24"))
        #expect(net.clientAddresses("eth1").contains("inet \(eth1.address)/24"))
        let routes = net.clientRoutes()
        #expect(routes.contains("default via 10.66.0.1 dev eth0"), "\(routes)")
        #expect(routes.contains("default via 10.67.0.1 dev eth1"), "\(routes)")
    }

    /// `ip=` on the kernel command line: no DHCP at all, the static address goes on as given.
    @Test func staticKernelParameterIsApplied() async throws {
        guard let net = TestNetwork.make("static") else { return }
        defer { net.remove() }
        try net.addLink(0, serverAddress: "10.68.0.1", mac: Self.mac0)
        let parameter = try KernelIPParameter.parse(
            commandLine: "console=ttyS0 ip=10.68.0.15:10.68.0.1:10.68.0.1:255.255.255.0:node15:eth0:off")
        guard case .static(let configuration) = parameter else {
            Issue.record("not static: \(String(describing: parameter))")
            return
        }
        let lease = try await net.inClientNamespace {
            try DHCPClient.configureStatic(configuration, interface: "eth0")
        }
        #expect(lease.description == "eth0 10.68.0.15/24 router 10.68.0.1 server 10.68.0.1")
        #expect(lease.hostName == "node15")
        #expect(net.clientAddresses("eth0").contains("inet 10.68.0.15/24 brd 10.68.0.255"))
        #expect(net.clientAddresses("eth0").contains("valid_lft forever"))
        #expect(net.clientRoutes().contains("default via 10.68.0.1 dev eth0 proto static"), "\(net.clientRoutes())")
    }
}
