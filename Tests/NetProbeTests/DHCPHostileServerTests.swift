import Foundation
import TestSupport
import Testing

@testable import NetProbe

/// `clumpnode dhcp --timeout 12 eth0 eth1` against a scripted broken or hostile server on eth0
/// (Fixtures/hostile-dhcp-server.py) while eth1 has no server and keeps the client running the
/// whole 12 s. Whatever the server does: the client never claims an address that is not on the
/// card, and the server never sees more than a few packets a second from it (counted there). The
/// scenarios run in parallel, each in its own pair of namespaces.
@Suite(.timeLimit(.minutes(2))) struct DHCPHostileServerTests {
    enum Scenario: String, CaseIterable, Sendable {
        case leaseZero = "lease0"
        case leaseInfinite = "leaseinf"
        case routerOffSubnet = "offsubnet"
        case noMask = "nomask"
        case nakEveryRequest = "nak"
        case ackForAnotherAddress = "otheraddr"
        case timersZero = "tzero"
    }

    static let runSeconds = 12

    /// One test for all scenarios, run side by side: the client's 12 s dominate, so the suite
    /// takes about as long as one of them.
    @Test func hostileServers() throws {
        var nets: [(Scenario, TestNetwork)] = []
        defer { nets.forEach { $0.1.remove() } }
        for scenario in Scenario.allCases {
            guard let net = TestNetwork.make("hostile-\(scenario.rawValue)") else { return }
            nets.append((scenario, net))
            try net.addLink(0, serverAddress: "10.70.0.1", mac: DHCPNamespaceTests.mac0)
            try net.addLink(1, serverAddress: "10.71.0.1", mac: DHCPNamespaceTests.mac1)
            try net.start(
                [
                    "ip", "netns", "exec", net.server, "python3", try Fixture.url("hostile-dhcp-server.py").path,
                    "--interface", "srv0", "--server", "10.70.0.1", "--pool", "10.70.0.50", "--mode",
                    scenario.rawValue, "--log", Self.packetLog(net),
                ], log: "server")
        }
        for (_, net) in nets { try waitForReady(net) }
        let agent = Spawn.agent(nextTo: Bundle.module)
        var clients: [pid_t] = []
        defer { clients.forEach { Spawn.stop($0, grace: 1) } }
        for (_, net) in nets {
            clients.append(
                try Spawn.start(
                    [
                        "ip", "netns", "exec", net.client, agent, "dhcp", "--timeout", "\(Self.runSeconds)", "eth0",
                        "eth1",
                    ],
                    output: net.directory.appendingPathComponent("client.log").path))
        }
        for ((scenario, net), pid) in zip(nets, clients) {
            let status = Spawn.wait(pid, timeout: 40)
            clients.removeAll { $0 == pid }
            check(scenario, net: net, status: status, output: net.log("client"))
        }
    }

    static func packetLog(_ net: TestNetwork) -> String { net.directory.appendingPathComponent("packets.log").path }

    func check(_ scenario: Scenario, net: TestNetwork, status: Int32?, output: String) {
        let times = ((try? String(contentsOfFile: Self.packetLog(net), encoding: .utf8)) ?? "").split(separator: "\n")
            .dropFirst().compactMap { $0.split(separator: " ").first.flatMap { Double($0) } }
        let context = "\(scenario): exit \(String(describing: status))\n\(output)\nserver saw \(times.count) packets"
        let addresses = net.clientAddresses("eth0")
        let routes = net.clientRoutes()

        // eth1 never gets a lease, so the command always fails; what matters is what it says
        // about eth0 and what is really on eth0.
        #expect(status == 1, "\(context)")
        let verdict = output.split(separator: "\n").first { $0.hasPrefix("clumpnode dhcp: no lease on") } ?? ""
        #expect(verdict.contains("eth1"), "\(context)")
        let claimed = output.contains("clump: lease eth0")
        #expect(!claimed || addresses.contains("inet 10.70.0.50/"), "claimed a lease that is not on eth0: \(context)")
        #expect(claimed == !verdict.contains("eth0"), "\(context)")

        // The server's count: the whole run, and any one second of it.
        #expect(!times.isEmpty, "the server heard nothing: \(context)")
        #expect(times.count <= 30, "\(context)")
        var busiest = 0
        var first = 0
        for (index, time) in times.enumerated() {
            while times[first] <= time - 1 { first += 1 }
            busiest = max(busiest, index - first + 1)
        }
        #expect(busiest <= 8, "\(busiest) packets within one second: \(context)")

        switch scenario {
        case .leaseZero:
            #expect(!claimed, "\(context)")
            #expect(output.contains("lease time 0"), "\(context)")
            #expect(!addresses.contains("inet "), "\(addresses)")
            #expect(times.count >= 6, "the client should keep trying (with back-off): \(context)")
        case .leaseInfinite:
            #expect(output.contains("clump: lease eth0 10.70.0.50/24 router 10.70.0.1 server 10.70.0.1"), "\(context)")
            #expect(addresses.contains("valid_lft forever"), "\(addresses)")
            #expect(routes.contains("default via 10.70.0.1 dev eth0"), "\(routes)")
        case .routerOffSubnet:
            #expect(output.contains("clump: lease eth0 10.70.0.50/24 server 10.70.0.1\n"), "\(context)")
            #expect(output.contains("router 10.99.99.1 left out: not on the leased subnet 10.70.0.0/24"), "\(context)")
            #expect(addresses.contains("inet 10.70.0.50/24"), "\(addresses)")
            #expect(!routes.contains("default"), "\(routes)")
        case .noMask:
            #expect(output.contains("clump: lease eth0 10.70.0.50/8 router 10.70.0.1 server 10.70.0.1"), "\(context)")
            #expect(output.contains("no subnet mask from the server: using the classful /8"), "\(context)")
            #expect(addresses.contains("inet 10.70.0.50/8"), "\(addresses)")
        case .nakEveryRequest:
            #expect(!claimed, "\(context)")
            #expect(output.components(separatedBy: "clump: DHCPNAK on eth0").count - 1 >= 3, "\(context)")
            #expect(!addresses.contains("inet "), "\(addresses)")
        case .ackForAnotherAddress:
            #expect(!claimed, "\(context)")
            #expect(output.contains("it is for 10.70.0.51, we asked for 10.70.0.50"), "\(context)")
            #expect(!addresses.contains("inet "), "\(addresses)")
        case .timersZero:
            #expect(output.contains("clump: lease eth0 10.70.0.50/24 router 10.70.0.1"), "\(context)")
            #expect(addresses.contains("inet 10.70.0.50/24"), "\(addresses)")
            // T1 = 0 is no T1: the default (60 s) applies, so no renewal within the run: a
            // DISCOVER and a REQUEST (and a retransmitted one, should the server be slow to answer).
            #expect(times.count <= 4, "\(context)")
        }
    }

    func waitForReady(_ net: TestNetwork) throws {
        for _ in 0..<100 {
            let text = try? String(contentsOfFile: Self.packetLog(net), encoding: .utf8)
            if text?.hasPrefix("ready") == true { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestNetworkError("the scripted server did not start: \(net.log("server"))")
    }
}
