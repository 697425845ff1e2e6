import Testing

@testable import NetProbe

typealias Machine = DHCPClientStateMachine<DHCPRandom>

/// A fake server's replies and a fake clock around the pure state machine.
struct Harness {
    var machine: Machine
    var now = DHCPInstant(milliseconds: 0)
    static let server = IPv4(10, 0, 2, 2)
    static let serverMAC = MACAddress("02:00:00:00:00:02")!

    init(rapidCommit: Bool = true, previous: IPv4? = nil, seed: UInt64 = 1) {
        var configuration = Machine.Configuration(interface: "eth0", mac: droneMAC)
        configuration.rapidCommit = rapidCommit
        configuration.previousAddress = previous
        machine = Machine(configuration: configuration, random: DHCPRandom(seed: seed))
    }

    func reply(
        _ type: DHCPMessage.MessageType, address: IPv4 = IPv4(10, 0, 2, 15), server: IPv4? = server,
        lease: UInt32? = 3600, t1: UInt32? = nil, t2: UInt32? = nil, rapid: Bool = false, xid: UInt32? = nil
    ) -> DHCPMessage {
        var message = DHCPMessage(
            operation: .reply, xid: xid ?? machine.xid, clientHardwareAddress: droneMAC.bytes)
        message.messageType = type
        if type != .nak { message.yourAddress = address }
        message.serverIdentifier = server
        if type != .nak {
            message.leaseTime = lease
            message.renewalTime = t1
            message.rebindingTime = t2
            message.subnetMask = IPv4(255, 255, 255, 0)
            message.options[DHCPOptionCode.router] = Self.server.bytes
        }
        message.rapidCommit = rapid
        return message
    }

    /// Delivers a reply; a `.configure` is answered as a driver whose kernel takes the lease.
    mutating func receive(_ message: DHCPMessage) -> [Machine.Action] {
        let actions = machine.receive(message, from: Self.serverMAC, now: now)
        guard let lease = actions.configured.last else { return actions }
        return actions + machine.configured(.success(lease), now: now)
    }

    /// Advances the fake clock to the deadline and fires it.
    mutating func fire() -> [Machine.Action] {
        if let deadline = machine.deadline { now = deadline }
        return machine.timeout(now: now)
    }

    mutating func bind(lease: UInt32 = 3600, t1: UInt32? = nil, t2: UInt32? = nil) {
        _ = machine.start(now: now)
        _ = receive(reply(.offer))
        _ = receive(reply(.ack, lease: lease, t1: t1, t2: t2))
    }
}

extension Array where Element == Machine.Action {
    var sent: [(DHCPMessage, Machine.Destination)] {
        compactMap { if case .send(let message, let destination) = $0 { (message, destination) } else { nil } }
    }
    var events: [DHCPEvent] { compactMap { if case .report(let event) = $0 { event } else { nil } } }
    var wait: DHCPInstant?? {
        for action in self { if case .wait(let until) = action { return .some(until) } }
        return .none
    }
    var configured: [DHCPLease] { compactMap { if case .configure(let lease) = $0 { lease } else { nil } } }
    var deconfigured: [DHCPLease] { compactMap { if case .deconfigure(let lease) = $0 { lease } else { nil } } }
}

@Suite struct DHCPClientStateMachineTests {
    @Test func startBroadcastsDiscover() throws {
        var h = Harness()
        let actions = h.machine.start(now: h.now)
        #expect(h.machine.state == .selecting)
        let (message, destination) = try #require(actions.sent.first)
        #expect(destination == .broadcast)
        #expect(message.messageType == .discover)
        #expect(message.flags == DHCPMessage.broadcastFlag)
        #expect(message.clientIdentifier == [1] + droneMAC.bytes)
        #expect(message.rapidCommit)
        #expect(message.xid == h.machine.xid)
        let wait = try #require(actions.wait ?? nil)
        #expect((125...375).contains(wait.milliseconds))
    }

    /// 0.25, 0.5, 1, 2, 4, 8, 16 s, each +- min(1 s, half): the LAN-drone schedule, capped at 16 s.
    @Test(arguments: [UInt64(1), 2, 3, 99])
    func discoverBackoff(seed: UInt64) throws {
        var h = Harness(seed: seed)
        var last = h.now
        let first = h.machine.start(now: h.now)
        var delays = [try #require(first.wait ?? nil).milliseconds - last.milliseconds]
        let xid = h.machine.xid
        for attempt in 1...6 {
            last = try #require(h.machine.deadline)
            let actions = h.fire()
            #expect(
                actions.events == [
                    .noAnswer(interface: "eth0", attempt: attempt, seconds: Int(h.now.milliseconds / 1000))
                ])
            #expect(actions.sent.first?.0.xid == xid)
            #expect(actions.sent.first?.0.secs == UInt16(h.now.milliseconds / 1000))
            delays.append(try #require(actions.wait ?? nil).milliseconds - last.milliseconds)
        }
        let nominal: [Int64] = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000]
        for (delay, base) in zip(delays, nominal) {
            #expect(abs(delay - base) <= min(1_000, base / 2), "delay \(delay) for \(base)")
        }
    }

    @Test func offerThenAckBinds() throws {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        h.now = DHCPInstant(milliseconds: 300)
        let afterOffer = h.receive(h.reply(.offer))
        #expect(h.machine.state == .requesting)
        #expect(afterOffer.events == [.offered(interface: "eth0", address: IPv4(10, 0, 2, 15), server: Harness.server)])
        let (request, destination) = try #require(afterOffer.sent.first)
        #expect(destination == .broadcast)
        #expect(request.messageType == .request)
        #expect(request.requestedIPAddress == IPv4(10, 0, 2, 15))
        #expect(request.serverIdentifier == Harness.server)
        #expect(request.clientAddress == .any)

        h.now = DHCPInstant(milliseconds: 400)
        let afterAck = h.receive(h.reply(.ack, t1: 1000, t2: 2000))
        #expect(h.machine.state == .bound)
        let lease = try #require(afterAck.configured.first)
        #expect(afterAck.events == [.bound(lease)])
        #expect(lease.address == IPv4(10, 0, 2, 15))
        #expect(lease.prefixLength == 24)
        #expect(lease.router == Harness.server)
        #expect(lease.broadcast == IPv4(10, 0, 2, 255))
        #expect(lease.serverMAC == Harness.serverMAC)
        #expect(lease.acquiredAt == DHCPInstant(milliseconds: 300))
        #expect(afterAck.wait == .some(DHCPInstant(milliseconds: 300 + 1_000_000)))
        #expect(lease.description == "eth0 10.0.2.15/24 router 10.0.2.2 server 10.0.2.2")
    }

    enum Stray: String, CaseIterable, CustomTestStringConvertible {
        case otherXid, otherMAC, fromClient, noType, noServerID, zeroAddress, plainAckWhileSelecting
        var testDescription: String { rawValue }
    }

    @Test(arguments: Stray.allCases)
    func ignoresStrayReplies(stray: Stray) {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        var message = h.reply(.offer)
        switch stray {
        case .otherXid: message.xid &+= 1
        case .otherMAC: message.clientHardwareAddress = [2, 0, 0, 0, 0, 9]
        case .fromClient: message.operation = .request
        case .noType: message.messageType = nil
        case .noServerID: message.serverIdentifier = nil
        case .zeroAddress: message.yourAddress = .any
        case .plainAckWhileSelecting: message.messageType = .ack
        }
        #expect(h.receive(message).isEmpty)
        #expect(h.machine.state == .selecting)
    }

    @Test(arguments: [true, false])
    func rapidCommit(enabled: Bool) {
        var h = Harness(rapidCommit: enabled)
        let start = h.machine.start(now: h.now)
        #expect(start.sent.first?.0.rapidCommit == enabled)
        let actions = h.receive(h.reply(.ack, rapid: true))
        if enabled {
            #expect(h.machine.state == .bound)
            #expect(actions.configured.count == 1)
        } else {
            #expect(actions.isEmpty)
            #expect(h.machine.state == .selecting)
        }
    }

    @Test func nakWhileRequestingRestarts() throws {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        _ = h.receive(h.reply(.offer))
        let oldXid = h.machine.xid
        var nak = h.reply(.nak)
        nak.options[DHCPOptionCode.message] = Array("address in use".utf8)
        let actions = h.receive(nak)
        #expect(actions.events == [.nak(interface: "eth0", server: Harness.server, message: "address in use")])
        #expect(actions.deconfigured.isEmpty)
        #expect(actions.sent.first?.0.messageType == .discover)
        #expect(h.machine.state == .selecting)
        #expect(h.machine.xid != oldXid)
    }

    @Test func nakFromAnotherServerIsIgnored() {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        _ = h.receive(h.reply(.offer))
        #expect(h.receive(h.reply(.nak, server: IPv4(10, 0, 2, 99))).isEmpty)
        #expect(h.machine.state == .requesting)
    }

    @Test func unansweredRequestFallsBackToDiscover() {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        _ = h.receive(h.reply(.offer))
        var requests = 1
        var actions = h.fire()
        while actions.sent.first?.0.messageType == .request {
            requests += 1
            actions = h.fire()
        }
        #expect(requests == 4)
        #expect(actions.sent.first?.0.messageType == .discover)
        #expect(h.machine.state == .selecting)
    }

    @Test func renewAtT1UnicastToServer() throws {
        var h = Harness()
        h.bind(lease: 120, t1: 10)
        let bound = try #require(h.machine.lease)
        #expect(h.machine.deadline == bound.acquiredAt.adding(seconds: 10))
        let actions = h.fire()
        #expect(h.machine.state == .renewing)
        let (request, destination) = try #require(actions.sent.first)
        #expect(destination == .unicast(Harness.server, mac: Harness.serverMAC))
        #expect(request.clientAddress == IPv4(10, 0, 2, 15))
        #expect(request.requestedIPAddress == nil)
        #expect(request.serverIdentifier == nil)
        #expect(request.flags == 0)
        // T2 defaults to 7/8 of 120 s = 105 s; half of the 95 s left is under the 60 s minimum.
        #expect(actions.wait == .some(h.now.adding(seconds: 60)))

        h.now = h.now.adding(milliseconds: 20)
        let renewed = h.receive(h.reply(.ack, lease: 120, t1: 10))
        #expect(h.machine.state == .bound)
        let lease = try #require(renewed.configured.first)
        #expect(renewed.events == [.renewed(lease)])
        #expect(renewed.deconfigured.isEmpty)
        #expect(lease.acquiredAt == bound.acquiredAt.adding(seconds: 10))
    }

    @Test func rebindAtT2ThenExpiry() throws {
        var h = Harness()
        h.bind(lease: 1000, t1: 500, t2: 800)
        let lease = try #require(h.machine.lease)
        _ = h.fire()  // T1: renewing, retransmit at T1 + max(150, 60) = 650 s
        #expect(h.machine.deadline == lease.acquiredAt.adding(seconds: 650))
        _ = h.fire()  // 650 s: half of 150 s = 75 s -> 725 s
        #expect(h.machine.deadline == lease.acquiredAt.adding(seconds: 725))
        _ = h.fire()  // 725: half is 37.5 s, so the 60 s minimum: 785 s
        #expect(h.machine.deadline == lease.acquiredAt.adding(seconds: 785))
        _ = h.fire()  // 785 + 60, clamped to T2 = 800 s
        #expect(h.machine.deadline == lease.rebindAt)
        let rebinding = h.fire()
        #expect(h.machine.state == .rebinding)
        #expect(rebinding.events == [.rebinding(lease)])
        #expect(rebinding.sent.first?.1 == .broadcast)
        #expect(rebinding.sent.first?.0.clientAddress == lease.address)
        // 800 + max(100, 60) = 900
        #expect(h.machine.deadline == lease.acquiredAt.adding(seconds: 900))
        _ = h.fire()  // 900 + max(50, 60) = 960
        #expect(h.machine.deadline == lease.acquiredAt.adding(seconds: 960))
        _ = h.fire()  // 960 + 60, clamped to the expiry at 1000
        #expect(h.machine.deadline == lease.expiresAt)
        let expired = h.fire()
        #expect(expired.deconfigured == [lease])
        #expect(expired.events == [.expired(lease)])
        #expect(expired.sent.first?.0.messageType == .discover)
        #expect(h.machine.state == .selecting)
        #expect(h.machine.lease == nil)
    }

    @Test func ackWhileRebindingFromAnyServer() throws {
        var h = Harness()
        h.bind(lease: 1000, t1: 500, t2: 800)
        while h.machine.state != .rebinding { _ = h.fire() }
        let actions = h.receive(h.reply(.ack, server: IPv4(10, 0, 2, 3), lease: 1000))
        #expect(h.machine.state == .bound)
        #expect(actions.configured.first?.serverIdentifier == IPv4(10, 0, 2, 3))
    }

    @Test func nakWhileRenewingDropsTheAddress() throws {
        var h = Harness()
        h.bind(lease: 120, t1: 10)
        let lease = try #require(h.machine.lease)
        _ = h.fire()
        let actions = h.receive(h.reply(.nak))
        #expect(actions.deconfigured == [lease])
        #expect(actions.events.first == .nak(interface: "eth0", server: Harness.server, message: nil))
        #expect(actions.sent.first?.0.messageType == .discover)
    }

    @Test func renewalWithNewAddressReplacesTheOld() throws {
        var h = Harness()
        h.bind(lease: 120, t1: 10)
        let old = try #require(h.machine.lease)
        _ = h.fire()
        let actions = h.receive(h.reply(.ack, address: IPv4(10, 0, 2, 16), lease: 120))
        #expect(actions.deconfigured == [old])
        #expect(actions.configured.first?.address == IPv4(10, 0, 2, 16))
        guard case .deconfigure = actions.first else {
            Issue.record("deconfigure must come first: \(actions)")
            return
        }
    }

    @Test func initRebootAckAndNak() throws {
        var h = Harness(previous: IPv4(10, 0, 2, 15))
        let start = h.machine.start(now: h.now)
        #expect(h.machine.state == .rebooting)
        let request = try #require(start.sent.first?.0)
        #expect(request.messageType == .request)
        #expect(request.requestedIPAddress == IPv4(10, 0, 2, 15))
        #expect(request.serverIdentifier == nil)
        #expect(h.receive(h.reply(.ack)).configured.count == 1)

        var n = Harness(previous: IPv4(192, 168, 99, 9))
        _ = n.machine.start(now: n.now)
        let actions = n.receive(n.reply(.nak))
        #expect(actions.events.count == 1)
        #expect(actions.sent.first?.0.messageType == .discover)
    }

    @Test func initRebootWithoutAnswerFallsBack() {
        var h = Harness(previous: IPv4(10, 0, 2, 15))
        _ = h.machine.start(now: h.now)
        #expect(h.fire().sent.first?.0.messageType == .request)
        #expect(h.fire().sent.first?.0.messageType == .discover)
        #expect(h.machine.state == .selecting)
    }

    @Test func infiniteLeaseNeedsNoTimer() {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        _ = h.receive(h.reply(.offer))
        let actions = h.receive(h.reply(.ack, lease: DHCPLease.infinite))
        #expect(actions.wait == .some(nil))
        #expect(h.machine.deadline == nil)
    }

    @Test func missingLeaseTimeUsesTheOffer() {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        _ = h.receive(h.reply(.offer, lease: 600))
        let actions = h.receive(h.reply(.ack, lease: nil))
        #expect(actions.configured.first?.leaseTime == 600)
        #expect(actions.configured.first?.renewalTime == 300)
    }

    @Test func earlyTimeoutOnlyWaits() {
        var h = Harness()
        _ = h.machine.start(now: h.now)
        let deadline = h.machine.deadline
        #expect(h.machine.timeout(now: DHCPInstant(milliseconds: 10)) == [.wait(until: deadline)])
    }

    @Test(
        arguments: [
            (3600, nil, nil, 1800, 3150),
            (3600, 600, nil, 600, 3150),
            (3600, 3500, 3000, 1800, 3000),
            (3600, nil, 4000, 1800, 3150),
            (120, 10, nil, 10, 105),
            (0, nil, nil, 0, 0),
            (UInt32.max, 5, 6, UInt32.max, UInt32.max),
        ] as [(UInt32, UInt32?, UInt32?, UInt32, UInt32)])
    func leaseTimers(lease: UInt32, t1: UInt32?, t2: UInt32?, renew: UInt32, rebind: UInt32) {
        let result = DHCPLease.timers(lease: lease, t1: t1, t2: t2)
        #expect(result.0 == renew)
        #expect(result.1 == rebind)
    }

    @Test func xidsDifferPerMAC() {
        var a = Machine(
            configuration: .init(interface: "eth0", mac: droneMAC), random: DHCPRandom(seed: 1 ^ 0x5254_0012_3456))
        var b = Machine(
            configuration: .init(interface: "eth0", mac: MACAddress("52:54:00:12:34:57")!),
            random: DHCPRandom(seed: 1 ^ 0x5254_0012_3457))
        _ = a.start(now: DHCPInstant(milliseconds: 0))
        _ = b.start(now: DHCPInstant(milliseconds: 0))
        #expect(a.xid != b.xid)
    }
}
