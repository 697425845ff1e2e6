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
            entries: [Datagram.Entry(id: 15, age20: 0, load: load)])
    }

    /// The wire format, field by field; the MAC is HMAC-SHA256(key 00..1f, bytes 0..<32), first
    /// 16 bytes, as Python's hmac module computes it.
    static let golden = bytes(
        hex: "6353" + "01" + "01" + "000f" + "0a00000f" + "65000000" + "00000007" + "01"  // header
            + "000f" + "00" + "21" + "0098" + "25" + "80" + "04" + "0f42" + "003d"  // entry: node 15, age 0, configured+auto+mosix, 1.52, 37 %, 128/255, 4 cpus, 3906 MiB, 61 min
            + "b9801699e18fe3d2b565158c0fe493d6")  // MAC

    @Test func goldenBytes() {
        #expect(hex(Authenticator(key: Self.key).seal(Self.sample)) == hex(Self.golden))
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
            let bytes = datagram.encodedBody() + [UInt8](repeating: 0, count: 16)
            #expect(try Datagram.decode(bytes).get() == datagram)
        }
    }

    @Test func fullWindowFitsOneMTU() throws {
        var datagram = Self.sample
        datagram.entries = (1...200).map { Datagram.Entry(id: UInt16($0), age20: 1, load: NodeLoad()) }
        let sealed = Authenticator(key: Self.key).seal(datagram)
        #expect(Datagram.maxEntries == 110)
        #expect(sealed.count <= Datagram.maxSize)
        #expect(try Datagram.decode(sealed).get().entries.count == Datagram.maxEntries)
    }

    @Test func frameFailures() {
        let golden = Self.golden
        #expect(Datagram.frame([]) == .failure(.truncated))
        #expect(Datagram.frame(Array(golden.prefix(20))) == .failure(.truncated))
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
        state[22] = 0x80
        #expect(Datagram.decode(state) == .failure(.malformed))
    }
}
