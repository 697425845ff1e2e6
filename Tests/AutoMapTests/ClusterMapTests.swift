import AutoMap
import Testing

struct ClusterMapParserTests {
    /// The HOWTO 5.4.2 examples, verbatim apart from the comment.
    static let howtoNames = """
        1       node1   1
        2       node2   1
        3       node3   1
        4       node4   1
        """
    static let howtoAlias = """
        # HOWTO 5.4.2: node 4 has two network interfaces
        1       192.168.1.1     1
        2       192.168.1.2     1
        3       192.168.1.3     1
        4       192.168.1.4     1
        4       192.168.10.10   ALIAS
        """

    @Test func readsHowtoExamples() throws {
        let names = try ClusterMap(parsing: Self.howtoNames, file: "hpc.map")
        #expect(names.lines.map(\.description) == ["1 node1 1", "2 node2 1", "3 node3 1", "4 node4 1"])
        let alias = try ClusterMap(parsing: Self.howtoAlias, file: "hpc.map")
        #expect(alias.lines.last == .alias(id: 4, address: ip("192.168.10.10")))
        #expect(alias.nodeID(for: ip("192.168.10.10")) == 4)
        #expect(alias.nodeID(for: ip("192.168.1.3")) == 3)
        #expect(alias.nodeID(for: ip("192.168.1.5")) == nil)
        let ranged = try ClusterMap(parsing: "1       192.168.1.1     4", file: "hpc.map")
        #expect(ranged.expand() == alias.expand().filter { !$0.isAlias })
    }

    @Test(arguments: [
        ("1 10.0.2.1 254", 254),
        (ClusterMapParserTests.howtoAlias, 5),
        (ClusterMapParserTests.howtoNames, 4),
        ("1 10.0.2.1 255\n256 10.0.3.0 255", 510),
        ("1 10.0.2.1 254 # one class C\n\n   # nothing\n300 10.0.3.0 256\n15 10.9.0.1 alias", 511),
        ("1\t10.0.2.1\t254\r\n255\t10.0.3.255\t1\r\n", 255),
    ])
    func expandCounts(text: String, count: Int) throws {
        #expect(try ClusterMap(parsing: text, file: "hpc.map").expand().count == count)
    }

    @Test func expandListsEveryPair() throws {
        let map = try ClusterMap(parsing: "1 10.0.2.1 3\n9 node9 1\n2 10.0.9.9 ALIAS", file: "hpc.map")
        #expect(
            map.expand() == [
                .init(id: 1, host: .address(ip("10.0.2.1"))),
                .init(id: 2, host: .address(ip("10.0.2.2"))),
                .init(id: 3, host: .address(ip("10.0.2.3"))),
                .init(id: 9, host: .hostname("node9")),
                .init(id: 2, host: .address(ip("10.0.9.9")), isAlias: true),
            ])
        #expect(map.nodeID(for: ip("10.0.9.9")) == 2)
        #expect(map.nodeID(for: ip("10.0.2.3")) == 3)
        #expect(map.nodeID(for: ip("10.0.2.4")) == nil)
    }

    static let lines257 = (0...256).map { "\($0 + 1) 10.0.\($0).1 1" }.joined(separator: "\n")
    static let lines256 = (0...255).map { "\($0 + 1) 10.0.\($0).1 1" }.joined(separator: "\n")

    @Test func acceptsExactly256Lines() throws {
        #expect(
            try ClusterMap(parsing: Self.lines256 + "\n# comment lines do not count\n", file: "hpc.map").lines.count
                == 256)
    }

    static let idHint = "hint: openMosix numbers nodes from 1 to 65535"
    static let lineHint = "hint: a map line is: node-id address range-size (HOWTO 5.4.2), e.g. 1 192.168.1.1 254"
    static let addressHint = "hint: write four decimal numbers 0-255 separated by dots, like 192.168.1.1"

    @Test(arguments: [
        ("0 10.0.2.1 1", "hpc.map:1:1: node id 0 is outside 1-65535; \(idHint)"),
        ("65536 10.0.2.1 1", "hpc.map:1:1: node id 65536 is outside 1-65535; \(idHint)"),
        ("99999999999 10.0.2.1 1", "hpc.map:1:1: node id 99999999999 is outside 1-65535; \(idHint)"),
        ("x1 10.0.2.1 1", "hpc.map:1:1: bad node id 'x1': expected a decimal number; \(idHint)"),
        ("-1 10.0.2.1 1", "hpc.map:1:1: bad node id '-1': expected a decimal number; \(idHint)"),
        (
            "# header\n1  10.0.2.300 1",
            "hpc.map:2:4: bad address '10.0.2.300': number 4 is 300, more than 255; \(addressHint)"
        ),
        (
            "1 10.0.2.01 1",
            "hpc.map:1:3: bad address '10.0.2.01': number 4 '01' has a leading zero "
                + "(inet_aton reads it as octal); \(addressHint)"
        ),
        (
            "1 10.0.2 1",
            "hpc.map:1:3: bad address '10.0.2': expected 4 numbers separated by dots, found 3 parts; \(addressHint)"
        ),
        ("1 1.2.3.x 1", "hpc.map:1:3: bad address '1.2.3.x': number 4 'x' is not decimal; \(addressHint)"),
        (
            "1 node_1 1",
            "hpc.map:1:3: 'node_1' is neither an IPv4 address nor a valid host name; "
                + "hint: host names are letters, digits and '-' in dot-separated labels (RFC 1123)"
        ),
        (
            "1 10.0.2.1 -3",
            "hpc.map:1:12: range size -3 is negative; "
                + "hint: use 1 for a single node, or ALIAS (or 0, as the HOWTO allows) for another address of a node"
        ),
        (
            "1 10.0.2.1 many",
            "hpc.map:1:12: bad range size 'many': expected a number or ALIAS; "
                + "hint: the third field counts nodes (1 for one node) or is ALIAS for another address of a node"
        ),
        (
            "1 10.0.2.10 247",
            "hpc.map:1:13: range of 247 from 10.0.2.10 counts past 10.0.2.255; "
                + "hint: openMosix counts up only the last byte of the address; split the range at .255"
        ),
        (
            "1 10.0.2.0 257",
            "hpc.map:1:12: range of 257 from 10.0.2.0 counts past 10.0.2.255; "
                + "hint: openMosix counts up only the last byte of the address; split the range at .255"
        ),
        (
            "65530 10.0.2.1 10",
            "hpc.map:1:16: range of 10 from node id 65530 counts past node id 65535; "
                + "hint: make the range shorter so its last node id is at most 65535"
        ),
        (
            "1 node1 4",
            "hpc.map:1:9: host name node1 with range size 4; "
                + "hint: a range size above 1 needs an IP address (HOWTO 5.4.2); list named nodes one per line"
        ),
        (
            "1 10.0.2.1 10\n5 10.0.3.1 2",
            "hpc.map:2:1: node ids 5-6 overlap line 1 (node ids 1-10); "
                + "hint: every node id may appear in one range line only"
        ),
        (
            "1 10.0.2.1 10\n\n# x\n10 10.0.3.1 1",
            "hpc.map:4:1: node ids 10 overlap line 1 (node ids 1-10); "
                + "hint: every node id may appear in one range line only"
        ),
        (
            "1 10.0.2.1 10\n20 10.0.2.5 1",
            "hpc.map:2:4: addresses 10.0.2.5 overlap line 1 (10.0.2.1-10.0.2.10); "
                + "hint: every address may belong to one node only"
        ),
        (
            "1 10.0.2.5 10\n20 10.0.2.1 6",
            "hpc.map:2:4: addresses 10.0.2.1-10.0.2.6 overlap line 1 (10.0.2.5-10.0.2.14); "
                + "hint: every address may belong to one node only"
        ),
        (
            "1 10.0.2.1 4\n2 10.0.2.4 ALIAS",
            "hpc.map:2:3: addresses 10.0.2.4 overlap line 1 (10.0.2.1-10.0.2.4); "
                + "hint: every address may belong to one node only"
        ),
        (
            "2 node2 1\n3 NODE2 1",
            "hpc.map:2:3: addresses NODE2 overlap line 1 (node2); "
                + "hint: every address may belong to one node only"
        ),
        (
            "1 10.0.2.1 4\n9 10.0.3.1 ALIAS",
            "hpc.map:2:1: ALIAS for node 9, which no range line defines; "
                + "hint: ALIAS adds an address to a node that a range line already defines"
        ),
        ("1 10.0.2.1", "hpc.map:1:11: missing range size; \(lineHint)"),
        ("  1", "hpc.map:1:4: missing address or host name; \(lineHint)"),
        (
            "1 10.0.2.1 1 extra",
            "hpc.map:1:14: unexpected fourth field 'extra'; "
                + "hint: a map line has three fields; start comments with #"
        ),
        (
            "\t1\t10.0.2.1\t-2",
            "hpc.map:1:13: range size -2 is negative; "
                + "hint: use 1 for a single node, or ALIAS (or 0, as the HOWTO allows) for another address of a node"
        ),
        (
            "1 10.0.2.1 254\r\n300 10.0.3.1 -2\r\n",
            "hpc.map:2:14: range size -2 is negative; "
                + "hint: use 1 for a single node, or ALIAS (or 0, as the HOWTO allows) for another address of a node"
        ),
        (
            ClusterMapParserTests.lines257,
            "hpc.map:257:1: more than 256 map lines; "
                + "hint: merge consecutive addresses into ranges"
        ),
    ])
    func rejects(text: String, message: String) {
        let error = autoMapError { _ = try ClusterMap(parsing: text, file: "hpc.map") }
        #expect(error?.description == message)
    }

    @Test func errorsCarryTheirPlace() {
        let error = autoMapError { _ = try ClusterMap(parsing: "1 10.0.2.1 1\n2 10.0.2.2 -1", file: "/etc/mosix.map") }
        #expect(error?.file == "/etc/mosix.map")
        #expect(error?.line == 2)
        #expect(error?.column == 12)
        #expect(error?.kind == .rangeSizeTooSmall("-1"))
    }

    /// HOWTO 5.4.2: ALIAS "is equal to set the range-size to 0".
    @Test func zeroRangeIsAlias() throws {
        let map = try ClusterMap(parsing: "1 192.168.1.1 4\n4 192.168.10.10 0\n", file: "hpc.map")
        #expect(map.aliasLines.count == 1)
        #expect(map.nodeID(for: ip("192.168.10.10")) == 4)
    }

    @Test func codeBuiltMapsAreCheckedToo() {
        let error = autoMapError {
            _ = try ClusterMap(lines: [
                .init(id: 1, address: ip("10.0.2.1"), count: 254),
                .init(id: 100, address: ip("10.0.3.1"), count: 1),
            ])
        }
        #expect(
            error?.description
                == "map line 2: node ids 100 overlap line 1 (node ids 1-254); "
                + "hint: every node id may appear in one range line only")
        #expect(
            autoMapError { _ = try ClusterMap(lines: [.init(id: 1, host: .hostname("a b"), size: .range(1))]) }?.kind
                == .badHostname("a b"))
    }
}

struct ClusterMapWriterTests {
    @Test func rendersAlignedCanonicalColumns() throws {
        let map = try ClusterMap(lines: [
            .alias(id: 15, address: ip("10.0.9.15")),
            .init(id: 256, address: ip("10.0.3.0"), count: 255),
            .alias(id: 15, address: ip("10.0.4.15")),
            .init(id: 1, address: ip("10.0.2.1"), count: 255),
        ])
        #expect(
            map.rendered(header: ["derived by clump", ""]) == """
                # derived by clump
                #
                1    10.0.2.1   255
                256  10.0.3.0   255
                15   10.0.4.15  ALIAS
                15   10.0.9.15  ALIAS

                """)
        let reread = try ClusterMap(parsing: map.rendered(header: ["x"]), file: "hpc.map")
        #expect(reread == map.canonical)
        #expect(reread != map)
    }

    @Test(arguments: [
        "1 10.0.2.1 254",
        ClusterMapParserTests.howtoAlias,
        ClusterMapParserTests.howtoNames,
        "7 a.example 1\n1 10.0.2.1 5\n3 10.0.7.7 alias\n6 b 1",
        ClusterMapParserTests.lines256,
    ])
    func roundTrips(text: String) throws {
        let map = try ClusterMap(parsing: text, file: "in.map")
        let written = map.rendered(header: ["round trip"])
        let reread = try ClusterMap(parsing: written, file: "out.map")
        #expect(reread == map.canonical)
        #expect(reread.rendered(header: ["round trip"]) == written)
        #expect(Set(reread.expand()) == Set(map.expand()))
    }

    @Test func emptyMapRendersHeaderOnly() throws {
        #expect(try ClusterMap(lines: []).rendered(header: ["empty"]) == "# empty\n")
    }
}
