import Foundation
import Testing

@testable import NetProbe

/// Records requests; answers each with an ACK (or the errno given for that message type).
final class MockNetlinkSocket: NetlinkSocket {
    var sent: [[UInt8]] = []
    var failures: [UInt16: Int32] = [:]
    var pending: [[UInt8]] = []

    func send(_ bytes: [UInt8]) throws {
        sent.append(bytes)
        let type = readNative(bytes, 4, as: UInt16.self)
        let sequence = readNative(bytes, 8, as: UInt32.self)
        // A stale reply first, as a real socket may hold one: must be skipped.
        pending.append(NetlinkMessage.ackReply(sequence: sequence &+ 1000))
        pending.append(NetlinkMessage.ackReply(sequence: sequence, errno: failures[type] ?? 0))
    }

    func receive() throws -> [UInt8] {
        guard !pending.isEmpty else { throw DHCPError(.system(call: "recv", errno: ETIMEDOUT)) }
        return pending.removeFirst()
    }

    var types: [UInt16] { sent.map { readNative($0, 4, as: UInt16.self) } }
}

@Suite struct NetlinkTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined(separator: " ") }

    @Test func addAddressBytes() {
        let message = NetlinkMessage.addAddress(
            IPv4(10, 0, 2, 15), prefixLength: 24, broadcast: IPv4(10, 0, 2, 255), index: 2, lifetime: 3600,
            sequence: 7)
        var expected: [UInt8] = [68, 0, 0, 0, 20, 0, 0x05, 0x05, 7, 0, 0, 0, 0, 0, 0, 0]  // nlmsghdr: len 68, RTM_NEWADDR, REQUEST|ACK|REPLACE|CREATE, seq 7, pid 0
        expected += [2, 24, 0, 0, 2, 0, 0, 0]  // ifaddrmsg: AF_INET, /24, flags, scope universe, ifindex 2
        expected += [8, 0, 2, 0, 10, 0, 2, 15]  // IFA_LOCAL
        expected += [8, 0, 1, 0, 10, 0, 2, 15]  // IFA_ADDRESS
        expected += [8, 0, 4, 0, 10, 0, 2, 255]  // IFA_BROADCAST
        expected += [20, 0, 6, 0, 0x10, 0x0e, 0, 0, 0x10, 0x0e, 0, 0]  // IFA_CACHEINFO preferred, valid 3600
        expected += [0, 0, 0, 0, 0, 0, 0, 0]  // cstamp, tstamp
        #expect(message.encoded() == expected)
    }

    @Test func defaultRouteBytes() {
        let bytes = NetlinkMessage.addDefaultRoute(
            via: IPv4(10, 0, 2, 2), source: nil, index: 3, metric: 103, sequence: 1
        ).encoded()
        #expect(readNative(bytes, 0, as: UInt32.self) == UInt32(bytes.count))
        #expect(Array(bytes[16..<24]) == [2, 0, 0, 0, 254, 16, 0, 1])  // rtmsg: AF_INET, default, main, dhcp, universe, unicast
        #expect(Array(bytes[28..<36]) == [8, 0, 5, 0, 10, 0, 2, 2])  // RTA_GATEWAY
        #expect(Array(bytes[36..<44]) == [8, 0, 4, 0, 3, 0, 0, 0])  // RTA_OIF
        #expect(Array(bytes[44..<52]) == [8, 0, 6, 0, 103, 0, 0, 0])  // RTA_PRIORITY
    }

    @Test func linkUpBytes() {
        let bytes = NetlinkMessage.linkUp(index: 4, sequence: 2).encoded()
        #expect(bytes.count == 32)
        #expect(readNative(bytes, 4, as: UInt16.self) == 16)
        #expect(Array(bytes[16..<32]) == [0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    }

    static let lease = DHCPLease(
        interface: "eth0", mac: droneMAC, address: IPv4(10, 0, 2, 15), subnetMask: IPv4(255, 255, 255, 0),
        routers: [IPv4(10, 0, 2, 2)], serverIdentifier: IPv4(10, 0, 2, 2), leaseTime: 86400)

    @Test func applyAndRemoveSendTheRightRequests() throws {
        let socket = MockNetlinkSocket()
        let route = NetlinkRoute(socket: socket)
        try route.apply(Self.lease, index: 2, metric: 102, now: DHCPInstant(milliseconds: 0))
        try route.remove(Self.lease, index: 2, metric: 102)
        #expect(socket.types == [20, 24, 25, 21])
    }

    @Test func deleteOfWhatIsGoneIsFine() throws {
        let socket = MockNetlinkSocket()
        socket.failures = [25: ESRCH, 21: EADDRNOTAVAIL]
        try NetlinkRoute(socket: socket).remove(Self.lease, index: 2, metric: 102)
    }

    @Test func kernelErrorsCarryContext() {
        let socket = MockNetlinkSocket()
        socket.failures = [24: ENETUNREACH]
        do {
            try NetlinkRoute(socket: socket).apply(Self.lease, index: 2, metric: 102, now: DHCPInstant(milliseconds: 0))
            Issue.record("no error")
        } catch let error as DHCPError {
            #expect(error.interface == "eth0")
            #expect(error.errno == ENETUNREACH)
            #expect(error.description.contains("RTM_NEWROUTE"))
            #expect(error.description.contains("not on the leased subnet"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func parsesMultipartReplies() throws {
        let bytes = NetlinkMessage.ackReply(sequence: 1) + NetlinkMessage.ackReply(sequence: 2, errno: EEXIST)
        #expect(
            try NetlinkMessage.parseReplies(bytes) == [.ack(sequence: 1, errno: 0), .ack(sequence: 2, errno: EEXIST)])
        #expect(throws: DHCPError.self) {
            try NetlinkMessage.parseReplies([100, 0, 0, 0] + [UInt8](repeating: 0, count: 12))
        }
    }
}
