import Foundation
import Testing

@testable import NetProbe

/// An in-memory network card with a tiny DHCP server behind it: answers DISCOVER with OFFER and
/// REQUEST with ACK, the way veth delivers them (UDP checksum left to offload, flagged as such),
/// and mixes in noise: a reply for another MAC and a non-DHCP frame.
final class FakeServerTransport: DHCPTransport {
    let interface = "eth0"
    let index: Int32 = 2
    let mac = droneMAC
    let serverMAC = MACAddress("02:00:00:00:00:02")!
    var sent: [[UInt8]] = []
    var queue: [ReceivedFrame] = []
    var answer = true
    let pipe: [Int32]

    init() {
        var fds: [Int32] = [0, 0]
        _ = Glibc.pipe(&fds)
        pipe = fds
    }

    deinit {
        close(pipe[0])
        close(pipe[1])
    }

    var fileDescriptor: Int32 { pipe[0] }

    func send(_ frame: [UInt8]) throws {
        sent.append(frame)
        guard answer, let datagram = try DHCPFrame.parse(frame, port: 67),
            let request = try? DHCPMessage(decoding: datagram.payload)
        else { return }
        var reply = DHCPMessage(
            operation: .reply, xid: request.xid, clientHardwareAddress: request.clientHardwareAddress)
        reply.yourAddress = IPv4(10, 0, 2, 15)
        reply.serverIdentifier = IPv4(10, 0, 2, 2)
        reply.subnetMask = IPv4(255, 255, 255, 0)
        reply.options[DHCPOptionCode.router] = IPv4(10, 0, 2, 2).bytes
        reply.leaseTime = 86400
        reply.messageType = request.messageType == .discover ? .offer : .ack
        var stranger = reply
        stranger.clientHardwareAddress = [2, 0, 0, 0, 0, 0x99]
        var noise = DHCPFrame.build(payload: [1, 2, 3], sourceMAC: serverMAC, sourcePort: 5353, destinationPort: 5353)
        noise[12] = 0x86  // not even IPv4
        queue.append(ReceivedFrame(bytes: noise))
        queue.append(ReceivedFrame(bytes: self.frame(stranger)))
        var offloaded = self.frame(reply)
        offloaded[40] ^= 0xFF  // a partial checksum, as veth leaves it
        queue.append(ReceivedFrame(bytes: offloaded, checksumNotReady: true))
        var byte: UInt8 = 1
        _ = write(pipe[1], &byte, 1)
    }

    func frame(_ message: DHCPMessage) -> [UInt8] {
        DHCPFrame.build(
            payload: message.encoded(), sourceMAC: serverMAC, source: IPv4(10, 0, 2, 2), sourcePort: 67,
            destinationPort: 68)
    }

    func receive() throws -> ReceivedFrame? {
        if queue.isEmpty {
            var buffer = [UInt8](repeating: 0, count: 64)
            _ = read(pipe[0], &buffer, buffer.count)
            return nil
        }
        return queue.removeFirst()
    }
}

@Suite struct DHCPClientTests {
    /// A driver on the fake server with a mock kernel that fails the given netlink message types;
    /// runs until `.bound` or `seconds`, and returns the client, the events and the frames sent.
    func drive(
        failing failures: [UInt16: Int32] = [:], seconds: Double = 5
    ) throws -> (DHCPClient, [DHCPEvent], FakeServerTransport, MockNetlinkSocket) {
        let transport = FakeServerTransport()
        let netlink = MockNetlinkSocket()
        netlink.failures = failures
        var options = DHCPClient.Options()
        options.seed = 42
        let client = DHCPClient(transports: [transport], netlink: NetlinkRoute(socket: netlink), options: options)
        var events: [DHCPEvent] = []
        try client.run(seconds: seconds) { event in
            events.append(event)
            if case .bound = event { return .stop }
            return .keepRunning
        }
        return (client, events, transport, netlink)
    }

    @Test func driverObtainsAndConfiguresALease() throws {
        let (client, events, transport, netlink) = try drive()
        let leases = client.leases
        let lease = try #require(leases["eth0"], "\(events)")
        #expect(lease.description == "eth0 10.0.2.15/24 router 10.0.2.2 server 10.0.2.2")
        #expect(lease.serverMAC == transport.serverMAC)
        #expect(events.count == 2, "\(events)")  // offered, bound: the stranger's reply was ignored
        // link up, address, default route
        #expect(netlink.types == [16, 20, 24])
        // Two frames sent: DISCOVER and REQUEST, both 0.0.0.0:68 -> 255.255.255.255:67 broadcast.
        #expect(transport.sent.count == 2)
        for frame in transport.sent {
            let datagram = try #require(try DHCPFrame.parse(frame, port: 67))
            #expect(datagram.source == .any)
            #expect(datagram.destination == .broadcast)
            #expect(datagram.destinationMAC == .broadcast)
            #expect(datagram.sourceMAC == droneMAC)
            #expect(datagram.sourcePort == 68)
        }
    }

    /// The kernel refuses the address (as it does a valid lifetime of 0): no lease, no `.bound`,
    /// the reason said, and the client starts over, the second time after its back-off.
    @Test func refusedAddressIsNoLease() throws {
        // The second restart waits at least 0.5 s (1 s +- 0.5 s).
        let (client, events, transport, _) = try drive(failing: [20: EINVAL], seconds: 0.3)
        #expect(events.bound.isEmpty, "\(events)")
        #expect(client.leases.isEmpty)
        #expect(events.failures.count == 2, "\(events)")
        #expect(events.failures.allSatisfy { "\($0)".contains("RTM_NEWADDR failed: Invalid argument") }, "\(events)")
        // DISCOVER, REQUEST, at once DISCOVER, REQUEST again; then the back-off.
        #expect(transport.sent.count == 4)
        #expect(client.sessions[0].machine.state == .initial)
    }

    /// The kernel refuses the default route: the lease stands without a router, and says why.
    @Test func refusedRouteLeavesTheRouterOut() throws {
        let (client, events, _, _) = try drive(failing: [24: ENETUNREACH])
        let leases = client.leases
        let lease = try #require(leases["eth0"], "\(events)")
        #expect(lease.description == "eth0 10.0.2.15/24 server 10.0.2.2")
        #expect(events.bound == [lease])
        let note = try #require(events.failures.first, "\(events)")
        #expect("\(note)".contains("no default route via 10.0.2.2: netlink RTM_NEWROUTE failed"), "\(note)")
    }

    @Test func driverKeepsTryingWithoutAServer() throws {
        let transport = FakeServerTransport()
        transport.answer = false
        var options = DHCPClient.Options()
        options.initialDelay = 20
        options.maximumDelay = 40
        options.configureInterfaces = false
        options.bringLinksUp = false
        let client = DHCPClient(transports: [transport], netlink: nil, options: options)
        var attempts: [Int] = []
        try client.run(seconds: 2) { event in
            if case .noAnswer(_, let attempt, _) = event { attempts.append(attempt) }
            return attempts.count == 3 ? .stop : .keepRunning
        }
        #expect(attempts == [1, 2, 3])
        #expect(transport.sent.count == 4)
        #expect(client.leases.isEmpty)
    }

    @Test func sendFailuresAreReportedNotFatal() throws {
        final class BrokenTransport: DHCPTransport {
            let interface = "eth9"
            let index: Int32 = 9
            let mac = droneMAC
            let fileDescriptor: Int32 = -1
            var sends = 0
            func send(_ frame: [UInt8]) throws {
                sends += 1
                throw DHCPError(.system(call: "sendto(AF_PACKET)", errno: ENETDOWN), interface: interface)
            }
            func receive() throws -> ReceivedFrame? { nil }
        }
        var options = DHCPClient.Options()
        options.configureInterfaces = false
        options.bringLinksUp = false
        let broken = BrokenTransport()
        let client = DHCPClient(transports: [broken], netlink: nil, options: options)
        var failures: [DHCPEvent] = []
        try client.run(seconds: 1) { event in
            if case .failed = event { failures.append(event) }
            return .stop
        }
        #expect(failures.count == 1)
        #expect("\(failures.first!)".contains("DHCP on eth9: sendto(AF_PACKET) failed: Network is down"))
        #expect(client.nextDeadline != nil)
        #expect(broken.sends == 101)  // ENETDOWN right after link-up is retried briefly first
    }

    @Test func rawSocketOnAMissingInterfaceSaysSo() {
        do {
            _ = try RawSocket(interface: "nosuchif0")
            Issue.record("opened a socket on a missing interface")
        } catch {
            #expect("\(error)".contains("nosuchif0"))
            #expect("\(error)".contains("if_nametoindex"))
        }
    }
}
