import AgentSupport

/// One announcement as it travels over UDP (port 7077), version 4. All numbers are big-endian.
///
/// ```
/// offset size  field
///  0     2     magic "cS" (0x63 0x53)
///  2     1     version (4)
///  3     1     flags: bit 0 join (a newcomer asks for the table), bit 1 observer, bit 2 probe (answer
///              with your own entry), bit 3 repair (resend round `round` of cycle `cycle`), others 0
///  4     2     sender node id (0: an observer without a node id)
///  6     4     sender IPv4 address
/// 10     4     sender incarnation (its start time, seconds since 1970: grows across restarts)
/// 14     4     sequence number within the incarnation (1, 2, ...)
/// 18     2     all-gather cycle number (wraps); outside a round (round 0xff), a challenge: a probe
///              carries the receiver's challenge, the answer echoes it (`Authenticator`), 0 none
/// 20     1     round: bits 0-4 the all-gather round (0-31), bit 7 more parts of the round follow,
///              bits 5-6 zero; 0xff: not a round's datagram
/// 21     1     entry count n (0...179)
/// 22     ...   n entries of 8 or 13 bytes (below)
/// end    16    HMAC-SHA256 with the cluster key of the IPv4 destination address (4 bytes, as
///              sent: a node's address, or the broadcast address) followed by every byte before
///              the MAC; its first 16 bytes. The destination is not sent: the receiver takes it
///              from the packet (IP_PKTINFO), so a datagram cannot be replayed to another node.
///
/// entry: 0 id(2) | 2 age in 1/20 s, 255 = 12.75 s or more (1) | 3 state (1): bits 0-2 configuration,
///        bits 3-4 mode, bit 5 mosix, bit 6 details follow | 4 load x100 (2) | 6 cpu % or 255 unknown (1)
///        | 7 memory used in 255ths (1) | details: 8 cpus (1) | 9 memory total MiB (2) | 11 uptime minutes (2)
/// ```
///
/// Entries carry no address: the cluster map says where node N lives, and the sender's own
/// address is in the header. Entries carry an age instead of a timestamp, so nodes need no
/// common clock (MOSIX gossip does the same): a receiver keeps whichever copy is youngest.
///
/// The details are optional: CPU count, memory size and uptime change rarely, so an entry carries
/// them one cycle in eight. Every node needs every other node's record once per cycle, so the
/// record size bounds traffic from below (256 nodes x 13 bytes = 3.3 KB a cycle; 8.6 bytes on
/// average make it 2.2 KB). Version 3 adds the cycle and round of the all-gather (`Membership`);
/// version 4 binds the MAC to the destination.
///
/// Version 5 is version 4 with an engine byte: a datagram with any entry from a node that runs an
/// engine (Slurm) is sent as version 5, where state bit 7 says that entry's engine byte follows its
/// 8 bytes (before the details): bits 0-2 the engine state (`EngineCode`), bits 3-7 job steps
/// running (saturating at 31). A cluster without engines sends version 4 as before, so older
/// nodes keep reading it; nodes that predate version 5 drop version 5 datagrams as foreign.
public struct Datagram: Equatable, Sendable {
    public static let magic: [UInt8] = [0x63, 0x53]
    public static let version: UInt8 = 4
    /// The version whose entries may carry an engine byte.
    public static let engineVersion: UInt8 = 5
    /// What the engine byte adds to an entry.
    public static let engineSize = 1
    public static let headerSize = 22
    /// An entry without details.
    public static let entrySize = 8
    /// What the details (cpus, memory total, uptime) add.
    public static let detailsSize = 5
    public static let macSize = 16
    /// The largest UDP payload that fits a 1500-byte Ethernet frame without fragments.
    public static let maxSize = 1472
    /// How many entries without details fit in `maxSize`.
    public static let maxEntries = (maxSize - headerSize - macSize) / entrySize
    /// The room for entries in one datagram.
    public static let maxEntryBytes = maxSize - headerSize - macSize

    /// Flags in the header.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// A newcomer's broadcast: please send me the table.
        public static let join = Flags(rawValue: 1)
        /// The sender is a view, not a compute node.
        public static let observer = Flags(rawValue: 2)
        /// Are you alive? The receiver answers with its own entry (failure detection).
        public static let probe = Flags(rawValue: 4)
        /// A round's datagram did not arrive: please send round `round` of cycle `cycle` again.
        public static let repair = Flags(rawValue: 8)
        static let all: Flags = [.join, .observer, .probe, .repair]
    }

    /// The `round` byte of a datagram that belongs to no round.
    public static let noRound: UInt8 = 0xFF
    /// Set in `round` when more datagrams of the same round follow.
    public static let moreParts: UInt8 = 0x80

    /// One node's state as the sender knows it.
    public struct Entry: Equatable, Sendable {
        public var id: UInt16
        /// Age of the information in 1/20 s when sent, saturating at 255.
        public var age20: UInt8
        public var load: NodeLoad
        /// Whether cpus, memory total and uptime travel too; without them they decode as 0.
        public var detailed: Bool

        public init(id: UInt16, age20: UInt8, load: NodeLoad, detailed: Bool = true) {
            self.id = id
            self.age20 = age20
            self.detailed = detailed
            self.load = load
            if !detailed {
                self.load.cpus = 0
                self.load.memoryTotalMiB = 0
                self.load.uptimeMinutes = 0
            }
        }

        /// Bytes on the wire.
        public var size: Int {
            entrySize + (detailed ? detailsSize : 0) + (load.engine != .none ? engineSize : 0)
        }
    }

    /// Bytes of the sealed datagram.
    public var size: Int { Self.headerSize + entries.reduce(0) { $0 + $1.size } + Self.macSize }

    public var flags: Flags = []
    public var sender: UInt16 = 0
    public var address: UInt32 = 0
    public var incarnation: UInt32 = 0
    public var sequence: UInt32 = 0
    public var cycle: UInt16 = 0
    /// The all-gather round (0...31, `moreParts` set when more of it follow) or `noRound`.
    public var round: UInt8 = Datagram.noRound
    public var entries: [Entry] = []

    public init(
        flags: Flags = [], sender: UInt16, address: UInt32, incarnation: UInt32, sequence: UInt32 = 0,
        cycle: UInt16 = 0, round: UInt8 = Datagram.noRound, entries: [Entry] = []
    ) {
        self.cycle = cycle
        self.round = round
        self.flags = flags
        self.sender = sender
        self.address = address
        self.incarnation = incarnation
        self.sequence = sequence
        self.entries = entries
    }

    /// The bytes before the MAC. Only the entries that fit in `maxSize` are written.
    public func encodedBody() -> [UInt8] {
        var count = 0
        var room = Self.maxEntryBytes
        while count < entries.count && count < 255 && entries[count].size <= room {
            room -= entries[count].size
            count += 1
        }
        var out = Self.magic
        out.reserveCapacity(Self.maxSize - room)
        let engines = entries.prefix(count).contains { $0.load.engine != .none }
        out.append(engines ? Self.engineVersion : Self.version)
        out.append(flags.rawValue)
        out.put16(sender)
        out.put32(address)
        out.put32(incarnation)
        out.put32(sequence)
        out.put16(cycle)
        out.append(round)
        out.append(UInt8(count))
        for entry in entries.prefix(count) {
            let load = entry.load
            out.put16(entry.id)
            out.append(entry.age20)
            out.append(
                load.configuration.rawValue | load.mode.rawValue << 3 | (load.mosix ? 0x20 : 0)
                    | (entry.detailed ? 0x40 : 0) | (load.engine != .none ? 0x80 : 0))
            out.put16(load.load100)
            out.append(load.cpuPercent ?? 255)
            out.append(load.memoryUsed255)
            if load.engine != .none { out.append(load.engine.rawValue | min(load.engineJobs, 31) << 3) }
            if entry.detailed {
                out.append(load.cpus)
                out.put16(load.memoryTotalMiB)
                out.put16(load.uptimeMinutes)
            }
        }
        return out
    }

    /// Why bytes are not a datagram; the authenticator counts each.
    public enum DecodeFailure: Error, Equatable, Sendable {
        /// Shorter than a header and a MAC, or than its entry count says.
        case truncated
        /// Longer than one MTU or than its entry count says.
        case oversized
        /// Not our magic, or another version of the format.
        case foreign
        /// Reserved bits set, a mode or configuration value this version does not define.
        case malformed
    }

    /// Checks the frame around the entries: magic, version, length against the count.
    /// Returns the body length (where the MAC starts). Never reads out of bounds.
    public static func frame(_ bytes: [UInt8]) -> Result<Int, DecodeFailure> {
        if bytes.count > maxSize { return .failure(.oversized) }
        if bytes.count < 3 { return .failure(.truncated) }
        if bytes[0] != magic[0] || bytes[1] != magic[1] || (bytes[2] != version && bytes[2] != engineVersion) {
            return .failure(.foreign)
        }
        let engines = bytes[2] == engineVersion
        if bytes.count < headerSize + macSize { return .failure(.truncated) }
        // Entry lengths depend on each state byte's details bit: walk them, never past the end.
        var body = headerSize
        for _ in 0..<Int(bytes[headerSize - 1]) {
            if bytes.count < body + entrySize + macSize { return .failure(.truncated) }
            let state = bytes[body + 3]
            body += entrySize + (state & 0x40 != 0 ? detailsSize : 0) + (engines && state & 0x80 != 0 ? engineSize : 0)
        }
        if bytes.count < body + macSize { return .failure(.truncated) }
        if bytes.count > body + macSize { return .failure(.oversized) }
        return .success(body)
    }

    /// Decodes a framed body (the MAC already checked). Never traps on any input.
    public static func decode(_ bytes: [UInt8]) -> Result<Datagram, DecodeFailure> {
        let body: Int
        switch frame(bytes) {
        case .failure(let failure): return .failure(failure)
        case .success(let length): body = length
        }
        let round = bytes[20]
        guard bytes[3] & ~Flags.all.rawValue == 0, round == noRound || round & 0x60 == 0 else {
            return .failure(.malformed)
        }
        var datagram = Datagram(
            flags: Flags(rawValue: bytes[3]), sender: bytes.get16(4), address: bytes.get32(6),
            incarnation: bytes.get32(10), sequence: bytes.get32(14), cycle: bytes.get16(18), round: round)
        datagram.entries.reserveCapacity(Int(bytes[headerSize - 1]))
        let engines = bytes[2] == engineVersion
        var offset = headerSize
        while offset < body {
            let state = bytes[offset + 3]
            guard engines || state & 0x80 == 0, let configuration = Configuration(rawValue: state & 0x07),
                let mode = NodeMode(rawValue: (state >> 3) & 0x03)
            else { return .failure(.malformed) }
            var load = NodeLoad()
            load.configuration = configuration
            load.mode = mode
            load.mosix = state & 0x20 != 0
            load.load100 = bytes.get16(offset + 4)
            let cpu = bytes[offset + 6]
            load.cpuPercent = cpu == 255 ? nil : min(cpu, 100)
            load.memoryUsed255 = bytes[offset + 7]
            var next = offset + entrySize
            if engines && state & 0x80 != 0 {
                guard let code = EngineCode(rawValue: bytes[next] & 0x07), code != .none else {
                    return .failure(.malformed)
                }
                load.engine = code
                load.engineJobs = bytes[next] >> 3
                next += engineSize
            }
            let detailed = state & 0x40 != 0
            if detailed {
                load.cpus = bytes[next]
                load.memoryTotalMiB = bytes.get16(next + 1)
                load.uptimeMinutes = bytes.get16(next + 3)
                next += detailsSize
            }
            datagram.entries.append(
                Entry(id: bytes.get16(offset), age20: bytes[offset + 2], load: load, detailed: detailed))
            offset = next
        }
        return .success(datagram)
    }
}

extension [UInt8] {
    @inline(__always) mutating func put16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }
    @inline(__always) mutating func put32(_ value: UInt32) {
        put16(UInt16(value >> 16))
        put16(UInt16(truncatingIfNeeded: value))
    }
    @inline(__always) func get16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
    @inline(__always) func get32(_ offset: Int) -> UInt32 {
        UInt32(get16(offset)) << 16 | UInt32(get16(offset + 2))
    }
}
