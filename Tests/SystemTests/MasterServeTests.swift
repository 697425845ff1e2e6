import Foundation
import TestSupport
import Testing

/// The master's side end to end, with no QEMU user network: `clumpbuild serve` on a bridge in a
/// namespace, drones on taps that PXE-boot through their cards' boot ROMs (iPXE), the inventory's
/// addresses, the master's one-shot view, proxy DHCP beside another server, the refusal to serve
/// full DHCP beside it, and an unknown machine enrolled while serve runs.
@Suite("master side", .serialized)
struct MasterServeTests {
    static let bootSeconds = 300.0
    static let macs = ["52:54:00:66:00:11", "52:54:00:66:00:12", "52:54:00:66:00:33"]

    /// A master directory beside the shared image: its spec (the cluster network, no menu wait),
    /// an inventory of the first two drones, and `out/tftpboot` pointing at the shared build.
    struct Master {
        let directory: String
        let spec: String
        let out: String
        let key: String
        var tftp: String { out + "/master/tftp" }
        var inventory: String { directory + "/nodes.yaml" }

        init() async throws {
            let shared = try await SharedImage.shared.outDir()
            directory = try Harness.scratch("master")
            spec = directory + "/clump.yaml"
            out = directory + "/out"
            key = (shared as NSString).deletingLastPathComponent + "/cluster.key"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: out + "/tftpboot", withDestinationPath: shared + "/tftpboot")
            // The shared image was built without a master, so it carries its keys: this master is open.
            try "cluster:\n  network: \(MasterLAN.network)\n  join: open\nboot:\n  timeout: 0\n"
                .write(toFile: spec, atomically: true, encoding: .utf8)
            try """
                # the lab's two known PCs
                - {mac: "\(MasterServeTests.macs[0])", address: 10.66.0.11}
                - {mac: "\(MasterServeTests.macs[1])", address: 10.66.0.12}

                """.write(toFile: inventory, atomically: true, encoding: .utf8)
        }

        func serve(_ extra: [String], lan: MasterLAN) throws -> Console {
            try Console(
                "serve", clumpbuild: ["serve", "--spec", spec, "--out", out, "--interface", "br0"] + extra,
                namespace: lan.namespace)
        }
    }

    @Test("serve boots known drones at their inventory addresses, proxies beside another server, refuses full DHCP there, enrols a new machine")
    func serveBootsTheCluster() async throws {
        let master = try await Master()
        defer { try? FileManager.default.removeItem(atPath: master.directory) }
        let lan = try MasterLAN(taps: 3)
        defer { lan.remove() }

        // 1. Full DHCP: two known drones PXE-boot and become nodes 11 and 12.
        let serve = try master.serve([], lan: lan)
        try serve.expect("clump: serving DHCP and TFTP on br0 \\(10\\.66\\.0\\.1\\)", within: 60)
        let drones = try (0..<2).map { index in
            try Console(
                "pxe-drone-\(index + 1)", bootArguments: lan.pxeBoot(master.tftp, drone: index + 1, mac: Self.macs[index]),
                namespace: lan.namespace)
        }
        for (index, drone) in drones.enumerated() {
            let node = 11 + index
            try drone.expect(#"clump: lease eth0 10\.66\.0\.\#(node)/24"#, within: Self.bootSeconds)
            try drone.expect(#"clump: node \#(node) network 10\.66\.0\.0/24 map 1 10\.66\.0\.1 254"#, within: 60)
        }
        for (index, mac) in Self.macs.prefix(2).enumerated() {
            let name = "node\(11 + index)"
            try serve.expect("clump: \(name) \(mac) leased 10\\.66\\.0\\.\(11 + index) \\(known node\\)", within: 10)
            try serve.expect(
                "clump: \(name) \(mac) 10\\.66\\.0\\.\(11 + index) fetched nodes/\(mac.replacingOccurrences(of: ":", with: "-"))\\.ipxe",
                within: 10)
            try serve.expect("clump: \(name) \(mac) 10\\.66\\.0\\.\(11 + index) fetched images/[0-9a-f]{16}/initrd\\.img", within: 10)
        }
        // dnsmasq serves as its own unprivileged user with no capabilities, and not on loopback.
        try serve.expect("clump: dnsmasq serves as clump-dnsmasq \\(uid [1-9][0-9]*\\) with no capabilities", within: 10)
        let pids = try Harness.run(["pgrep", "-f", "conf-file=\(master.out)/master/"]).output
            .split(separator: "\n").compactMap { Int32($0) }
        #expect(pids.count == 1, "dnsmasq processes: \(pids)")
        for pid in pids {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let fields = Dictionary(
                status.split(separator: "\n").compactMap { line -> (String, String)? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
                }, uniquingKeysWith: { first, _ in first })
            #expect(fields["Uid"]?.split(separator: "\t").first != "0", "\(status)")
            #expect(fields["CapEff"] == "0000000000000000", "\(status)")
            #expect(fields["CapPrm"] == "0000000000000000", "\(status)")
        }
        let loopback = try Harness.run([
            "ip", "netns", "exec", lan.namespace, "timeout", "8", "busybox", "tftp", "-g", "-r", "boot.ipxe", "-l",
            "/dev/null", "127.0.0.1",
        ])
        #expect(loopback.status != 0, "TFTP answered on 127.0.0.1: \(loopback.output)")
        // (The drones fetched their loader and script over TFTP on the cluster address above.)

        // The master's one-shot view hears both drones.
        let view = try Harness.run([
            "ip", "netns", "exec", lan.namespace, try Harness.binDir + "/clumpview", "--json", "--join", MasterLAN.network,
            "--key", master.key, "--wait", "30",
        ])
        #expect(view.status == 0, "\(view.output)")
        let up = try Self.upAddresses(view.output)
        #expect(up.isSuperset(of: ["10.66.0.11", "10.66.0.12"]), "\(view.output)")
        for drone in drones { _ = try drone.stop() }
        let status = try serve.stop()
        #expect(status == 128 + SIGTERM, "serve's exit status after SIGTERM")
        #expect(lan.dnsmasqLeft(for: master.out).isEmpty, "dnsmasq left running: \(lan.dnsmasqLeft(for: master.out))")

        // 2. Another server hands out addresses: serve refuses full DHCP and says what to do...
        try lan.startOtherServer()
        let refused = try Harness.run([
            "ip", "netns", "exec", lan.namespace, try Harness.clumpbuild, "serve", "--spec", master.spec, "--out",
            master.out, "--interface", "br0",
        ])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("another DHCP server already answers here (10.66.0.2)"), "\(refused.output)")
        #expect(refused.output.contains("--proxy"), "\(refused.output)")
        #expect(lan.dnsmasqLeft(for: master.out).isEmpty)

        // ...and with --proxy the drone takes its address from that server and its boot files from us.
        let proxy = try master.serve(["--proxy"], lan: lan)
        try proxy.expect("clump: serving proxy DHCP and TFTP on br0", within: 60)
        let proxied = try Console(
            "pxe-proxied", bootArguments: lan.pxeBoot(master.tftp, drone: 1, mac: Self.macs[0]), namespace: lan.namespace)
        try proxied.expect(#"clump: lease eth0 10\.66\.0\.1[0-5][0-9]/24"#, within: Self.bootSeconds)
        try proxied.expect(#"clump: node 1[0-5][0-9] network 10\.66\.0\.0/24"#, within: 60)
        try proxy.expect("clump: node11 \(Self.macs[0]) asks what to boot \\(proxy DHCP\\)", within: 10)
        try proxy.expect("fetched images/[0-9a-f]{16}/vmlinuz", within: 10)
        _ = try proxied.stop()
        _ = try proxy.stop()
        lan.stopOtherServer()

        // 3. An unknown machine: its boot ROM leases from the range and it is enrolled at once, so the
        // drone's own DHCP, a few seconds later, already gets the enrolled address; and so does its next boot.
        let enrolling = try master.serve(["--enrol"], lan: lan)
        try enrolling.expect("clump: serving DHCP", within: 60)
        let newcomer = try Console(
            "pxe-new", bootArguments: lan.pxeBoot(master.tftp, drone: 3, mac: Self.macs[2]), namespace: lan.namespace)
        try enrolling.expect("clump: new machine \(Self.macs[2]) leased 10\\.66\\.0\\.(19[2-9]|2[0-9][0-9])", within: Self.bootSeconds)
        try enrolling.expect("clump: enrolled \(Self.macs[2]) as node2 10\\.66\\.0\\.2 in ", within: 10)
        try newcomer.expect(#"clump: lease eth0 10\.66\.0\.2/24"#, within: Self.bootSeconds)
        try newcomer.expect(#"clump: node 2 network 10\.66\.0\.0/24 map 1 10\.66\.0\.1 254"#, within: 60)
        let inventory = try String(contentsOfFile: master.inventory, encoding: .utf8)
        let enrolledLine = try #require(inventory.split(separator: "\n").last.map(String.init))
        #expect(
            enrolledLine.hasPrefix("- {mac: \"\(Self.macs[2])\", address: 10.66.0.2}  # enrolled by clumpbuild serve 20"),
            "\(inventory)")
        _ = try newcomer.stop()
        let again = try Console(
            "pxe-new-again", bootArguments: lan.pxeBoot(master.tftp, drone: 3, mac: Self.macs[2]), namespace: lan.namespace)
        let mark = enrolling.mark
        try again.expect("nodes/52-54-00-66-00-33\\.ipxe\\.\\.\\. ok", within: Self.bootSeconds)
        try again.expect(#"clump: lease eth0 10\.66\.0\.2/24"#, within: Self.bootSeconds)
        try again.expect(#"clump: node 2 network 10\.66\.0\.0/24 map 1 10\.66\.0\.1 254"#, within: 60)
        try enrolling.expect("clump: node2 \(Self.macs[2]) leased 10\\.66\\.0\\.2 \\(known node\\)", within: 10, after: mark)
        _ = try again.stop()
        _ = try enrolling.stop()
        #expect(lan.dnsmasqLeft(for: master.out).isEmpty)
    }

    /// A PC on the LAN invents 1,000 DHCP clients in a minute while a known drone PXE-boots: serve
    /// enrols at most `--max` of them, says the rest in one line a second, the drone still becomes
    /// its node, and serve's memory stays what it was.
    @Test("an enrolment flood of 1,000 invented machines enrols at most --max while a known drone boots")
    func enrolmentFlood() async throws {
        let master = try await Master()
        defer { try? FileManager.default.removeItem(atPath: master.directory) }
        let lan = try MasterLAN(taps: 1)
        defer { lan.remove() }
        let flood = try DHCPFlood(on: lan.namespace, namespace: lan.namespace + "f", address: "10.66.0.170/24")
        defer { flood.remove() }
        let serve = try master.serve(["--enrol", "--max", "10", "--per-minute", "60"], lan: lan)
        try serve.expect("clump: serving DHCP and TFTP on br0", within: 60)
        let pid = try #require(
            Harness.run(["pgrep", "-f", "serve --spec \(master.spec)"]).output.split(separator: "\n").first.flatMap { Int32($0) })
        let before = try Self.residentKiB(pid)
        let drone = try Console(
            "pxe-flooded", bootArguments: lan.pxeBoot(master.tftp, drone: 1, mac: Self.macs[0]), namespace: lan.namespace)
        let flooding = Thread {
            do { try flood.run(clients: 1_000, seconds: 60) } catch { print("flood: \(error)") }
        }
        flooding.start()
        try drone.expect(#"clump: lease eth0 10\.66\.0\.11/24"#, within: Self.bootSeconds)
        try drone.expect(#"clump: node 11 network 10\.66\.0\.0/24 map 1 10\.66\.0\.1 254"#, within: 60)
        let booted = flood.counts
        while !flooding.isFinished { try await Task.sleep(for: .milliseconds(200)) }
        try await Task.sleep(for: .seconds(2))
        let after = try Self.residentKiB(pid)
        let counts = flood.counts
        let transcript = serve.transcript
        let enrolledLines = transcript.split(separator: "\n").filter { $0.contains("clump: enrolled 02:cf:") }
        let inventory = try String(contentsOfFile: master.inventory, encoding: .utf8)
        let enrolledNodes = inventory.split(separator: "\n").filter { $0.contains("# enrolled by clumpbuild serve") }
        print(
            "flood: \(counts.sent) DISCOVERs and REQUESTs (\(counts.failed) not sent), \(counts.offers) offers, \(counts.acks) acks; "
                + "\(enrolledNodes.count) enrolled; the known drone booted to node 11 with \(booted.sent) sent so far; "
                + "serve's resident memory \(before) KiB before, \(after) KiB after")
        #expect(counts.failed == 0, "\(counts.failed) DISCOVERs or REQUESTs could not be sent")
        #expect(counts.acks > 10, "the flood leased \(counts.acks) addresses: it never reached the limit")
        #expect(enrolledLines.count == 10, "\(enrolledLines.count) enrolled lines")
        #expect(enrolledNodes.count == 10, "\(inventory)")
        #expect(transcript.contains("clump: enrolled 10, the most --max allows"), "\(transcript.suffix(3000))")
        #expect(
            transcript.range(of: #"clump: [0-9]+ more lines about unknown machines in the last second, not shown one by one \(10 of at most 10 enrolled\)"#, options: .regularExpression) != nil,
            "no summary line: \(transcript.suffix(3000))")
        #expect(transcript.contains("clump: node11 \(Self.macs[0]) leased 10.66.0.11 (known node)"))
        // Serve remembers a bounded number of machines: a thousand more leave no trace worth a MiB.
        #expect(after - before < 16 * 1024, "serve grew from \(before) KiB to \(after) KiB")
        _ = try drone.stop()
        _ = try serve.stop()
        #expect(lan.dnsmasqLeft(for: master.out).isEmpty)
    }

    /// The secretless image end to end: built for the cluster network with the default
    /// `cluster.join: approve`, nothing that TFTP or the ISO hands out holds a key; an unknown
    /// drone with a TPM (swtpm) PXE-boots, shows its code, announces nothing and is in no view;
    /// `clumpbuild approve CODE` lets it join, and then it announces with the key it got over its
    /// session, and the inventory binds it to its TPM. Rebooted, it joins with nobody approving;
    /// its MAC with another TPM, or with none, is refused, and serve says why.
    @Test("a secretless image: no key in anything served; an unknown drone waits with its code and joins once approved; its TPM lets it in from then on, and no other")
    func approvedJoin() async throws {
        let directory = try Harness.scratch("joinmaster")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spec = directory + "/clump.yaml"
        let out = directory + "/out"
        try "cluster:\n  network: \(MasterLAN.network)\nboot:\n  timeout: 0\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let built = try Harness.run(
            [try Harness.clumpbuild, "build", "--spec", spec, "--out", out], cwd: directory,
            environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        try #require(built.status == 0, "\(built.output)")
        #expect(built.output.contains("clump: generated the master's join key in \(directory)/join.key"), "\(built.output)")
        let lan = try MasterLAN(taps: 1)
        defer { lan.remove() }
        let serve = try Console(
            "serve-join", clumpbuild: ["serve", "--spec", spec, "--out", out, "--interface", "br0"], namespace: lan.namespace)
        try serve.expect("clump: joins on 10\\.66\\.0\\.1 port 7078: approve", within: 60)

        // Everything a PC on the LAN can fetch, archives unpacked: no key, raw, hex or base64.
        let secrets = try SecretScan.needles(keyFiles: [directory + "/cluster.key", directory + "/join.key"])
        // (Not `out/join`: serve's own state, root's only, which no server hands out; the keys in use live there.)
        let found = try SecretScan.find(secrets, under: out, scratch: directory + "/unpacked", skipping: ["join"])
        #expect(found.isEmpty, "secrets in what the master serves: \(found)")
        var info = stat()
        #expect(stat(out + "/join", &info) == 0 && info.st_mode & 0o077 == 0, "out/join is open to others")

        let mac = Self.macs[2]
        let tpmState = directory + "/tpm"
        var tpm = try SoftwareTPM(directory: tpmState, forQEMU: true)
        defer { tpm.stop() }
        let drone = try Console(
            "pxe-join", bootArguments: lan.pxeBoot(out + "/master/tftp", drone: 1, mac: mac) + ["--tpm", tpm.socket],
            namespace: lan.namespace)
        let lease = try drone.expect(#"clump: lease eth0 10\.66\.0\.[0-9]+/24"#, within: Self.bootSeconds)
        let address = String(lease.dropFirst("clump: lease eth0 ".count).prefix { $0 != "/" })
        let waiting = try drone.expect(#"clump: waiting for approval by 10\.66\.0\.1, code [0-9]{3}-[0-9]{3}"#, within: 120)
        let code = String(waiting.suffix(7))
        // (QEMU's firmware tables give no DMI UUID unless asked for one.)
        try serve.expect(
            "clump: join: machine \(mac) at \(address)( \\(uuid [^)]*\\))? \\(TPM sha256:[0-9a-f]{12}\\.\\.\\.\\) waits for approval, code \(code)",
            within: 10)
        #expect(!drone.transcript.contains("clump: announcing"), "announced before approval")
        let before = try Harness.run([
            "ip", "netns", "exec", lan.namespace, try Harness.binDir + "/clumpview", "--json", "--join", MasterLAN.network,
            "--key", directory + "/cluster.key", "--wait", "8",
        ])
        #expect(!((try? Self.upAddresses(before.output)) ?? []).contains(address), "\(before.output)")

        let approved = try Harness.run([try Harness.clumpbuild, "approve", code, "--out", out])
        #expect(approved.status == 0, "\(approved.output)")
        #expect(approved.output.hasPrefix("approved machine \(mac)"), "\(approved.output)")
        try drone.expect(#"clump: joined 10\.66\.0\.1 \(approved by operator\)"#, within: 30)
        try serve.expect("clump: enrolled \(mac) as node2 10\\.66\\.0\\.2 bound to TPM sha256:[0-9a-f]{12}\\.\\.\\.", within: 10)
        let inventory = try String(contentsOfFile: directory + "/nodes.yaml", encoding: .utf8)
        let recorded = try #require(
            inventory.range(of: #"tpm: "sha256:[0-9a-f]{64}""#, options: .regularExpression).map { String(inventory[$0]) },
            "\(inventory)")
        let view = try Harness.run([
            "ip", "netns", "exec", lan.namespace, try Harness.binDir + "/clumpview", "--json", "--join", MasterLAN.network,
            "--key", directory + "/cluster.key", "--wait", "30",
        ])
        #expect(try Self.upAddresses(view.output).contains(address), "\(view.output)")
        // A code nobody shows is refused with a reason, and the approved one is no longer waiting.
        let again = try Harness.run([try Harness.clumpbuild, "approve", code, "--out", out])
        #expect(again.status == 1 && again.output.contains("no machine waits with code \(code)"), "\(again.output)")
        _ = try drone.stop()

        // Rebooted with its TPM (the same state: the same endorsement key): in with nobody approving.
        tpm.stop()
        tpm = try SoftwareTPM(directory: tpmState, forQEMU: true)
        let rebooted = try Console(
            "pxe-join-tpm", bootArguments: lan.pxeBoot(out + "/master/tftp", drone: 1, mac: mac) + ["--tpm", tpm.socket],
            namespace: lan.namespace)
        try rebooted.expect(#"clump: joined 10\.66\.0\.1 \(approved by tpm\)"#, within: Self.bootSeconds)
        #expect(!rebooted.transcript.contains("clump: waiting for approval"))
        try serve.expect("clump: join: machine \(mac) at 10\\.66\\.0\\.[0-9]+ .*joined \\(approved by tpm\\)", within: 10)
        _ = try rebooted.stop()
        tpm.stop()

        // Its MAC in a machine with another TPM, and in one with none: refused, on the console and on serve.
        let otherTPM = try SoftwareTPM(directory: directory + "/other-tpm", forQEMU: true)
        defer { otherTPM.stop() }
        for (name, extra, has) in [("pxe-join-other-tpm", ["--tpm", otherTPM.socket], "another TPM"), ("pxe-join-no-tpm", [], "no TPM")] {
            let impostor = try Console(
                name, bootArguments: lan.pxeBoot(out + "/master/tftp", drone: 1, mac: mac) + extra, namespace: lan.namespace)
            try impostor.expect(
                "clump: join: 10\\.66\\.0\\.1 refused this machine: node2 is bound to its TPM \\(sha256:[0-9a-f]{12}\\.\\.\\.\\), "
                    + "and this machine with its MAC has \(has)", within: Self.bootSeconds)
            try serve.expect("clump: join: machine \(mac) .* refused: node2 is bound to its TPM .* has \(has)", within: 10)
            #expect(!impostor.transcript.contains("clump: joined"))
            _ = try impostor.stop()
        }
        #expect(try String(contentsOfFile: directory + "/nodes.yaml", encoding: .utf8).contains(recorded), "the binding stays")
        _ = try serve.stop()
        #expect(lan.dnsmasqLeft(for: out).isEmpty)
    }

    /// VmRSS of a process, in KiB.
    static func residentKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test("serve stops dnsmasq when the reader of its output goes away, even while no machine boots")
    func serveStopsWithItsReader() async throws {
        let master = try await Master()
        defer { try? FileManager.default.removeItem(atPath: master.directory) }
        let lan = try MasterLAN(taps: 1)
        defer { lan.remove() }
        // `timeout` bounds a serve that would not stop: its status is then 124, not 141.
        let result = try Harness.shell(
            "timeout 60 ip netns exec \(lan.namespace) \(try Harness.clumpbuild) serve --spec \(master.spec) --out \(master.out) "
                + "--interface br0 | grep -m1 'clump: serving'; echo \"status ${PIPESTATUS[0]}\"")
        #expect(result.output.contains("clump: serving DHCP and TFTP on br0"), "\(result.output)")
        #expect(result.output.contains("status 141"), "\(result.output)")
        #expect(lan.dnsmasqLeft(for: master.out).isEmpty, "dnsmasq left running: \(lan.dnsmasqLeft(for: master.out))")
    }

    static func upAddresses(_ json: String) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let nodes = try #require(object?["nodes"] as? [[String: Any]])
        return Set(nodes.filter { $0["state"] as? String == "up" }.compactMap { $0["address"] as? String })
    }
}
