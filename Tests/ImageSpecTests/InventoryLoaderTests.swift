import AutoMap
import Testing

@testable import ImageSpec

@Suite struct InventoryLoaderTests {
    static func cluster(_ network: String? = "10.0.2.0/24") -> Spec.Cluster {
        var cluster = Spec.Cluster()
        cluster.network = network.flatMap { try? IPv4Network(parsing: $0) }
        return cluster
    }

    @Test func addressesAndNamesFollowTheClumpRule() throws {
        let yaml = """
            - mac: 52:54:00:12:34:56
            - {mac: "52:54:00:12:34:57", address: 10.0.2.20, name: render, kernel-args: [clump.debug=1]}
            - mac: [52:54:00:aa:00:01, 52-54-00-AA-00-02]
              boot: drone
            """
        let inventory = try InventoryLoader.parse(yaml: yaml, file: "nodes.yaml", cluster: Self.cluster())
        #expect(inventory.nodes.map(\.name) == ["node2", "render", "node3"])
        #expect(inventory.nodes.map(\.address.description) == ["10.0.2.2", "10.0.2.20", "10.0.2.3"])
        #expect(inventory.nodes.map(\.number) == [2, 20, 3])
        #expect(inventory.nodes[1].kernelArgs == ["clump.debug=1"])
        #expect(inventory.nodes[2].macs.map(\.description) == ["52:54:00:aa:00:01", "52:54:00:aa:00:02"])
        #expect(inventory.nodes[2].macs[1].hyphenated == "52-54-00-aa-00-02")
        #expect(inventory.nextFreeAddress(in: Self.cluster())?.description == "10.0.2.4")
    }

    @Test func anNFSRootNodeMayHaveItsOwnRoot() throws {
        let yaml = """
            - {mac: 52:54:00:12:34:56, boot: nfsroot}
            - mac: 52:54:00:12:34:57
              boot: nfsroot
              root: /srv/roots/bookworm
            """
        let inventory = try InventoryLoader.parse(yaml: yaml, file: "nodes.yaml", cluster: Self.cluster())
        #expect(inventory.nodes.map(\.boot) == [.nfsroot, .nfsroot])
        #expect(inventory.nodes.map(\.root) == [nil, "/srv/roots/bookworm"])
    }

    @Test func aNodeMayBeBoundToItsTPMAndTheEnrolmentLineKeepsIt() throws {
        let fingerprint = "sha256:" + String(repeating: "ab", count: 32)
        let mac = try #require(MACAddress(parsing: "52:54:00:12:34:58"))
        let line = Inventory.enrolmentLine(mac: mac, address: IPv4Address(10, 0, 2, 30), tpm: fingerprint)
        let yaml = line + "\n- mac: 52:54:00:12:34:59\n  tpm: SHA256:" + String(repeating: "CD", count: 32) + "\n"
        for fastPath in [true, false] {
            let inventory = try InventoryLoader.parse(yaml: yaml, file: "n", cluster: Self.cluster(), spec: nil, fastPath: fastPath)
            #expect(inventory.nodes.map(\.tpm) == [fingerprint, "sha256:" + String(repeating: "cd", count: 32)])
            #expect(inventory.node(withTPM: fingerprint)?.name == "node30")
        }
        #expect(InventoryFastPath.entries(yaml) != nil, "the everyday form stays on the fast path")
        #expect(Inventory.tpmFingerprint("sha256:abc") == nil)
        #expect(Inventory.tpmFingerprint("md5:" + String(repeating: "ab", count: 32)) == nil)
    }

    @Test func anEmptyOrMissingInventoryHasNoNodes() throws {
        #expect(try InventoryLoader.parse(yaml: "", file: "n", cluster: Self.cluster(nil)).nodes.isEmpty)
        #expect(try InventoryLoader.parse(yaml: "# nothing yet\n", file: "n", cluster: Self.cluster()).nodes.isEmpty)
    }

    @Test func anEnrolmentLineParsesBackToTheSameNode() throws {
        let mac = try #require(MACAddress(parsing: "02:00:00:00:00:0a"))
        let line = Inventory.enrolmentLine(mac: mac, address: IPv4Address(10, 0, 2, 9))
        let inventory = try InventoryLoader.parse(yaml: line + "\n", file: "n", cluster: Self.cluster())
        #expect(inventory.nodes.first?.macs == [mac])
        #expect(inventory.nodes.first?.address.description == "10.0.2.9")
        #expect(inventory.nodes.first?.name == "node9")
        // As serve --enrol writes it, with the time: the same node, through either reader.
        let stamped = line + "  # enrolled by clumpbuild serve 2026-12-07T03:50:00Z\n"
        for text in [stamped, stamped + line.replacingOccurrences(of: "0a", with: "0b").replacingOccurrences(of: ".9}", with: ".10}") + "\n"] {
            let again = try InventoryLoader.parse(yaml: text, file: "n", cluster: Self.cluster())
            #expect(again.nodes.first?.macs == [mac] && again.nodes.first?.address.description == "10.0.2.9")
        }
    }

    @Test func aMACParsesInEitherFormAndCaseAndPrintsInBoth() throws {
        let mac = try #require(MACAddress(parsing: "52-54-00-AB-cd-EF"))
        #expect(mac.value == 0x5254_00ab_cdef)
        #expect(mac.bytes == [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef])
        #expect(mac.description == "52:54:00:ab:cd:ef")
        #expect(mac.hyphenated == "52-54-00-ab-cd-ef")
        #expect(MACAddress(parsing: "52:54:00:ab:cd:ef") == mac)
        #expect(MACAddress(bytes: mac.bytes) == mac)
        #expect(MACAddress(bytes: [1, 2, 3]) == nil)
        for bad in ["52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52:54-00:ab:cd:ef", "52:54:00:ab:cd:eg", "5:54:00:ab:cd:eff",
            "52 54 00 ab cd ef", "", "５2:54:00:ab:cd:ef"] {
            #expect(MACAddress(parsing: bad) == nil, "\(bad)")
        }
        #expect(try #require(MACAddress(parsing: "01:00:5e:00:00:01")).isMulticast)
        #expect(!mac.isMulticast)
        #expect(try #require(MACAddress(parsing: "52:54:00:ab:cd:f0")) > mac)
        #expect(try #require(MACAddress(parsing: "53:00:00:00:00:00")) > mac)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let at: String
        let keyPath: String
        let message: String
        var testDescription: String { name }
    }

    @Test(arguments: [
        Bad(name: "duplicate MAC", yaml: "- mac: 52:54:00:00:00:01\n- mac: 52:54:00:00:00:01\n", at: "2:8", keyPath: "[1].mac", message: "listed twice"),
        Bad(name: "bad MAC", yaml: "- mac: 52:54:00:00:01\n", at: "1:8", keyPath: "[0].mac", message: "is not a MAC address"),
        Bad(name: "multicast MAC", yaml: "- mac: 01:00:5e:00:00:01\n", at: "1:8", keyPath: "[0].mac", message: "multicast"),
        Bad(name: "outside network", yaml: "- {mac: 52:54:00:00:00:01, address: 10.0.3.5}\n", at: "1:37", keyPath: "[0].address", message: "outside the cluster network 10.0.2.0/24"),
        Bad(name: "in the DHCP range", yaml: "- {mac: 52:54:00:00:00:01, address: 10.0.2.200}\n", at: "1:37", keyPath: "[0].address", message: "inside the DHCP range"),
        Bad(name: "the master's address", yaml: "- {mac: 52:54:00:00:00:01, address: 10.0.2.1}\n", at: "1:37", keyPath: "[0].address", message: "master's address"),
        Bad(name: "duplicate address", yaml: "- {mac: 52:54:00:00:00:01, address: 10.0.2.5}\n- {mac: 52:54:00:00:00:02, address: 10.0.2.5}\n", at: "2:37", keyPath: "[1].address", message: "already belongs to [0]"),
        Bad(name: "unknown key", yaml: "- mac: 52:54:00:00:00:01\n  adress: 10.0.2.5\n", at: "2:3", keyPath: "[0].adress", message: "unknown key"),
        Bad(name: "two nodes with one name", yaml: "- {mac: 52:54:00:00:00:01, name: a}\n- {mac: 52:54:00:00:00:02, name: a}\n", at: "2:34", keyPath: "[1].name", message: "the name a already belongs"),
        Bad(name: "a name that clashes with a default", yaml: "- {mac: 52:54:00:00:00:01, name: node3}\n- {mac: 52:54:00:00:00:02}\n- {mac: 52:54:00:00:00:03}\n", at: "2:9", keyPath: "[1].name", message: "default name"),
        Bad(name: "no mac", yaml: "- {name: a}\n", at: "1:3", keyPath: "[0]", message: "needs a mac"),
        Bad(name: "bad boot kind", yaml: "- {mac: 52:54:00:00:00:01, boot: disk}\n", at: "1:34", keyPath: "[0].boot", message: "disk"),
        Bad(name: "root on a drone", yaml: "- {mac: 52:54:00:00:00:01, root: /srv/other}\n", at: "1:34", keyPath: "[0].root", message: "`root` is for NFS-root nodes"),
        Bad(name: "relative root", yaml: "- {mac: 52:54:00:00:00:01, boot: nfsroot, root: srv/other}\n", at: "1:49", keyPath: "[0].root", message: "not an absolute directory"),
        Bad(name: "bad TPM fingerprint", yaml: "- {mac: 52:54:00:00:00:01, tpm: \"sha256:1234\"}\n", at: "1:33", keyPath: "[0].tpm", message: "is not a TPM fingerprint"),
        Bad(name: "one TPM twice", yaml: "- {mac: 52:54:00:00:00:01, tpm: \"sha256:\(String(repeating: "ab", count: 32))\"}\n- {mac: 52:54:00:00:00:02, tpm: \"sha256:\(String(repeating: "ab", count: 32))\"}\n", at: "2:33", keyPath: "[1].tpm", message: "this TPM is listed twice: it already belongs to [0]"),
        Bad(name: "not a list", yaml: "mac: 52:54:00:00:00:01\n", at: "1:1", keyPath: "", message: "expected a list of nodes"),
    ])
    func badInventoriesNameTheLineAndKey(_ bad: Bad) {
        do {
            _ = try InventoryLoader.parse(yaml: bad.yaml, file: "nodes.yaml", cluster: Self.cluster())
            Issue.record("\(bad.name) was accepted")
        } catch {
            let first = error.diagnostics.first
            #expect(first?.file == "nodes.yaml")
            #expect(first?.location?.description == bad.at, "\(error)")
            #expect(first?.keyPath == bad.keyPath, "\(error)")
            #expect(first?.message.contains(bad.message) == true, "\(error)")
            #expect(first?.hint?.isEmpty == false)
        }
    }

    @Test func nodesWithoutANetworkAreAnError() {
        #expect(throws: SpecError.self) {
            try InventoryLoader.parse(yaml: "- mac: 52:54:00:00:00:01\n", file: "n", cluster: Self.cluster(nil))
        }
    }

    @Test func theSpecChecksTheRangeAndTheMaster() throws {
        let spec = try SpecLoader.parse(yaml: "cluster:\n  network: 10.9.0.0/16\n", file: "clump.yaml")
        #expect(spec.cluster.effectiveDHCPRange?.description == "10.9.192.0-10.9.255.254")
        #expect(spec.cluster.effectiveMaster?.description == "10.9.0.1")
        for (yaml, message) in [
            ("cluster:\n  network: 10.0.2.0/24\n  dhcp-range: 10.0.3.1-10.0.3.9\n", "not a host address"),
            ("cluster:\n  network: 10.0.2.0/24\n  master: 10.0.2.250\n", "contains the master's address"),
            ("cluster:\n  dhcp-range: 10.0.2.10-10.0.2.20\n", "needs cluster.network"),
            ("cluster:\n  network: 10.0.2.5/24\n", "not a network"),
            ("cluster:\n  network: 10.0.2.0/24\n  dhcp-range: 10.0.2.20-10.0.2.10\n", "ends"),
        ] {
            #expect(throws: SpecError.self, "\(yaml)") { try SpecLoader.parse(yaml: yaml, file: "clump.yaml") }
            do {
                _ = try SpecLoader.parse(yaml: yaml, file: "clump.yaml")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }
}

/// The fast reader and the full YAML parser agree: same nodes, same locations, same errors.
@Suite struct InventoryFastPathTests {
    static let texts = [
        "- mac: 52:54:00:12:34:56\n- {mac: \"52:54:00:12:34:57\", address: 10.0.2.20, name: render, kernel-args: [clump.debug=1]}\n",
        "# lab\n\n- mac: [52:54:00:aa:00:01, 52-54-00-AA-00-02]\n  boot: drone   # the default\n  name: 'gpu1'\n- {mac: '02:00:00:00:00:0a', address: 10.0.2.9}\n",
        "  # indented comment\n-   mac: 52:54:00:00:00:01\n",
        "- {mac: 52:54:00:00:00:01, name: a}\n- {mac: 52:54:00:00:00:02, name: a}\n",
        "- mac: 52:54:00:00:00:01\n- mac: 52:54:00:00:00:01\n",
        "- {mac: 52:54:00:00:00:01, address: 10.0.3.5}\n",
        "- {mac: 52:54:00:00:00:01, name: node3}\n- {mac: 52:54:00:00:00:02}\n- {mac: 52:54:00:00:00:03}\n",
        "- mac: 52:54:00:00:00:01\n  adress: 10.0.2.5\n",
        "- {mac: 52:54:00:00:00:01, name: yes}\n",
        "- mac: 52:54:00:00:00:01\n  kernel-args: [a=1, \"b=2\"]\n- mac: 52:54:00:00:00:02\n  name: x # c\n",
    ]

    static func describe(_ body: () throws(SpecError) -> Inventory) -> String {
        do {
            let inventory = try body()
            return inventory.nodes.map {
                "\($0.macs) \($0.address) \($0.name) \($0.boot) \($0.kernelArgs) \($0.location.map(\.description) ?? "-")"
            }.joined(separator: "\n")
        } catch {
            return "error: \(error)"
        }
    }

    @Test(arguments: texts)
    func bothReadersAgree(_ text: String) {
        let cluster = InventoryLoaderTests.cluster()
        let fast = Self.describe { () throws(SpecError) in
            try InventoryLoader.parse(yaml: text, file: "n", cluster: cluster, spec: nil, fastPath: true)
        }
        let full = Self.describe { () throws(SpecError) in
            try InventoryLoader.parse(yaml: text, file: "n", cluster: cluster, spec: nil, fastPath: false)
        }
        #expect(fast == full)
    }

    @Test func theEverydayFormsTakeTheFastPath() {
        for text in Self.texts.prefix(3) { #expect(InventoryFastPath.entries(text) != nil, "\(text)") }
        #expect(InventoryFastPath.entries("- {mac: 52:54:00:00:00:01, name: yes}\n") == nil)
        #expect(InventoryFastPath.entries("nodes:\n  - mac: 52:54:00:00:00:01\n") == nil)
    }
}
