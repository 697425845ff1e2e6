import AgentSupport
import Testing

@testable import ClusterState

struct DatagramTests {
    static let key = [UInt8](0..<32)

    static var sample: Datagram {
        var load = NodeLoad()
        load.configuration = .configured
        load.mode = .auto
        load.mosix = true
        load.load100 = 152
        load.cpuPercent = 37
        load.memoryUsed255 = 128
        load.cpus = 4
        load.memoryTotalMiB = 3906
        load.uptimeMinutes = 61
        return Datagram(
            flags: .join, sender: 15, address: 0x0A00_000F, incarnation: 0x6500_0000, sequence: 7,
            cycle: 0x0102, round: 3 | Datagram.moreParts, entries: [Datagram.Entry(id: 15, age20: 0, load: load)])
    }

    /// The wire format (version 4), field by field; the MAC is HMAC-SHA256(key 00..1f, the
    /// destination 0.0.0.0 then bytes 0..<35), first 16 bytes, as Python's hmac module computes it.
    static let golden = bytes(
        hex: "6353" + "04" + "01" + "000f" + "0a00000f" + "65000000" + "00000007" + "0102" + "83" + "01"  // header: cycle 258, round 3 with more parts to come, 1 entry
            + "000f" + "00" + "61" + "0098" + "25" + "80" + "04" + "0f42" + "003d"  // entry: node 15, age 0, configured+auto+mosix+details, 1.52, 37 %, 128/255, 4 cpus, 3906 MiB, 61 min
            + "227226d33761b141ebb501303a02f45a")  // MAC

    /// The same with a second entry without details: node 7, age 1 s, configured, 0.42, 100 %, 16/255.
    static let goldenShort = bytes(
        hex: "6353" + "04" + "01" + "000f" + "0a00000f" + "65000000" + "00000007" + "0102" + "83" + "02"  // header, 2 entries
            + "000f" + "00" + "61" + "0098" + "25" + "80" + "04" + "0f42" + "003d"  // node 15 as above
            + "0007" + "14" + "01" + "002a" + "ff" + "10"  // node 7: 8 bytes, no details
            + "b89c7492366f82cfefda8661c139c6fe")  // MAC

    @Test func entriesWithoutDetailsAreEightBytes() throws {
        var datagram = Self.sample
        var load = NodeLoad()
        load.configuration = .configured
        load.load100 = 42
        load.memoryUsed255 = 16
        load.cpus = 8  // not sent
        datagram.entries.append(Datagram.Entry(id: 7, age20: 20, load: load, detailed: false))
        #expect(hex(Authenticator(key: Self.key).seal(datagram)) == hex(Self.goldenShort))
        var authenticator = Authenticator(key: Self.key)
        let result = authenticator.open(Self.goldenShort)
        let opened = try #require(result)
        #expect(opened == datagram)
        #expect(opened.entries[1].load.cpus == 0)
        #expect(opened.size == Self.goldenShort.count)
    }

    @Test func goldenBytes() {
        #expect(hex(Authenticator(key: Self.key).seal(Self.sample)) == hex(Self.golden))
    }

    /// The MAC covers where the datagram was sent: sealed for 10.0.0.15 (Python: HMAC over
    /// 0a00000f then the bytes), it opens there and fails anywhere else, a broadcast address too.
    @Test func theMACIsBoundToTheDestination() {
        let sealed = Authenticator(key: Self.key).seal(Self.sample, to: 0x0A00_000F)
        #expect(hex(Array(sealed.suffix(16))) == "fa103408f63d69473e9ff80e7b864b63")
        #expect(Array(sealed.dropLast(16)) == Array(Self.golden.dropLast(16)))
        var receiver = Authenticator(key: Self.key)
        #expect(receiver.open(sealed, to: 0x0A00_0010) == nil)
        #expect(receiver.open(sealed, to: 0x0A00_00FF) == nil)
        #expect(receiver.counters.badMAC == 2)
        #expect(receiver.open(sealed, to: 0x0A00_000F) == Self.sample)
    }

    @Test func decodesGoldenBytes() throws {
        var authenticator = Authenticator(key: Self.key)
        let opened = authenticator.open(Self.golden)
        let datagram = try #require(opened)
        #expect(datagram == Self.sample)
    }

    @Test(arguments: NodeMode.allCases)
    func roundTripsEveryModeAndState(mode: NodeMode) throws {
        for configuration in Configuration.allCases {
            var datagram = Self.sample
            datagram.flags = [.observer]
            datagram.entries[0].load.mode = mode
            datagram.entries[0].load.configuration = configuration
            datagram.entries[0].load.cpuPercent = nil
            datagram.entries.append(Datagram.Entry(id: 65535, age20: 255, load: NodeLoad()))
            datagram.entries.append(Datagram.Entry(id: 3, age20: 9, load: NodeLoad(), detailed: false))
            let bytes = datagram.encodedBody() + [UInt8](repeating: 0, count: 16)
            #expect(try Datagram.decode(bytes).get() == datagram)
        }
    }

    @Test func fullWindowFitsOneMTU() throws {
        var datagram = Self.sample
        datagram.entries = (1...200).map { Datagram.Entry(id: UInt16($0), age20: 1, load: NodeLoad()) }
        var sealed = Authenticator(key: Self.key).seal(datagram)
        #expect(sealed.count <= Datagram.maxSize)
        #expect(try Datagram.decode(sealed).get().entries.count == 110)
        datagram.entries = (1...200).map { Datagram.Entry(id: UInt16($0), age20: 1, load: NodeLoad(), detailed: false) }
        sealed = Authenticator(key: Self.key).seal(datagram)
        #expect(Datagram.maxEntries == 179)
        #expect(sealed.count <= Datagram.maxSize)
        #expect(try Datagram.decode(sealed).get().entries.count == Datagram.maxEntries)
    }

    /// A node with an engine makes the datagram version 5: state bit 7, then the engine byte (alloc with
    /// 3 job steps: 2 | 3 << 3 = 0x1a) before the details; without engines it stays version 4, byte for byte.
    @Test func anEngineMakesVersionFiveAndTravels() throws {
        var datagram = Self.sample
        datagram.entries[0].load.engine = .alloc
        datagram.entries[0].load.engineJobs = 3
        let body = datagram.encodedBody()
        #expect(body[2] == Datagram.engineVersion)
        #expect(hex(Array(body[22..<31])) == "000f" + "00" + "e1" + "0098" + "25" + "80" + "1a")
        #expect(datagram.size == Self.golden.count + 1)
        var authenticator = Authenticator(key: Self.key)
        let result = authenticator.open(Authenticator(key: Self.key).seal(datagram))
        let opened = try #require(result)
        #expect(opened == datagram)
        #expect(opened.entries[0].load.cpus == 4 && opened.entries[0].load.uptimeMinutes == 61)
        // 40 job steps saturate at 31; an entry without an engine in the same datagram has no byte.
        datagram.entries[0].load.engineJobs = 40
        var plain = NodeLoad()
        plain.configuration = .configured
        datagram.entries.append(Datagram.Entry(id: 7, age20: 20, load: plain, detailed: false))
        let decoded = try Datagram.decode(Authenticator(key: Self.key).seal(datagram)).get()
        #expect(decoded.entries[0].load.engineJobs == 31 && decoded.entries[1].load.engine == .none)
        #expect(Self.sample.encodedBody()[2] == Datagram.version)
        // Engine code 0 behind bit 7 is no engine at all: malformed.
        var zero = Authenticator(key: Self.key).seal(datagram)
        zero[30] = 0
        #expect(Datagram.decode(zero) == .failure(.malformed))
    }

    @Test func frameFailures() {
        let golden = Self.golden
        #expect(Datagram.frame([]) == .failure(.truncated))
        #expect(Datagram.frame(Array(golden.prefix(23))) == .failure(.truncated))
        #expect(Datagram.frame(Array(golden.dropLast())) == .failure(.truncated))
        #expect(Datagram.frame(golden + [0]) == .failure(.oversized))
        #expect(Datagram.frame([UInt8](repeating: 0x63, count: 1473)) == .failure(.oversized))
        var version = golden
        version[2] = 2
        #expect(Datagram.frame(version) == .failure(.foreign))
        var magic = golden
        magic[0] = 0x64
        #expect(Datagram.frame(magic) == .failure(.foreign))
        var state = golden
        state[25] = 0xE1  // reserved bit 7 with details
        #expect(Datagram.decode(state) == .failure(.malformed))
        state[25] = 0x80  // reserved bit 7 without details: the entry is 5 bytes shorter than the datagram
        #expect(Datagram.decode(state) == .failure(.oversized))
        state[25] = 0xE1
        #expect(Datagram.decode(state) == .failure(.malformed))
        var round = golden
        round[20] = 0x43  // reserved bit 6 of the round byte
        #expect(Datagram.decode(round) == .failure(.malformed))
        round[20] = Datagram.noRound
        #expect((try? Datagram.decode(round).get())?.round == Datagram.noRound)
        var flags = golden
        flags[3] = 0x10  // an undefined flag
        #expect(Datagram.decode(flags) == .failure(.malformed))
    }
}
