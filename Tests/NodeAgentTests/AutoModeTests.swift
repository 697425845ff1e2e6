import AgentSupport
import AutoMap
import Glibc
import NetProbe
import Testing

@testable import NodeAgent

@Suite struct NetworkCommandTests {
    typealias I = NodeAgentCommand.Invocation

    @Test(arguments: [
        (["/init", "probe"], I.probe(ProbeCommand())),
        (["clumpnode", "probe", "--dry-run", "--root", "/t"], .probe(ProbeCommand(root: "/t", dryRun: true))),
        (["clumpnode", "probe", "--root"], .usageError(ProbeCommand.usage)),
        (["clumpnode", "probe", "eth0"], .usageError(ProbeCommand.usage)),
        (["/init", "dhcp", "eth0", "eth1"], .dhcp(DHCPCommand(interfaces: ["eth0", "eth1"]))),
        (["clumpnode", "dhcp", "--timeout", "2.5", "eth0"], .dhcp(DHCPCommand(interfaces: ["eth0"], timeout: 2.5))),
        (["clumpnode", "dhcp"], .usageError(DHCPCommand.usage)),
        (["clumpnode", "dhcp", "--timeout", "soon", "eth0"], .usageError("--timeout needs a number of seconds above 0\n" + DHCPCommand.usage)),
        (["clumpnode", "map"], .map(MapCommand())),
        (["clumpnode", "map", "--check", "/etc/hpc.map"], .map(MapCommand(check: "/etc/hpc.map"))),
        (["clumpnode", "map", "--write", "10.0.2.15/24"], .map(MapCommand(write: true, addresses: ["10.0.2.15/24"]))),
        (["clumpnode", "map", "--check", "f", "--write"], .usageError(MapCommand.usage)),
        (
            ["clumpnode", "map", "--network", "10.0.3.0/24", "--boot-mac", "01-52-54-00-12-34-57", "10.0.2.15/24"],
            .map(
                MapCommand(
                    addresses: ["10.0.2.15/24"],
                    hints: PrimaryHints(
                        clusterNetwork: try! IPv4Network(parsing: "10.0.3.0/24"), bootMAC: "52:54:00:12:34:57")))
        ),
        (
            ["clumpnode", "map", "--network", "10.0.3.1/24"],
            .usageError("map --network needs a network like 10.0.2.0/24 (host bits zero)\n" + MapCommand.usage)
        ),
        (["clumpnode", "map", "--boot-mac"], .usageError(
            "map --boot-mac needs a MAC like 52:54:00:12:34:56 or 01-52-54-00-12-34-56\n" + MapCommand.usage)),
    ])
    func parse(arguments: [String], expected: I) {
        #expect(NodeAgentCommand.parse(arguments: arguments, pid: 4242) == expected)
    }

    @Test func mapWritesFilesUnderTheRootAndChecksThem() throws {
        let tree = try TemporaryTree()
        var lines: [String] = []
        let status = MapCommand(write: true, root: tree.path, addresses: ["10.0.3.15/24@eth1", "10.0.2.15/24@eth0"])
            .run { lines.append($0) }
        #expect(status == 0)
        #expect(lines.first == "node 15 network 10.0.2.0/24 map 1 10.0.2.1 254 alias 10.0.3.15")
        #expect(try SystemFile.readText(tree.path + "/etc/hostname") == "node15\n")
        let map = try SystemFile.readText(tree.path + "/etc/hpc.map")
        #expect(map == (try SystemFile.readText(tree.path + "/etc/mosix.map")))
        #expect(try ClusterMap(parsing: map, file: "hpc.map").lines.map(\.description) == ["1 10.0.2.1 254", "15 10.0.3.15 ALIAS"])
        lines = []
        #expect(MapCommand(check: tree.path + "/etc/hpc.map").run { lines.append($0) } == 0)
        #expect(lines == [tree.path + "/etc/hpc.map: 1 range lines, 1 ALIAS lines, 254 nodes: ok"])
    }

    /// `--network` and `--boot-mac` choose the primary as `clump.network=` and `BOOTIF=` do.
    @Test(arguments: [
        (
            MapCommand.parse(["10.0.2.15/24@eth0", "10.0.3.21/24@eth1"]), "node 15 network 10.0.2.0/24",
            "eth0: first by interface name"
        ),
        (
            MapCommand.parse(["--network", "10.0.3.0/24", "10.0.2.15/24@eth0", "10.0.3.21/24@eth1"]),
            "node 21 network 10.0.3.0/24", "eth1: on cluster network 10.0.3.0/24"
        ),
        (
            MapCommand.parse([
                "--boot-mac", "52-54-00-12-34-57", "10.0.2.15/24@eth0,52:54:00:12:34:56",
                "10.0.3.21/24@eth1,52:54:00:12:34:57",
            ]), "node 21 network 10.0.3.0/24", "eth1: booted from it (BOOTIF 52:54:00:12:34:57)"
        ),
    ])
    func mapChoosesThePrimaryByHand(invocation: NodeAgentCommand.Invocation, summary: String, primary: String) throws {
        guard case .map(let command) = invocation else {
            Issue.record("not a map command: \(invocation)")
            return
        }
        var lines: [String] = []
        #expect(command.run { lines.append($0) } == 0)
        #expect(lines.first?.hasPrefix(summary + " map ") == true, "\(lines)")
        #expect(lines.dropFirst().first == "primary " + primary)
    }

    @Test func mapCheckGivesLineAndColumn() throws {
        let tree = try TemporaryTree(files: ["bad.map": "1 10.0.2.1 254\n0 10.0.3.1 1\n"])
        var lines: [String] = []
        #expect(MapCommand(check: tree.path + "/bad.map").run { lines.append($0) } == 1)
        #expect(lines.count == 1)
        #expect(lines[0].hasPrefix("clumpnode map: \(tree.path)/bad.map:2:1: "))
    }

    @Test func mapWithoutAddressesReadsTheStatusFile() throws {
        let tree = try TemporaryTree(files: ["run/clump/status": "state=configured\nmode=auto\ninterface=eth0\naddress=192.168.1.7/24\n"])
        var lines: [String] = []
        #expect(MapCommand(root: tree.path).run { lines.append($0) } == 0)
        #expect(lines.first == "node 7 network 192.168.1.0/24 map 1 192.168.1.1 254")
        let waiting = try TemporaryTree(files: ["run/clump/status": "state=waiting-for-dhcp\nmode=auto\n"])
        lines = []
        #expect(MapCommand(root: waiting.path).run { lines.append($0) } == 1)
        #expect(lines.first?.hasSuffix("has no address (state waiting-for-dhcp); give ADDRESS/PREFIX") == true)
    }

    @Test(arguments: ["10.0.2.15", "10.0.2.15/x", "10.0.2.300/24", "10.0.2.15/24@eth0,52:54:00"])
    func badAddressesAreRejected(text: String) {
        #expect(throws: AutoMapError.self) { try MapCommand.lease(text, number: 0) }
    }
}

@Suite struct NodeFilesTests {
    @Test func leaseCarriesTheCardsBusAddress() {
        let lease = DHCPLease(
            interface: "eth0", mac: MACAddress("52:54:00:12:34:56")!, address: IPv4("10.0.2.15")!,
            subnetMask: IPv4("255.255.255.0")!, routers: [IPv4("10.0.2.2")!], hostName: "drone7")
        let card = NetworkInterface(name: "eth0", index: 2, mac: "52:54:00:12:34:56", busAddress: "0000:00:03.0")
        #expect(
            NodeFiles.lease(lease, card: card)
                == Lease(
                    interface: "eth0", busAddress: "0000:00:03.0", mac: "52:54:00:12:34:56",
                    address: IPv4Address(10, 0, 2, 15), prefix: 24, router: IPv4Address(10, 0, 2, 2), hostname: "drone7"))
    }

    @Test func statusFileIsWrittenUnderTheRoot() throws {
        let tree = try TemporaryTree()
        try NodeFiles.write(NodeStatus(state: .noCard, mode: "auto"), root: tree.path)
        #expect(try SystemFile.readText(tree.path + "/run/clump/status") == "state=no-card\nmode=auto\n")
    }

    @Test func mosixHookNeedsTheKernelAndSetpe() throws {
        let plain = try TemporaryTree(files: ["proc/version": "Linux"])
        #expect(MosixHook.plan(root: plain.path) == nil)
        #expect(MosixHook.apply(root: plain.path) == nil)

        let noTool = try TemporaryTree(files: ["proc/hpc/admin/config": ""])
        #expect(MosixHook.plan(root: noTool.path)?.kernel == "openMosix")
        #expect(MosixHook.plan(root: noTool.path)?.argv == nil)
        #expect(MosixHook.apply(root: noTool.path)?.hasSuffix("no setpe; the map is not applied") == true)

        let mosix = try TemporaryTree(files: ["proc/mosix/admin/x": "", "sbin/setpe": "#!/bin/sh\nexit 0\n"])
        let plan = try #require(MosixHook.plan(root: mosix.path))
        #expect(plan.kernel == "MOSIX")
        #expect(plan.argv == [mosix.path + "/sbin/setpe", "-w", "-f", "/etc/mosix.map"])
        chmod(mosix.path + "/sbin/setpe", 0o755)
        #expect(MosixHook.apply(root: mosix.path) == "clump: MOSIX: \(mosix.path)/sbin/setpe -w -f /etc/mosix.map")
    }
}
