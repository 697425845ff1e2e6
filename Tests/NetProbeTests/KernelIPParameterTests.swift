import Testing

@testable import NetProbe

@Suite struct KernelIPParameterTests {
    static let cases: [(String, KernelIPParameter?)] = [
        ("console=ttyS0 quiet", nil),
        ("ip=dhcp", .dhcp(device: nil)),
        ("ip=on", .dhcp(device: nil)),
        ("ip=any", .dhcp(device: nil)),
        ("ip=bootp", .dhcp(device: nil)),
        ("ip=off", .off),
        ("ip=none", .off),
        ("ip=dhcp ip=off", .off),
        ("ip=:::::eth1:dhcp", .dhcp(device: "eth1")),
        ("ip=::::::", .dhcp(device: nil)),
        (
            "root=/dev/nfs ip=192.168.1.15:192.168.1.1:192.168.1.254:255.255.255.0:node15:eth0:off quiet",
            .static(
                StaticIPConfiguration(
                    address: IPv4(192, 168, 1, 15), server: IPv4(192, 168, 1, 1), gateway: IPv4(192, 168, 1, 254),
                    netmask: IPv4(255, 255, 255, 0), hostName: "node15", device: "eth0"))
        ),
        (
            "ip=10.1.2.3::10.1.0.1:255.255.0.0:::none:10.1.0.2:10.1.0.3:10.1.0.4",
            .static(
                StaticIPConfiguration(
                    address: IPv4(10, 1, 2, 3), gateway: IPv4(10, 1, 0, 1), netmask: IPv4(255, 255, 0, 0),
                    dnsServers: [IPv4(10, 1, 0, 2), IPv4(10, 1, 0, 3)], ntpServer: IPv4(10, 1, 0, 4)))
        ),
        // No autoconf field but a client address: static, with the classful mask.
        ("ip=172.16.5.9", .static(StaticIPConfiguration(address: IPv4(172, 16, 5, 9), netmask: IPv4(255, 255, 0, 0)))),
        ("ip=172.16.5.9:", .static(StaticIPConfiguration(address: IPv4(172, 16, 5, 9), netmask: IPv4(255, 255, 0, 0)))),
        (
            "ip=192.168.7.9::::::",
            .static(StaticIPConfiguration(address: IPv4(192, 168, 7, 9), netmask: IPv4(255, 255, 255, 0)))
        ),
        ("ip=192.168.7.9:::::eth2:dhcp", .dhcp(device: "eth2")),
    ]

    @Test(arguments: cases)
    func parses(commandLine: String, expected: KernelIPParameter?) throws {
        #expect(try KernelIPParameter.parse(commandLine: commandLine) == expected)
    }

    @Test(arguments: [
        ("ip=10.0.0.300:::::eth0:off", "field 1 (client-ip) '10.0.0.300'"),
        ("ip=10.0.0.3:::255.0.255.0::eth0:off", "not contiguous"),
        ("ip=::::::off", "no client-ip"),
        ("ip=10.0.0.3::::::static", "autoconf 'static'"),
        ("ip=1:2:3:4:5:6:7:8:9:10:11", "at most 10"),
        ("ip=bogus", "expected dhcp, off"),
    ])
    func rejects(commandLine: String, expected: String) {
        do {
            _ = try KernelIPParameter.parse(commandLine: commandLine)
            Issue.record("parsed \(commandLine)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
            #expect("\(error)".contains("format ip="))
        }
    }

    @Test func staticBecomesAnInfiniteLease() throws {
        let config = StaticIPConfiguration(
            address: IPv4(192, 168, 1, 15), gateway: IPv4(192, 168, 1, 1), netmask: IPv4(255, 255, 255, 0))
        let lease = config.lease(interface: "eth0", mac: droneMAC)
        #expect(lease.description == "eth0 192.168.1.15/24 router 192.168.1.1")
        #expect(lease.broadcast == IPv4(192, 168, 1, 255))
        #expect(lease.renewAt == nil)
        #expect(lease.expiresAt == nil)
    }
}
