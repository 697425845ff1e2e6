import Glibc
import Testing

@testable import ClusterState

/// Real sockets over loopback: the destination address each datagram arrives with, and the
/// test-only loss filter (`--drop-percent`).
struct UDPSocketTests {
    /// The MAC covers the destination, so the receiver must learn it from the packet.
    @Test func aDatagramArrivesWithTheAddressItWasSentTo() throws {
        let port = UInt16.random(in: 20000...60000)
        let receiver = try UDPSocket(port: port, interface: nil)
        let sender = try UDPSocket(port: port &+ 1, interface: nil)
        for address: UInt32 in [0x7F00_0001, 0x7F00_0002] {
            sender.send([1, 2, 3], to: address, port: port)
            #expect(receiver.wait(milliseconds: 1000))
            let received = try #require(receiver.receive())
            #expect(received.bytes == [1, 2, 3])
            #expect(received.destination == address)
            #expect(received.source == 0x7F00_0001 || received.source == address)
        }
    }

    /// Sends `count` datagrams from one socket to another on 127.0.0.1 and counts arrivals.
    func delivered(dropPercent: Double, count: Int = 2000) throws -> Int {
        let port = UInt16.random(in: 20000...60000)
        let receiver = try UDPSocket(port: port, interface: nil)
        let sender = try UDPSocket(port: port &+ 1, interface: nil)
        try receiver.dropReceived(percent: dropPercent)
        var arrived = 0
        for index in 0..<count {
            sender.send([UInt8(index & 0xFF)], to: 0x7F00_0001, port: port)
            while receiver.receive() != nil { arrived += 1 }
        }
        while receiver.wait(milliseconds: 50) {
            while receiver.receive() != nil { arrived += 1 }
        }
        return arrived
    }

    @Test func noFilterDeliversEverything() throws {
        #expect(try delivered(dropPercent: 0) == 2000)
    }

    @Test func theFilterDropsAboutThatShare() throws {
        // 2000 draws at p = 0.3: mean 1400, standard deviation 20.5; +-120 is beyond 5 sigma.
        let arrived = try delivered(dropPercent: 30)
        #expect((1280...1520).contains(arrived), "\(arrived) of 2000 arrived with a 30 % drop filter")
    }

    @Test func removingTheFilterDeliversEverythingAgain() throws {
        let port = UInt16.random(in: 20000...60000)
        let receiver = try UDPSocket(port: port, interface: nil)
        let sender = try UDPSocket(port: port &+ 1, interface: nil)
        try receiver.dropReceived(percent: 100)
        for _ in 0..<100 { sender.send([1], to: 0x7F00_0001, port: port) }
        #expect(!receiver.wait(milliseconds: 50))
        try receiver.dropReceived(percent: 0)
        for _ in 0..<100 { sender.send([1], to: 0x7F00_0001, port: port) }
        var arrived = 0
        while receiver.wait(milliseconds: 50) {
            while receiver.receive() != nil { arrived += 1 }
        }
        #expect(arrived == 100)
    }
}
