/// The DHCP client protocol of RFC 2131 (section 4.4, figure 5) as a pure state machine, in the
/// style of swift-nio's `*StateMachine`s: it reads no clock, opens no socket, and answers each
/// input with the actions the driver must perform.
///
/// Inputs: `start(now:)`, `receive(_:from:now:)` for every DHCP reply, `timeout(now:)` when the
/// last `.wait(until:)` instant has passed. The random source (xids, jitter) is injected.
public struct DHCPClientStateMachine<Random: RandomNumberGenerator> {
    public struct Configuration: Sendable {
        public var interface: String
        public var mac: MACAddress
        /// Ask for rapid commit (RFC 4039): an ACK straight after the DISCOVER, two packets instead of four.
        public var rapidCommit = true
        /// First retransmission delay. RFC 2131 4.1 suggests 4 s, doubling to 64 s, randomised by
        /// +-1 s: tuned for 10 Mb/s shared media and slow servers. A drone on a switched LAN talks
        /// to dnsmasq, which answers in milliseconds, and the first exchange often dies in a link
        /// that is still coming up (a switch port; QEMU's e1000 drops the first OFFER after link
        /// up, for klibc's ipconfig too), so we retry after 250 ms and double from there: about
        /// seven DISCOVERs in the first 16 s instead of five.
        public var initialDelay: Int64 = 250
        /// Retransmission cap. 64 s protects a server from thousands of clients; a drone cluster is
        /// at most a few hundred nodes (16 packets/s at this cap), and a server that comes up later
        /// is found within 16 s rather than a minute.
        public var maximumDelay: Int64 = 16_000
        /// The wait before the second restart of the state machine (back to INIT after a NAK, a
        /// refused ACK, a lease that could not be configured, no answer to our REQUESTs); it
        /// doubles with every further restart up to `maximumRestartDelay`, randomised like the
        /// retransmissions, and is reset once a lease is in place. The first restart is
        /// immediate, as RFC 2131 3.2 asks after a NAK (a drone that moved networks). Without this
        /// a server that NAKs or acks nonsense would be asked again at once, thousands of times a
        /// second; RFC 2131 3.1 step 5 asks for ten seconds after a DECLINE for the same reason,
        /// and systemd-networkd likewise doubles its restart delay after a NAK from 1 s
        /// (`RESTART_AFTER_NAK_MIN_USEC`, sd-dhcp-client.c).
        public var restartDelay: Int64 = 1_000
        /// The cap of the restart back-off: RFC 2131 4.1's 64 s.
        public var maximumRestartDelay: Int64 = 64_000
        /// REQUEST transmissions in REQUESTING before going back to INIT (RFC 2131 3.1 step 5).
        public var requestAttempts = 4
        /// REQUEST transmissions in INIT-REBOOT before falling back to INIT.
        public var rebootAttempts = 2
        /// RFC 2131 4.4.5: RENEWING/REBINDING retransmit at half the remaining time, but no
        /// sooner than this (60 s in the RFC).
        public var minimumRenewDelay: Int64 = 60_000
        /// An address to ask for first (INIT-REBOOT, RFC 2131 3.2), e.g. after a link flap.
        public var previousAddress: IPv4?
        /// Option 55: the options a drone uses.
        public var parameterRequestList: [UInt8] = [
            DHCPOptionCode.subnetMask, DHCPOptionCode.router, DHCPOptionCode.domainNameServer,
            DHCPOptionCode.hostName, DHCPOptionCode.domainName, DHCPOptionCode.rootPath,
            DHCPOptionCode.broadcastAddress, DHCPOptionCode.leaseTime, DHCPOptionCode.serverIdentifier,
            DHCPOptionCode.renewalTime, DHCPOptionCode.rebindingTime, DHCPOptionCode.tftpServerName,
            DHCPOptionCode.bootfileName,
        ]
        /// Option 57: what fits an Ethernet frame (1500 - 20 IP - 8 UDP).
        public var maximumMessageSize: UInt16 = 1472

        public init(interface: String, mac: MACAddress) {
            self.interface = interface
            self.mac = mac
        }
    }

    /// RFC 2131 figure 5. INIT is where a restart waits out its back-off; `start` moves straight on
    /// to SELECTING.
    public enum State: Hashable, Sendable {
        case initial, rebooting, selecting, requesting, bound, renewing, rebinding
    }

    public enum Destination: Hashable, Sendable {
        /// 0.0.0.0 -> 255.255.255.255, Ethernet broadcast.
        case broadcast
        /// From our address to the server's, Ethernet to `mac` (the server or its relay).
        case unicast(IPv4, mac: MACAddress?)
    }

    public enum Action: Hashable, Sendable {
        case send(DHCPMessage, to: Destination)
        /// Add the address (with the lease's lifetime), the broadcast and the default route, then
        /// tell the machine how it went with `configured(_:now:)`: the lease is only bound and
        /// reported once it is in place.
        case configure(DHCPLease)
        /// Remove what `configure` added.
        case deconfigure(DHCPLease)
        /// Call `timeout(now:)` at this instant; nil: no timer (an infinite lease).
        case wait(until: DHCPInstant?)
        case report(DHCPEvent)
    }

    public let configuration: Configuration
    public private(set) var state: State = .initial
    /// The lease in force (BOUND, RENEWING, REBINDING).
    public private(set) var lease: DHCPLease?
    /// When `timeout` is due.
    public private(set) var deadline: DHCPInstant?

    var random: Random
    /// The exchange's transaction id; replies with another are ignored.
    public private(set) var xid: UInt32 = 0
    /// When the current exchange began (for `secs`).
    var exchangeStart = DHCPInstant(milliseconds: 0)
    /// Transmissions in the current state.
    var attempts = 0
    /// When the last REQUEST went out: the lease is counted from then.
    var requestSentAt = DHCPInstant(milliseconds: 0)
    var offer: DHCPMessage?
    /// The lease of an accepted ACK, between `.configure` and `configured(_:now:)`.
    public private(set) var pending: DHCPLease?
    /// Restarts since the last lease was put in place (the restart back-off's exponent).
    public private(set) var restarts = 0

    public init(configuration: Configuration, random: Random) {
        self.configuration = configuration
        self.random = random
    }

    // MARK: Inputs

    /// Begins: INIT-REBOOT when there is a previous address, else INIT -> SELECTING.
    public mutating func start(now: DHCPInstant) -> [Action] {
        if let previous = configuration.previousAddress {
            newExchange(now)
            state = .rebooting
            return sendRequest(now, requested: previous, server: nil)
        }
        return discover(now)
    }

    /// A decoded DHCP message from the interface; `from` is the Ethernet source of its frame.
    public mutating func receive(_ message: DHCPMessage, from source: MACAddress?, now: DHCPInstant) -> [Action] {
        guard message.operation == .reply, message.xid == xid,
            message.clientHardwareAddress.starts(with: configuration.mac.bytes),
            let type = message.messageType
        else { return [] }
        switch (state, type) {
        case (.selecting, .offer):
            // An offer we could not request (no usable address, nowhere to send the REQUEST) is
            // ignored; the DISCOVER schedule goes on.
            guard message.yourAddress.isHostAddress, message.serverIdentifier?.isHostAddress == true else { return [] }
            offer = message
            state = .requesting
            attempts = 0
            return [
                .report(
                    .offered(
                        interface: configuration.interface, address: message.yourAddress,
                        server: message.serverIdentifier))
            ]
                + sendRequest(now, requested: message.yourAddress, server: message.serverIdentifier)
        case (.selecting, .ack):
            // RFC 4039 4: only an ACK carrying option 80 commits; a plain ACK here is stray.
            guard configuration.rapidCommit, message.rapidCommit else { return [] }
            return accept(message, from: source, requested: nil, now: now)
        case (.requesting, .ack):
            guard fromChosenServer(message) else { return [] }
            return accept(message, from: source, requested: offer?.yourAddress, now: now)
        case (.rebooting, .ack):
            return accept(message, from: source, requested: configuration.previousAddress, now: now)
        case (.renewing, .ack), (.rebinding, .ack):
            return accept(message, from: source, requested: nil, now: now)
        case (.requesting, .nak), (.rebooting, .nak), (.renewing, .nak), (.rebinding, .nak):
            guard fromChosenServer(message) else { return [] }
            // RFC 2131 3.1 step 5 / 4.4.5: back to INIT; drop the address if we had one.
            var actions: [Action] = []
            if let lease { actions.append(.deconfigure(lease)) }
            actions.append(
                .report(
                    .nak(
                        interface: configuration.interface, server: message.serverIdentifier,
                        message: message.message)))
            return actions + restart(now)
        default:
            return []
        }
    }

    /// The deadline of the last `.wait` has passed (an early call just repeats the wait).
    public mutating func timeout(now: DHCPInstant) -> [Action] {
        guard let deadline, now >= deadline else { return [.wait(until: deadline)] }
        switch state {
        case .initial:
            return discover(now)
        case .selecting:
            // Same xid for the retransmission (RFC 2131 4.1 allows either); the server sees one client.
            attempts += 1
            let seconds = Int((now.milliseconds - exchangeStart.milliseconds) / 1000)
            return [.report(.noAnswer(interface: configuration.interface, attempt: attempts, seconds: seconds))]
                + sendDiscover(now)
        case .requesting:
            guard attempts < configuration.requestAttempts, let offer else { return restart(now) }
            return sendRequest(now, requested: offer.yourAddress, server: offer.serverIdentifier)
        case .rebooting:
            guard attempts < configuration.rebootAttempts, let previous = configuration.previousAddress else {
                return restart(now)
            }
            return sendRequest(now, requested: previous, server: nil)
        case .bound, .renewing, .rebinding:
            return leaseTimer(now)
        }
    }

    // MARK: Transitions

    /// Back to INIT, through the restart back-off: the first restart since the last lease was
    /// put in place goes on at once, each further one waits `restartDelay` doubled per restart
    /// (capped, randomised), however the server answers.
    mutating func restart(_ now: DHCPInstant) -> [Action] {
        lease = nil
        offer = nil
        pending = nil
        restarts += 1
        guard restarts > 1 else { return discover(now) }
        state = .initial
        let delay = backoff(
            attempt: restarts - 2, initial: configuration.restartDelay, maximum: configuration.maximumRestartDelay)
        let next = now.adding(milliseconds: delay)
        deadline = next
        return [.wait(until: next)]
    }

    /// INIT -> SELECTING: new xid, DISCOVER.
    mutating func discover(_ now: DHCPInstant) -> [Action] {
        newExchange(now)
        state = .selecting
        return sendDiscover(now)
    }

    mutating func newExchange(_ now: DHCPInstant) {
        xid = UInt32(truncatingIfNeeded: random.next())
        exchangeStart = now
        attempts = 0
    }

    /// BOUND/RENEWING/REBINDING timers: T1, T2, expiry (RFC 2131 4.4.5).
    mutating func leaseTimer(_ now: DHCPInstant) -> [Action] {
        guard let lease, let renewAt = lease.renewAt, let rebindAt = lease.rebindAt,
            let expiresAt = lease.expiresAt
        else {
            deadline = nil
            return [.wait(until: nil)]
        }
        if now >= expiresAt {
            return [.deconfigure(lease), .report(.expired(lease))] + restart(now)
        }
        var actions: [Action] = []
        let message: DHCPMessage
        let destination: Destination
        let limit: DHCPInstant
        if now >= rebindAt {
            if state != .rebinding {
                state = .rebinding
                newExchange(now)
                actions.append(.report(.rebinding(lease)))
            }
            message = request(now, requested: nil, server: nil, clientAddress: lease.address)
            destination = .broadcast
            limit = expiresAt
        } else if now >= renewAt {
            if state != .renewing {
                state = .renewing
                newExchange(now)
            }
            message = request(now, requested: nil, server: nil, clientAddress: lease.address)
            destination = .unicast(lease.serverIdentifier ?? .broadcast, mac: lease.serverMAC)
            limit = rebindAt
        } else {
            deadline = renewAt
            return [.wait(until: renewAt)]
        }
        attempts += 1
        requestSentAt = now
        let half = (limit.milliseconds - now.milliseconds) / 2
        let next = min(limit, now.adding(milliseconds: max(half, configuration.minimumRenewDelay)))
        deadline = next
        return actions + [.send(message, to: destination), .wait(until: next)]
    }

    /// An ACK: reviewed field by field (`DHCPLease.reviewing`); refused, or handed to the driver
    /// to configure. A refused ACK in REQUESTING or INIT-REBOOT restarts (with back-off); while
    /// RENEWING or REBINDING the lease in force stays and the retransmissions go on as scheduled.
    mutating func accept(_ ack: DHCPMessage, from source: MACAddress?, requested: IPv4?, now: DHCPInstant) -> [Action] {
        let review = DHCPLease.reviewing(
            ack, offer: offer, previous: lease, requested: requested, interface: configuration.interface,
            mac: configuration.mac, serverMAC: source, acquiredAt: requestSentAt)
        switch review {
        case .failure(let error):
            let report = Action.report(.failed(interface: configuration.interface, error: error))
            if state == .renewing || state == .rebinding { return [report] }
            return [report] + restart(now)
        case .success(let review):
            var actions = review.notes.map { note in
                Action.report(
                    .failed(
                        interface: configuration.interface,
                        error: DHCPError(.refused(note), interface: configuration.interface)))
            }
            if let old = lease, old.address != review.lease.address || old.subnetMask != review.lease.subnetMask {
                actions.append(.deconfigure(old))
            }
            pending = review.lease
            deadline = nil
            actions.append(.configure(review.lease))
            return actions
        }
    }

    /// The driver's answer to `.configure`: the lease as put in place (without the routers the
    /// kernel refused), or why its address could not be. Only now is the lease bound and reported;
    /// a failure is one, reported with its reason, and the machine restarts as after no answer.
    public mutating func configured(_ result: Result<DHCPLease, DHCPError>, now: DHCPInstant) -> [Action] {
        guard pending != nil else { return [] }
        pending = nil
        switch result {
        case .success(let lease):
            let renewal = state == .renewing || state == .rebinding
            self.lease = lease
            offer = nil
            state = .bound
            attempts = 0
            restarts = 0
            deadline = lease.renewAt
            return [.report(renewal ? .renewed(lease) : .bound(lease)), .wait(until: lease.renewAt)]
        case .failure(let error):
            var actions: [Action] = [.report(.failed(interface: configuration.interface, error: error))]
            if let lease { actions.append(.deconfigure(lease)) }
            return actions + restart(now)
        }
    }

    // MARK: Messages

    mutating func sendDiscover(_ now: DHCPInstant) -> [Action] {
        var message = baseMessage(now)
        message.messageType = .discover
        message.flags = DHCPMessage.broadcastFlag
        message.rapidCommit = configuration.rapidCommit
        return transmit(message, to: .broadcast, now)
    }

    /// REQUEST in REQUESTING (`server` set) or INIT-REBOOT (`server` nil), RFC 2131 4.3.2.
    mutating func sendRequest(_ now: DHCPInstant, requested: IPv4, server: IPv4?) -> [Action] {
        let message = request(now, requested: requested, server: server, clientAddress: .any)
        return transmit(message, to: .broadcast, now)
    }

    func request(_ now: DHCPInstant, requested: IPv4?, server: IPv4?, clientAddress: IPv4) -> DHCPMessage {
        var message = baseMessage(now)
        message.messageType = .request
        message.requestedIPAddress = requested
        message.serverIdentifier = server
        message.clientAddress = clientAddress
        // With an address we can take a unicast reply; without one, ask for a broadcast.
        message.flags = clientAddress == .any ? DHCPMessage.broadcastFlag : 0
        return message
    }

    func baseMessage(_ now: DHCPInstant) -> DHCPMessage {
        var message = DHCPMessage(operation: .request, xid: xid, clientHardwareAddress: configuration.mac.bytes)
        message.secs = UInt16(clamping: max(0, (now.milliseconds - exchangeStart.milliseconds) / 1000))
        message.clientIdentifier = DHCPMessage.clientIdentifier(for: configuration.mac)
        message.maximumMessageSize = configuration.maximumMessageSize
        message.parameterRequestList = configuration.parameterRequestList
        return message
    }

    /// Sends and schedules the retransmission: exponential backoff with jitter (RFC 2131 4.1).
    mutating func transmit(_ message: DHCPMessage, to destination: Destination, _ now: DHCPInstant) -> [Action] {
        let next = now.adding(
            milliseconds: backoff(
                attempt: attempts, initial: configuration.initialDelay, maximum: configuration.maximumDelay))
        requestSentAt = now
        if state != .selecting { attempts += 1 }
        deadline = next
        return [.send(message, to: destination), .wait(until: next)]
    }

    /// initial * 2^attempt, capped, +- min(1 s, delay/2) uniformly (RFC 2131 4.1's -1...+1 s).
    mutating func backoff(attempt: Int, initial: Int64, maximum: Int64) -> Int64 {
        let shift = min(max(attempt, 0), 20)
        let delay = min(initial << Int64(shift), maximum)
        let spread = min(1_000, delay / 2)
        guard spread > 0 else { return delay }
        return delay + Int64.random(in: -spread...spread, using: &random)
    }

    func fromChosenServer(_ message: DHCPMessage) -> Bool {
        // Other servers also see a broadcast REQUEST; only the one we chose may answer it.
        guard let chosen = offer?.serverIdentifier, let server = message.serverIdentifier else { return true }
        return chosen == server
    }
}
