import AutoMap
import NetProbe
import Testing

@testable import MasterSide

@Suite struct DHCPServerProbeTests {
    static let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

    static func reply(_ type: DHCPMessage.MessageType, xid: UInt32, server: IPv4?) -> [UInt8] {
        var message = DHCPMessage(operation: .reply, xid: xid, clientHardwareAddress: mac)
        message.messageType = type
        message.serverIdentifier = server
        message.serverAddress = IPv4(10, 0, 2, 9)
        return message.encoded()
    }

    @Test func theDiscoverAsksForABroadcastAnswer() throws {
        let message = try DHCPMessage(decoding: DHCPServerProbe.discover(xid: 7, mac: Self.mac))
        #expect(message.operation == .request)
        #expect(message.messageType == .discover)
        #expect(message.xid == 7)
        #expect(message.flags == DHCPMessage.broadcastFlag)
        #expect(message.clientHardwareAddress == Self.mac)
    }

    @Test func onlyAnOfferForOurTransactionNamesAServer() {
        let offer = Self.reply(.offer, xid: 7, server: IPv4(10, 0, 2, 2))
        #expect(DHCPServerProbe.offerServer(offer, xid: 7) == IPv4Address(10, 0, 2, 2))
        #expect(DHCPServerProbe.offerServer(offer, xid: 8) == nil)
        #expect(DHCPServerProbe.offerServer(Self.reply(.ack, xid: 7, server: IPv4(10, 0, 2, 2)), xid: 7) == nil)
        #expect(DHCPServerProbe.offerServer(DHCPServerProbe.discover(xid: 7, mac: Self.mac), xid: 7) == nil)
        #expect(DHCPServerProbe.offerServer([2, 1, 6], xid: 7) == nil)
        // Without option 54 the offer still counts, named by its siaddr.
        #expect(DHCPServerProbe.offerServer(Self.reply(.offer, xid: 7, server: nil), xid: 7) == IPv4Address(10, 0, 2, 9))
    }
}
