import Testing

@testable import NetProbe

/// Every field of an ACK a server controls (`DHCPLeasePolicy`): what the client takes, changes,
/// leaves out or refuses.
@Suite struct DHCPLeaseReviewTests {
    static let server = IPv4(10, 0, 2, 2)

    static func ack(
        address: IPv4 = IPv4(10, 0, 2, 15), lease: UInt32? = 3600, mask: IPv4? = IPv4(255, 255, 255, 0),
        routers: [IPv4] = [server], server: IPv4? = server
    ) -> DHCPMessage {
        var message = DHCPMessage(operation: .reply, xid: 1, clientHardwareAddress: droneMAC.bytes)
        message.messageType = .ack
        message.yourAddress = address
        message.leaseTime = lease
        message.subnetMask = mask
        message.serverIdentifier = server
        message.options[DHCPOptionCode.router] = routers.flatMap(\.bytes)
        return message
    }

    static func review(
        _ ack: DHCPMessage, offer: DHCPMessage? = nil, requested: IPv4? = nil
    ) -> Result<DHCPAckReview, DHCPError> {
        DHCPLease.reviewing(
            ack, offer: offer, previous: nil, requested: requested, interface: "eth0", mac: droneMAC, serverMAC: nil,
            acquiredAt: DHCPInstant(milliseconds: 0))
    }

    static func accepted(
        _ ack: DHCPMessage, offer: DHCPMessage? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> DHCPAckReview {
        switch review(ack, offer: offer) {
        case .success(let review): return review
        case .failure(let error):
            Issue.record("refused: \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    static func refusal(_ ack: DHCPMessage, requested: IPv4? = nil) -> String? {
        if case .failure(let error) = review(ack, requested: requested) { "\(error)" } else { nil }
    }

    @Test func aGoodAckIsTakenAsItIs() throws {
        let review = try Self.accepted(Self.ack())
        #expect(review.notes.isEmpty)
        #expect(review.lease.description == "eth0 10.0.2.15/24 router 10.0.2.2 server 10.0.2.2")
        #expect(review.lease.leaseTime == 3600)
    }

    @Test func leaseTimeZeroIsRefused() {
        let why = Self.refusal(Self.ack(lease: 0))
        #expect(why == "eth0: refused the DHCPACK from 10.0.2.2: lease time 0 (a lease that has already ended)")
    }

    static let year: UInt32 = 31_536_000

    @Test(
        arguments: [
            (1, 60), (59, 60), (60, 60), (86_400, 86_400), (year, year), (year + 1, year), (0xFFFF_FFFE, year),
            (UInt32.max, UInt32.max),
        ] as [(UInt32, UInt32)])
    func leaseTimeIsClamped(given: UInt32, used: UInt32) throws {
        let review = try Self.accepted(Self.ack(lease: given))
        #expect(review.lease.leaseTime == used)
        #expect(review.notes.count == (given == used ? 0 : 1), "\(review.notes)")
    }

    @Test func noLeaseTimeTakesTheOffersElseInfinite() throws {
        var offer = Self.ack(lease: 600)
        offer.messageType = .offer
        #expect(try Self.accepted(Self.ack(lease: nil), offer: offer).lease.leaseTime == 600)
        #expect(try Self.accepted(Self.ack(lease: nil)).lease.leaseTime == DHCPLease.infinite)
    }

    @Test func missingMaskTakesTheOffersElseTheClassfulOne() throws {
        var offer = Self.ack(mask: IPv4(255, 255, 0, 0))
        offer.messageType = .offer
        let fromOffer = try Self.accepted(Self.ack(mask: nil), offer: offer)
        #expect(fromOffer.lease.prefixLength == 16)
        #expect(fromOffer.notes.isEmpty)
        let classful = try Self.accepted(Self.ack(mask: nil))
        #expect(classful.lease.prefixLength == 8)
        #expect(classful.notes == ["no subnet mask from the server: using the classful /8 of 10.0.2.15"])
        let classC = try Self.accepted(Self.ack(address: IPv4(192, 168, 7, 9), mask: nil, routers: []))
        #expect(classC.lease.prefixLength == 24)
    }

    @Test(arguments: [IPv4(0, 0, 0, 0), IPv4(255, 0, 255, 0), IPv4(0, 255, 255, 255)])
    func unusableMaskIsIgnored(mask: IPv4) throws {
        let review = try Self.accepted(Self.ack(mask: mask))
        #expect(review.lease.prefixLength == 8)
        #expect(review.notes == ["subnet mask \(mask) is not usable: using the classful /8 of 10.0.2.15"])
    }

    @Test func aHostMaskIsKeptAndItsRouterLeftOut() throws {
        let review = try Self.accepted(Self.ack(mask: IPv4(255, 255, 255, 255)))
        #expect(review.lease.prefixLength == 32)
        #expect(review.lease.routers.isEmpty)
        #expect(review.notes.count == 1)
    }

    @Test(arguments: [
        IPv4(0, 0, 0, 0), IPv4(0, 1, 2, 3), IPv4(127, 0, 0, 1), IPv4(224, 0, 0, 1), IPv4(240, 0, 0, 1),
        IPv4(255, 255, 255, 255),
    ])
    func addressThatIsNoHostsIsRefused(address: IPv4) {
        #expect(Self.refusal(Self.ack(address: address))?.contains("\(address) is not a host address") == true)
    }

    @Test(arguments: [IPv4(10, 0, 2, 0), IPv4(10, 0, 2, 255)])
    func networkOrBroadcastAddressIsRefused(address: IPv4) {
        let why = Self.refusal(Self.ack(address: address))
        #expect(why?.contains("is the network or broadcast address of 10.0.2.0/24") == true, "\(why ?? "")")
    }

    @Test func ackForAnotherAddressThanRequestedIsRefused() {
        let why = Self.refusal(Self.ack(address: IPv4(10, 0, 2, 16)), requested: IPv4(10, 0, 2, 15))
        #expect(why?.contains("it is for 10.0.2.16, we asked for 10.0.2.15") == true)
        #expect(Self.refusal(Self.ack(), requested: IPv4(10, 0, 2, 15)) == nil)
    }

    @Test(arguments: [
        (IPv4(10, 9, 9, 1), "not on the leased subnet 10.0.2.0/24"), (IPv4(0, 0, 0, 0), "not a host address"),
        (IPv4(255, 255, 255, 255), "not a host address"),
        (IPv4(10, 0, 2, 255), "the subnet's broadcast or network address"),
        (IPv4(10, 0, 2, 0), "the subnet's broadcast or network address"), (IPv4(10, 0, 2, 15), "our own address"),
        (IPv4(224, 0, 0, 2), "not a host address"),
    ])
    func unusableRouterIsLeftOut(router: IPv4, why: String) throws {
        let review = try Self.accepted(Self.ack(routers: [router, IPv4(10, 0, 2, 3)]))
        #expect(review.lease.routers == [IPv4(10, 0, 2, 3)])
        #expect(review.notes == ["router \(router) left out: \(why)" + " (no default route from it)"])
        #expect(review.lease.description == "eth0 10.0.2.15/24 router 10.0.2.3 server 10.0.2.2")
    }

    @Test func emptyRouterOptionMeansNoRouter() throws {
        var ack = Self.ack()
        ack.options[DHCPOptionCode.router] = []
        let review = try Self.accepted(ack)
        #expect(review.lease.routers.isEmpty)
        #expect(review.notes.isEmpty)
        #expect(review.lease.description == "eth0 10.0.2.15/24 server 10.0.2.2")
    }

    @Test func broadcastOptionMustBeTheSubnetsOrTheLimitedOne() throws {
        var ack = Self.ack()
        ack.options[DHCPOptionCode.broadcastAddress] = IPv4(10, 0, 9, 255).bytes
        let wrong = try Self.accepted(ack)
        #expect(wrong.lease.broadcast == IPv4(10, 0, 2, 255))
        #expect(wrong.notes.count == 1)
        ack.options[DHCPOptionCode.broadcastAddress] = IPv4.broadcast.bytes
        #expect(try Self.accepted(ack).lease.broadcast == .broadcast)
    }

    @Test func unusableServerIdentifierFallsBackToTheOffers() throws {
        var offer = Self.ack()
        offer.messageType = .offer
        let review = try Self.accepted(Self.ack(server: IPv4(0, 0, 0, 0)), offer: offer)
        #expect(review.lease.serverIdentifier == Self.server)
        #expect(review.notes.count == 1)
        let none = try Self.accepted(Self.ack(server: IPv4(255, 255, 255, 255)))
        #expect(none.lease.serverIdentifier == nil)
    }

    @Test(arguments: [
        (UInt32(0), UInt32(0), UInt32(1800), UInt32(3150)), (1, 2, 1800, 3150), (4, nil, 1800, 3150),
        (5, 6, 5, 6), (3000, 2000, 1800, 2000), (0, 4000, 1800, 3150),
    ] as [(UInt32, UInt32?, UInt32, UInt32)])
    func nonsenseTimersFallBackToTheDefaults(t1: UInt32, t2: UInt32?, renew: UInt32, rebind: UInt32) throws {
        var ack = Self.ack()
        ack.renewalTime = t1
        ack.rebindingTime = t2
        let lease = try Self.accepted(ack).lease
        #expect(lease.renewalTime == renew)
        #expect(lease.rebindingTime == rebind)
    }

    /// Option overload (52): options carried in `file` count like any other (RFC 2131 4.1).
    @Test func overloadedOptionsAreReviewedToo() throws {
        var ack = Self.ack()
        ack.options[DHCPOptionCode.router] = nil
        var bytes = ack.encoded()
        let end = 240 + ack.options.reduce(0) { $0 + 2 + $1.data.count }
        #expect(bytes[end] == DHCPOptionCode.end)
        bytes.replaceSubrange(end...end, with: [DHCPOptionCode.overload, 1, 1, DHCPOptionCode.end])
        let router = [DHCPOptionCode.router, 4, 10, 9, 9, 1, DHCPOptionCode.end]
        bytes.replaceSubrange(108..<108 + router.count, with: router)
        let review = try Self.accepted(try DHCPMessage(decoding: bytes))
        #expect(review.lease.routers.isEmpty)
        #expect(review.notes.first?.hasPrefix("router 10.9.9.1 left out") == true)
    }
}

extension Harness {
    /// DISCOVER, OFFER, REQUEST, ACK, without answering the `.configure` (the test does).
    mutating func ackNotYetConfigured() -> [Machine.Action] {
        _ = machine.start(now: now)
        _ = receive(reply(.offer))
        return machine.receive(reply(.ack), from: Self.serverMAC, now: now)
    }
}

/// The restart back-off and the configure feedback of the state machine.
@Suite struct DHCPRestartTests {
    /// A server that offers and NAKs every REQUEST, for ten simulated minutes: the first restart
    /// is immediate, each next one waits twice as long (randomised), up to 64 s.
    @Test(arguments: [UInt64(1), 7, 99])
    func nakStormBacksOff(seed: UInt64) throws {
        var h = Harness(seed: seed)
        var sent = h.machine.start(now: h.now).sent.count
        var discovers: [Int64] = [0]
        while h.now.milliseconds < 600_000 {
            let offer = h.receive(h.reply(.offer))
            sent += offer.sent.count
            let nak = h.receive(h.reply(.nak))
            sent += nak.sent.count
            if nak.sent.isEmpty {
                #expect(h.machine.state == .initial)
                let fired = h.fire()
                sent += fired.sent.count
            }
            #expect(h.machine.state == .selecting)
            discovers.append(h.now.milliseconds)
        }
        let gaps = zip(discovers.dropFirst(), discovers).map { $0 - $1 }
        #expect(gaps[0] == 0)
        let nominal: [Int64] = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 64_000]
        for (gap, base) in zip(gaps.dropFirst(), nominal) {
            #expect(abs(gap - base) <= min(1_000, base / 2), "gap \(gap) for \(base): \(gaps)")
        }
        // Two packets per round: about 20 rounds in ten minutes, not millions.
        #expect(sent <= 50, "\(sent) packets: \(gaps)")
    }

    @Test func refusedAckRestartsAndALeaseResetsTheBackOff() throws {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        _ = h.receive(h.reply(.offer))
        let first = h.receive(h.reply(.ack, lease: 0))
        #expect(first.events.count == 1)
        #expect(first.configured.isEmpty)
        #expect(first.sent.first?.0.messageType == .discover, "the first restart is immediate")
        _ = h.receive(h.reply(.offer))
        let second = h.receive(h.reply(.ack, lease: 0))
        #expect(second.sent.isEmpty, "the second waits")
        #expect(h.machine.state == .initial)
        #expect(h.machine.restarts == 2)
        _ = h.fire()
        _ = h.receive(h.reply(.offer))
        _ = h.receive(h.reply(.ack))
        #expect(h.machine.state == .bound)
        #expect(h.machine.restarts == 0)
    }

    @Test func failedConfigurationIsNoLease() throws {
        var h = Harness()
        let ack = h.ackNotYetConfigured()
        let pending = try #require(ack.configured.first)
        #expect(ack.events.isEmpty, "nothing is reported before the address is in place")
        #expect(h.machine.lease == nil)
        let error = DHCPError(.netlink(request: "RTM_NEWADDR", errno: 22), interface: "eth0")
        let actions = h.machine.configured(.failure(error), now: h.now)
        #expect(actions.events.first == .failed(interface: "eth0", error: error))
        #expect(actions.events.bound.isEmpty)
        #expect(h.machine.lease == nil)
        #expect(actions.sent.first?.0.messageType == .discover)
        #expect(pending.address == IPv4(10, 0, 2, 15))
    }

    @Test func configuredLeaseIsWhatIsReported() throws {
        var h = Harness()
        let ack = h.ackNotYetConfigured()
        var effective = try #require(ack.configured.first)
        effective.routers = []
        let actions = h.machine.configured(.success(effective), now: h.now)
        #expect(actions.events == [.bound(effective)])
        #expect(h.machine.lease?.router == nil)
    }

    /// While RENEWING, a refused ACK leaves the lease in force and the schedule as it was.
    @Test func refusedAckWhileRenewingKeepsTheLease() throws {
        var h = Harness()
        h.bind(lease: 120, t1: 10)
        let lease = try #require(h.machine.lease)
        _ = h.fire()
        #expect(h.machine.state == .renewing)
        let deadline = h.machine.deadline
        let actions = h.receive(h.reply(.ack, lease: 0))
        #expect(actions.count == 1)
        #expect(actions.events.first.map { "\($0)".contains("lease time 0") } == true)
        #expect(h.machine.lease == lease)
        #expect(h.machine.state == .renewing)
        #expect(h.machine.deadline == deadline)
    }

    @Test func offerWithoutUsableServerIdentifierIsIgnored() {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        #expect(h.receive(h.reply(.offer, server: IPv4(0, 0, 0, 0))).isEmpty)
        #expect(h.receive(h.reply(.offer, address: IPv4(224, 0, 0, 5))).isEmpty)
        #expect(h.machine.state == .selecting)
    }
}
