import Testing

@testable import NetProbe

@Suite struct DHCPFrameTests {
    static let payload = DHCPMessage(operation: .request, xid: 9, clientHardwareAddress: droneMAC.bytes).encoded()

    @Test func buildThenParse() throws {
        let frame = DHCPFrame.build(
            payload: Self.payload, sourceMAC: droneMAC, sourcePort: 67, destinationPort: 68, identification: 5)
        #expect(frame.count == 14 + 20 + 8 + Self.payload.count)
        #expect(Array(frame[0..<6]) == MACAddress.broadcast.bytes)
        #expect(DHCPFrame.checksum(frame[14..<34]) == 0)
        let datagram = try #require(try DHCPFrame.parse(frame))
        #expect(datagram.payload == Self.payload)
        #expect(datagram.source == .any)
        #expect(datagram.destination == .broadcast)
        #expect(datagram.sourceMAC == droneMAC)
        #expect(datagram.sourcePort == 67)
    }

    /// dnsmasq's OFFER as captured on the client end of a veth pair: the UDP checksum field
    /// holds only the pseudo-header sum, left for offload (TP_STATUS_CSUMNOTREADY).
    @Test func offloadedChecksumNeedsTheAuxFlag() throws {
        let frame = try Fixture.hex("dnsmasq-offer.frame.hex")
        #expect(throws: DHCPError.self) { try DHCPFrame.parse(frame, checksumNotReady: false) }
        let datagram = try #require(try DHCPFrame.parse(frame, checksumNotReady: true))
        #expect(datagram.source == IPv4(10, 77, 0, 1))
        #expect(datagram.sourcePort == 67)
        let message = try DHCPMessage(decoding: datagram.payload)
        #expect(message.messageType == .offer)
        #expect(message.yourAddress == IPv4(10, 77, 0, 7))
    }

    /// The renewal round trip as captured: our unicast REQUEST (checksums filled in by us) and
    /// dnsmasq's unicast ACK to our new address (UDP checksum left to offload again).
    @Test func capturedRenewal() throws {
        let request = try Fixture.hex("clump-renew-request.frame.hex")
        let sent = try #require(try DHCPFrame.parse(request, port: DHCPFrame.serverPort))
        #expect(sent.source == IPv4(10, 64, 0, 98))
        #expect(sent.destination == IPv4(10, 64, 0, 1))
        let message = try DHCPMessage(decoding: sent.payload)
        #expect(message.clientAddress == IPv4(10, 64, 0, 98))
        #expect(message.flags == 0)
        // Rebuilding the frame from its parts gives the captured bytes.
        #expect(
            DHCPFrame.build(
                payload: sent.payload, sourceMAC: sent.sourceMAC, destinationMAC: sent.destinationMAC,
                source: sent.source, destination: sent.destination,
                identification: UInt16(request[18]) << 8 | UInt16(request[19])) == request)

        let ack = try Fixture.hex("dnsmasq-renew-ack.frame.hex")
        let received = try #require(try DHCPFrame.parse(ack, checksumNotReady: true))
        #expect(received.destination == IPv4(10, 64, 0, 98))
        #expect(received.destinationMAC == sent.sourceMAC)
        #expect(try DHCPMessage(decoding: received.payload).messageType == .ack)
    }

    enum Mutation: String, CaseIterable, CustomTestStringConvertible {
        case zeroUDPChecksum, badUDPChecksum, badIPChecksum, toServerPort, arpEtherType, fragment, ipv6Version,
            trailingPadding, truncated, udpLengthTooBig, tinyIHL
        var testDescription: String { rawValue }
    }

    enum Outcome { case accepted, ignored, rejected }

    static let mutations: [(Mutation, Outcome)] = [
        (.zeroUDPChecksum, .accepted), (.badUDPChecksum, .rejected), (.badIPChecksum, .rejected),
        (.toServerPort, .ignored), (.arpEtherType, .ignored), (.fragment, .ignored), (.ipv6Version, .ignored),
        (.trailingPadding, .accepted), (.truncated, .rejected), (.udpLengthTooBig, .rejected), (.tinyIHL, .rejected),
    ]

    @Test(arguments: mutations)
    func mutatedFrames(mutation: Mutation, outcome: Outcome) throws {
        var frame = DHCPFrame.build(payload: Self.payload, sourceMAC: droneMAC, sourcePort: 67, destinationPort: 68)
        func fixIPChecksum() {
            frame[24] = 0
            frame[25] = 0
            let sum = DHCPFrame.checksum(frame[14..<34])
            frame[24] = UInt8(sum >> 8)
            frame[25] = UInt8(sum & 0xFF)
        }
        switch mutation {
        case .zeroUDPChecksum:
            frame[40] = 0
            frame[41] = 0
        case .badUDPChecksum: frame[41] ^= 0x55
        case .badIPChecksum: frame[25] ^= 0x01
        case .toServerPort: frame[37] = 67
        case .arpEtherType: frame[13] = 0x06
        case .fragment:
            frame[20] = 0x20
            fixIPChecksum()
        case .ipv6Version: frame[14] = 0x65
        case .trailingPadding: frame += [0, 0, 0, 0]
        case .truncated: frame.removeLast(10)
        case .udpLengthTooBig:
            frame[38] = 0xFF
            frame[40] = 0
            frame[41] = 0
        case .tinyIHL: frame[14] = 0x44
        }
        switch outcome {
        case .accepted: #expect(try DHCPFrame.parse(frame)?.payload == Self.payload)
        case .ignored: #expect(try DHCPFrame.parse(frame) == nil)
        case .rejected: #expect(throws: DHCPError.self) { try DHCPFrame.parse(frame) }
        }
    }

    @Test func unicastFrameAddresses() throws {
        let serverMAC = try #require(MACAddress("02:00:00:00:00:01"))
        let frame = DHCPFrame.build(
            payload: Self.payload, sourceMAC: droneMAC, destinationMAC: serverMAC, source: IPv4(10, 0, 0, 5),
            destination: IPv4(10, 0, 0, 1))
        let datagram = try #require(try DHCPFrame.parse(frame, port: 67))
        #expect(datagram.destinationMAC == serverMAC)
        #expect(datagram.source == IPv4(10, 0, 0, 5))
        #expect(datagram.destination == IPv4(10, 0, 0, 1))
    }

    @Test func filterJumpsStayInProgram() {
        let program = DHCPFrame.udpPort68Filter
        for (index, instruction) in program.enumerated() where instruction.code & 0x07 == 0x05 {
            #expect(index + 1 + Int(instruction.jt) < program.count)
            #expect(index + 1 + Int(instruction.jf) < program.count)
        }
        #expect(program.last?.code == 0x06)
    }

    @Test(
        arguments: [
            ("52:54:00:12:34:56", "52:54:00:12:34:56"), ("52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef"),
            ("52:54:00:12:34", nil), ("zz:54:00:12:34:56", nil), ("5254.0012.3456", nil),
        ] as [(String, String?)])
    func parsesMAC(text: String, expected: String?) {
        #expect(MACAddress(text)?.description == expected)
    }
}
