import Testing

@testable import NetProbe

@Suite struct DHCPMessageTests {
    @Test func decodesDnsmasqOffer() throws {
        let message = try DHCPMessage(decoding: Fixture.hex("dnsmasq-offer.hex"))
        #expect(message.operation == .reply)
        #expect(message.messageType == .offer)
        #expect(message.xid == 0xf6c2_880a)
        #expect(message.flags == DHCPMessage.broadcastFlag)
        #expect(message.clientHardwareAddress == droneMAC.bytes)
        #expect(message.yourAddress == IPv4(10, 77, 0, 7))
        #expect(message.serverAddress == IPv4(10, 77, 0, 1))
        #expect(message.bootFile == "pxelinux.0")
        #expect(message.serverName == nil)
        #expect(message.serverIdentifier == IPv4(10, 77, 0, 1))
        #expect(message.leaseTime == 3600)
        #expect(message.renewalTime == 1800)
        #expect(message.rebindingTime == 3150)
        #expect(message.subnetMask == IPv4(255, 255, 255, 0))
        #expect(message.broadcastAddress == IPv4(10, 77, 0, 255))
        #expect(message.domainName == "cluster.lan")
        #expect(message.hostName == "drone7")
        #expect(message.rootPath == "/srv/nfsroot/drone7")
        #expect(message.domainNameServers == [IPv4(10, 77, 0, 1)])
        #expect(message.routers == [IPv4(10, 77, 0, 1)])
        #expect(message.rapidCommit == false)
    }

    @Test(arguments: [
        ("dnsmasq-offer.hex", DHCPMessage.MessageType.offer),
        ("dnsmasq-ack.hex", .ack),
        ("dnsmasq-discover-udhcpc.hex", .discover),
        ("dnsmasq-rapid-ack.hex", .ack),
        ("clump-discover.hex", .discover),
        ("dnsmasq-nak.hex", .nak),
        ("clump-init-reboot-request.hex", .request),
    ])
    func decodesFixture(name: String, type: DHCPMessage.MessageType) throws {
        let bytes = try Fixture.hex(name)
        let message = try DHCPMessage(decoding: bytes)
        #expect(message.messageType == type)
        // Re-encoding and decoding again gives the same message (the wire bytes may differ in padding).
        #expect(try DHCPMessage(decoding: message.encoded()) == message)
    }

    @Test func rapidCommitAckFromDnsmasq() throws {
        let message = try DHCPMessage(decoding: Fixture.hex("dnsmasq-rapid-ack.hex"))
        #expect(message.rapidCommit)
        #expect(message.messageType == .ack)
    }

    @Test func nakCarriesTheReason() throws {
        let message = try DHCPMessage(decoding: Fixture.hex("dnsmasq-nak.hex"))
        #expect(message.message == "wrong network")
        #expect(message.serverIdentifier == IPv4(10, 62, 0, 1))
        #expect(message.yourAddress == .any)
    }

    @Test func ourDiscoverMatchesFixture() throws {
        // The fixture is what our client put on the wire in the namespace test; the encoder must
        // reproduce it byte for byte from the same fields.
        for name in ["clump-discover.hex", "clump-init-reboot-request.hex"] {
            let captured = try Fixture.hex(name)
            #expect(try DHCPMessage(decoding: captured).encoded() == captured, "\(name)")
        }
        let captured = try Fixture.hex("clump-discover.hex")
        let decoded = try DHCPMessage(decoding: captured)
        #expect(decoded.encoded() == captured)
        #expect(decoded.clientIdentifier == [1] + decoded.clientHardwareAddress)
        #expect(decoded.rapidCommit)
        #expect(decoded.flags == DHCPMessage.broadcastFlag)
    }

    @Test func overloadedFileAndSnameAreReadInOrder() throws {
        let message = try DHCPMessage(decoding: Fixture.hex("overload-both.hex"))
        #expect(message.routers == [IPv4(192, 168, 1, 1), IPv4(192, 168, 1, 2), IPv4(192, 168, 1, 3)])
        #expect(message.leaseTime == 3600)
        #expect(message.hostName == "node9")
        #expect(message.bootFile == nil)
        #expect(message.serverName == nil)
        #expect(message.options[DHCPOptionCode.overload] == nil)
    }

    @Test(arguments: [0, 1, 254, 255, 256, 300, 511, 512, 1000])
    func longOptionsSplitAndRejoin(length: Int) throws {
        var message = DHCPMessage(operation: .reply, xid: 7, clientHardwareAddress: droneMAC.bytes)
        message.messageType = .ack
        let value = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        message.options[DHCPOptionCode.rootPath] = value
        let wire = message.encoded()
        let instances = (length + 254) / 255
        // Every instance carries at most 255 bytes, so the wire has one header per chunk.
        #expect(wire.count >= DHCPMessage.headerSize + 4 + 3 + max(instances, 1) * 2 + length + 1)
        let decoded = try DHCPMessage(decoding: wire)
        #expect(decoded.options[DHCPOptionCode.rootPath] == value)
    }

    @Test func concatenatesRepeatedInstances() throws {
        var bytes = DHCPMessage(operation: .reply, xid: 1, clientHardwareAddress: droneMAC.bytes).encoded()
        bytes.removeSubrange(240...)
        bytes += [6, 4, 10, 0, 0, 1, 53, 1, 5, 6, 4, 10, 0, 0, 2, 255]
        let message = try DHCPMessage(decoding: bytes)
        #expect(message.domainNameServers == [IPv4(10, 0, 0, 1), IPv4(10, 0, 0, 2)])
        #expect(message.messageType == .ack)
    }

    @Test func encodesClientFields() throws {
        var message = DHCPMessage(operation: .request, xid: 0x0102_0304, clientHardwareAddress: droneMAC.bytes)
        message.messageType = .request
        message.requestedIPAddress = IPv4(10, 0, 2, 15)
        message.serverIdentifier = IPv4(10, 0, 2, 2)
        message.clientIdentifier = DHCPMessage.clientIdentifier(for: droneMAC)
        message.rapidCommit = true
        let wire = message.encoded()
        #expect(wire.count == DHCPMessage.minimumSize)
        #expect(Array(wire[0..<8]) == [1, 1, 6, 0, 1, 2, 3, 4])
        #expect(Array(wire[236..<240]) == DHCPMessage.magicCookie)
        #expect(Array(wire[240..<243]) == [53, 1, 3])
        #expect(Array(wire[243..<249]) == [50, 4, 10, 0, 2, 15])
        #expect(Array(wire[249..<255]) == [54, 4, 10, 0, 2, 2])
        #expect(Array(wire[255..<264]) == [61, 7, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56])
        #expect(Array(wire[264..<267]) == [80, 0, 255])
    }

    static let errorCases: [(String, [UInt8], String)] = {
        let valid = DHCPMessage(operation: .reply, xid: 1, clientHardwareAddress: [1, 2, 3, 4, 5, 6]).encoded()
        func patched(_ at: Int, _ value: UInt8) -> [UInt8] {
            var copy = valid
            copy[at] = value
            return copy
        }
        let head = Array(valid[0..<240])
        return [
            ("empty", [], "0 bytes"),
            ("header only", Array(valid[0..<236]), "236 bytes"),
            ("bad op", patched(0, 3), "op is 3"),
            ("hlen 17", patched(2, 17), "hlen is 17"),
            ("no cookie", patched(236, 0), "magic cookie"),
            ("no length byte", head + [53], "no length byte"),
            ("option too long", head + [53, 9, 5], "says 9 bytes, only 1 left"),
            ("overload 4", head + [52, 1, 4, 255], "option 52"),
            (
                "overload truncated in file",
                {
                    var bytes = head + [52, 1, 1, 255]
                    bytes[108] = 12
                    bytes[109] = 200
                    return bytes
                }(), "in file"
            ),
        ]
    }()

    @Test(arguments: errorCases)
    func rejectsMalformed(name: String, bytes: [UInt8], expected: String) {
        do {
            _ = try DHCPMessage(decoding: bytes)
            Issue.record("\(name): decoded without error")
        } catch let error as DHCPError {
            #expect(error.description.contains(expected), "\(name): \(error)")
        } catch {
            Issue.record("\(name): unexpected \(error)")
        }
    }

    @Test func missingEndIsTolerated() throws {
        var bytes = DHCPMessage(operation: .reply, xid: 1, clientHardwareAddress: droneMAC.bytes).encoded()
        bytes.removeSubrange(240...)
        bytes += [53, 1, 2]
        #expect(try DHCPMessage(decoding: bytes).messageType == .offer)
    }

    @Test(
        arguments: [
            ("10.0.2.15", "10.0.2.15"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
            ("010.0.0.1", nil), ("1.2.3", nil), ("1.2.3.256", nil), ("a.b.c.d", nil), ("", nil), ("1..2.3", nil),
        ] as [(String, String?)])
    func parsesAddresses(text: String, expected: String?) {
        #expect(IPv4(text)?.description == expected)
    }

    @Test(
        arguments: [
            ("255.255.255.0", 24), ("255.255.0.0", 16), ("255.255.254.0", 23), ("0.0.0.0", 0),
            ("255.255.255.255", 32), ("255.0.255.0", nil),
        ] as [(String, Int?)])
    func prefixLengths(mask: String, expected: Int?) throws {
        #expect(try #require(IPv4(mask)).prefixLength == expected)
    }
}
