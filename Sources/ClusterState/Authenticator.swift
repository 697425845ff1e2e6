import AgentSupport

/// Seals outgoing datagrams with the cluster key and opens incoming ones: MAC check against the
/// current key and, during a rotation, the previous one (which senders still use until they have
/// the current) and the next one (which the master has handed out and senders may already use:
/// a joined drone gets each new key the moment the master makes it, and the others some
/// milliseconds later, so each accepts the other's for that while); per-sender replay protection and proof
/// of freshness; a counter for every reason a datagram is dropped, for the view.
///
/// **Fresh.** A replay window only knows what this receiver heard since it started: a receiver
/// that just started (a fresh view, a restarted drone) takes any recording of a sender's current
/// incarnation as new, and two recorded joins of a node that has since died would show it up.
/// So a sender counts as fresh only once it has answered a challenge: a 16-bit number, never 0,
/// that this receiver sends in a probe's `cycle` field and the sender echoes in the `cycle` of a
/// datagram outside any round (`Membership`). Until then `open` accepts its datagrams with
/// `fresh` false and tells the caller the challenge to send. The challenge depends on a secret
/// drawn when this receiver starts, the sender and its incarnation, so no recording made before
/// holds the answer, except by chance: one in 65,535 for each recorded answer to this address.
public struct Authenticator: Sendable {
    /// Dropped datagrams, by reason, and accepted ones.
    public struct Counters: Equatable, Sendable {
        public var accepted = 0
        /// Accepted under the previous key (a rotation is still under way somewhere).
        public var acceptedPreviousKey = 0
        /// Accepted under the next key (its sender had it a moment before this receiver).
        public var acceptedNextKey = 0
        public var truncated = 0
        public var oversized = 0
        /// Another magic or version.
        public var foreign = 0
        public var badMAC = 0
        public var replayed = 0
        /// An incarnation (a start time) further ahead of this receiver's clock than `futureSlack`.
        public var future = 0
        /// Authentic but not well formed (reserved bits, unknown values): a newer or broken sender.
        public var malformed = 0

        public init() {}

        /// Every dropped datagram.
        public var dropped: Int { truncated + oversized + foreign + badMAC + replayed + future + malformed }

        /// `name=value` pairs, for the status file and `--json`.
        public var fields: [(String, Int)] {
            [
                ("accepted", accepted), ("accepted-previous-key", acceptedPreviousKey),
                ("accepted-next-key", acceptedNextKey), ("truncated", truncated),
                ("oversized", oversized), ("foreign", foreign), ("bad-mac", badMAC), ("replayed", replayed),
                ("future", future), ("malformed", malformed),
            ]
        }
    }

    /// The anti-replay state of one sender (RFC 4303 §3.4.3's sliding window, 64 wide): the
    /// newest incarnation seen, its highest sequence number, and which of the 64 below it arrived;
    /// `first` is the first sequence number heard from this incarnation.
    struct Window: Sendable {
        var incarnation: UInt32
        var highest: UInt32
        var seen: UInt64
        var first: UInt32
        /// Whether the sender has answered this receiver's challenge in this incarnation.
        var proven: Bool
    }

    /// How many senders' windows are kept: the largest map has 65535 nodes, plus observers. Only an
    /// authentic datagram makes one, and a full table takes no new sender rather than forget the
    /// others (forgotten windows would take every recorded datagram again).
    static let maxSenders = 70_000
    /// How far ahead of this receiver's clock an incarnation may be: PCs' clocks disagree (a lab
    /// PC's RTC in local time reads up to 14 h off as UTC), but an incarnation far in the future
    /// would make every later one of that node look older, a replay, until it restarts.
    public static let futureSlack: UInt32 = 26 * 3600
    /// A receiver whose clock reads earlier than this (2026-01-01) has no real time yet (a PC with a
    /// flat CMOS battery, a drone before any NTP): it bounds no incarnation rather than refuse all.
    public static let clockFloor: UInt32 = 1_767_225_600

    private var current: HMACSHA256
    private var previous: HMACSHA256?
    private var next: HMACSHA256?
    private var windows: [UInt64: Window] = [:]
    /// The secret the challenges are derived from, drawn once per receiver.
    private let secret: UInt64
    public private(set) var counters = Counters()
    /// Whether the sender of the datagram `open` last accepted has proven, by answering this
    /// receiver's challenge, that it is alive in that incarnation. Until it has, the datagram may
    /// be a recording made before this receiver started: its content is not news, and the caller
    /// sends `challenge` instead (see `Membership.receive(_:from:now:fresh:challenge:random:)`).
    public private(set) var fresh = false
    /// The challenge for the sender of the datagram `open` last accepted (never 0).
    public private(set) var challenge: UInt16 = 1

    /// `previous` is the key being rotated out: accepted, never used to sign. `secret` seeds the
    /// challenges (tests pass one; by default it is drawn from the system's random source).
    public init(key: [UInt8], previous: [UInt8]? = nil, next: [UInt8]? = nil, secret: UInt64 = .random(in: .min ... .max)) {
        current = HMACSHA256(key: key)
        self.previous = previous.map { HMACSHA256(key: $0) }
        self.next = next.map { HMACSHA256(key: $0) }
        self.secret = secret
    }

    /// New keys (a key epoch began, or the next one was handed out). The replay windows and the
    /// challenges stay: they are about senders, not keys, and forgetting them would take every
    /// recorded datagram again.
    public mutating func rekey(_ keys: ClusterKeys.Set) {
        current = HMACSHA256(key: keys.current)
        previous = keys.previous.map { HMACSHA256(key: $0) }
        next = keys.next.map { HMACSHA256(key: $0) }
    }

    /// The challenge for one sender's incarnation: SplitMix64's finaliser over the secret, the
    /// sender and the incarnation, folded to 16 bits, never 0 (0 is "no challenge").
    static func challenge(secret: UInt64, sender: UInt64, incarnation: UInt32) -> UInt16 {
        var z = secret ^ sender &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(incarnation) << 17
        z = (z ^ z >> 30) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ z >> 27) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let folded = UInt16(truncatingIfNeeded: z ^ z >> 16 ^ z >> 32 ^ z >> 48)
        return folded == 0 ? 1 : folded
    }

    /// The datagram's bytes with its MAC, for the IPv4 address it is sent to (a node's, or the
    /// broadcast address): the receiver checks it against the packet's destination.
    public func seal(_ datagram: Datagram, to destination: UInt32 = 0) -> [UInt8] {
        let body = datagram.encodedBody()
        return body + current.mac(Self.bound(body[...], to: destination)).prefix(Datagram.macSize)
    }

    /// What the MAC covers: the destination, then the datagram before its MAC. Bound to where it
    /// was sent, a recorded datagram replayed to another node fails the MAC there, whatever that
    /// node's replay window holds.
    static func bound(_ body: ArraySlice<UInt8>, to destination: UInt32) -> [UInt8] {
        [UInt8(destination >> 24), UInt8(destination >> 16 & 0xFF), UInt8(destination >> 8 & 0xFF), UInt8(destination & 0xFF)]
            + body
    }

    /// Checks and decodes received bytes; nil (and a counter goes up) when they are dropped.
    ///
    /// Replays: a sender's incarnation is its start time, so a newer incarnation means a restart
    /// and resets its window, while an older one is a replay. Within an incarnation a sequence
    /// number is accepted once, only within 64 of the highest (reordering on one LAN is rare),
    /// and never at or below the first one heard: the sender's numbers count every datagram it
    /// sends to anyone, so a receiver that rarely hears from it directly has a window with many
    /// holes, and a broadcast sent before this receiver listened (a recorded join) would fill one.
    /// Windows are kept per claimed address and node id, which the MAC covers, never per UDP source,
    /// which anyone can forge: a recorded datagram replayed from a thousand sources is one replay.
    /// A datagram that claims no address is malformed (a view claims its own). `destination` is the
    /// packet's destination address (IP_PKTINFO), which the MAC covers; `now`, this receiver's clock
    /// in seconds since 1970, bounds incarnations (`futureSlack`).
    public mutating func open(
        _ bytes: [UInt8], from source: UInt32 = 0, to destination: UInt32 = 0, now: UInt32? = nil
    ) -> Datagram? {
        let body: Int
        switch Datagram.frame(bytes) {
        case .failure(let failure):
            count(failure)
            return nil
        case .success(let length): body = length
        }
        let message = Self.bound(bytes[0..<body], to: destination)
        let tag = bytes[body...]
        var usedPrevious = false
        if !HMACSHA256.equal(current.mac(message).prefix(Datagram.macSize), tag) {
            if let previous, HMACSHA256.equal(previous.mac(message).prefix(Datagram.macSize), tag) {
                usedPrevious = true
            } else if let next, HMACSHA256.equal(next.mac(message).prefix(Datagram.macSize), tag) {
                counters.acceptedNextKey += 1
            } else {
                counters.badMAC += 1
                return nil
            }
        }
        let datagram: Datagram
        switch Datagram.decode(bytes) {
        case .failure(let failure):
            count(failure)
            return nil
        case .success(let decoded): datagram = decoded
        }
        guard datagram.address != 0 else {
            counters.malformed += 1
            return nil
        }
        if let now, now >= Self.clockFloor, UInt64(datagram.incarnation) > UInt64(now) + UInt64(Self.futureSlack) {
            counters.future += 1
            return nil
        }
        guard accept(datagram) else {
            counters.replayed += 1
            return nil
        }
        counters.accepted += 1
        if usedPrevious { counters.acceptedPreviousKey += 1 }
        return datagram
    }

    private mutating func count(_ failure: Datagram.DecodeFailure) {
        switch failure {
        case .truncated: counters.truncated += 1
        case .oversized: counters.oversized += 1
        case .foreign: counters.foreign += 1
        case .malformed: counters.malformed += 1
        }
    }

    /// Updates the sender's window and whether it is proven fresh; false for a replay.
    private mutating func accept(_ datagram: Datagram) -> Bool {
        let sender = UInt64(datagram.address) << 16 | UInt64(datagram.sender)
        let sequence = datagram.sequence
        challenge = Self.challenge(secret: secret, sender: sender, incarnation: datagram.incarnation)
        // The answer to this receiver's challenge: sealed by the sender after the challenge went
        // out, whatever else it carries.
        let answers = datagram.round == Datagram.noRound && datagram.cycle == challenge
        guard var window = windows[sender] else {
            if windows.count >= Self.maxSenders { return false }
            windows[sender] = Window(
                incarnation: datagram.incarnation, highest: sequence, seen: 1, first: sequence, proven: answers)
            fresh = answers
            return true
        }
        if datagram.incarnation < window.incarnation { return false }
        if datagram.incarnation > window.incarnation {
            window = Window(incarnation: datagram.incarnation, highest: sequence, seen: 1, first: sequence, proven: false)
        } else if sequence <= window.first {
            return false
        } else if sequence > window.highest {
            let shift = sequence - window.highest
            window.seen = shift >= 64 ? 1 : window.seen << UInt64(shift) | 1
            window.highest = sequence
        } else {
            let behind = window.highest - sequence
            guard behind < 64, window.seen & (1 << UInt64(behind)) == 0 else { return false }
            window.seen |= 1 << UInt64(behind)
        }
        if answers { window.proven = true }
        fresh = window.proven
        windows[sender] = window
        return true
    }
}
