import Testing

@testable import AutoMap

@Suite struct NodeStatusTests {
    @Test func configuredStatusHasTheDocumentedLines() throws {
        let derived = try derive(leases: [
            Lease(
                interface: "eth0", busAddress: "0000:00:03.0", mac: "52:54:00:12:34:56",
                address: IPv4Address(10, 0, 2, 15), prefix: 24, router: IPv4Address(10, 0, 2, 2))
        ])
        var status = NodeStatus(state: .waitingForDHCP, mode: "auto")
        status.interfaces = ["eth0", "eth1"]
        status.message = "no DHCP answer yet on eth0"
        status.configured(by: derived)
        #expect(
            status.rendered() == """
                state=configured
                mode=auto
                interfaces=eth0 eth1
                interface=eth0
                reason=the only card with a lease
                address=10.0.2.15/24
                router=10.0.2.2
                network=10.0.2.0/24
                node=15
                map=1 10.0.2.1 254
                hostname=node15

                """)
        #expect(try NodeStatus(parsing: status.rendered()) == status)
    }

    @Test(arguments: NodeStatus.State.allCases)
    func everyStateRoundTrips(state: NodeStatus.State) throws {
        var status = NodeStatus(state: state, mode: "safe")
        status.message = "two\nlines"
        let parsed = try NodeStatus(parsing: status.rendered())
        #expect(parsed.state == state)
        #expect(parsed.message == "two lines", "a value never spans lines")
    }

    @Test func unknownKeysAndCommentsAreSkipped() throws {
        let status = try NodeStatus(parsing: "# written by a newer agent\nstate=no-card\nmode=auto\nload=0.5\n")
        #expect(status == NodeStatus(state: .noCard, mode: "auto"))
    }

    @Test(arguments: [
        ("state=configured\nmode auto\n", "/run/clump/status:2:1: 'mode auto' is not key=value"),
        ("mode=auto\n", "/run/clump/status: 'state=' is not key=value"),
        ("state=sleeping\n", "/run/clump/status: 'state=sleeping' is not key=value"),
    ])
    func badFilesAreClearErrors(text: String, message: String) {
        #expect {
            try NodeStatus(parsing: text)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }
}
