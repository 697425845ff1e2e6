import Foundation
import Testing

/// Boots the default image in QEMU (TCG) the ways a lab boots it, in 128 MB of RAM,
/// and reads the serial console. One boot per scenario, one image for all of them.
@Suite("QEMU boots", .serialized)
struct BootTests {
    /// A generous bound: a BIOS boot under TCG takes 10-30 s on a loaded 2-core machine.
    static let bootSeconds = 240.0

    private func boot(_ name: String, _ arguments: [String]) throws -> Console {
        try Console(name, bootArguments: arguments + ["--memory", "128", "--timeout", "600"])
    }

    /// The auto-mode lines for one card on QEMU's user network. QEMU's DHCP server sends no
    /// router (nor DNS) when the network is restrict=on (libslirp bootp.c), so that part is optional.
    private func expectConfigured(_ console: Console, driver: String, mac: String = "52:54:00:12:34:56") throws {
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
        try console.expect("clump: nic eth0 \(mac) driver \(driver)\r?\n", within: 120)
        try console.expect(#"clump: lease eth0 10\.0\.2\.15/24( router 10\.0\.2\.2)? server 10\.0\.2\.2\r?\n"#, within: 60)
        try console.expect(#"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254\r?\n"#, within: 30)
    }

    @Test("ISO as a CD, e1000 card: auto mode loads the driver, leases, derives the class-C map")
    func cdAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("cd-auto", [out + "/clump.iso", "--nic", "e1000"])
        try expectConfigured(console, driver: "e1000")
        try console.expect("clump: the cluster view runs on", within: 30)
    }

    @Test("ISO as a CD, virtio-net-pci card: virtio_pci first, then virtio_net in a second round")
    func cdAutoVirtio() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("cd-auto-virtio", [out + "/clump.iso", "--nic", "virtio-net-pci"])
        try expectConfigured(console, driver: "virtio_net")
        // Clump/OS's last boot step: the live view on the console, fed by this node's announcer.
        try console.expect("NODE ADDRESS +STATE +LOAD", within: 60)
        try console.expect(#"10\.0\.2\.15[^\n]*up"#, within: 30)
        // ESC asks first; y shuts the node down cleanly and QEMU ends.
        console.press("\u{1b}")
        try console.expect("Shut down this node\\? y/n", within: 30)
        console.press("y")
        try console.expect("clump: powering off", within: 60)
        #expect(try console.waitForExit(within: 60) == 0, "QEMU exit status after the view's shutdown")
    }

    /// Two cards on two user networks, PCI slots pinned, listed in both orders on the QEMU
    /// command line: the slot decides the primary, so the map line is the same.
    @Test(
        "two cards give the same map whichever is listed first",
        arguments: [
            ["e1000,addr=3", "virtio-net-pci,addr=4,net=10.0.3.0/24"],
            ["virtio-net-pci,addr=4,net=10.0.3.0/24", "e1000,addr=3"],
        ])
    func twoCards(nics: [String]) async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("cd-two-cards", [out + "/clump.iso"] + nics.flatMap { ["--nic", $0] })
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
        try console.expect(#"clump: lease \S+ 10\.0\.2\.15/24"#, within: 180)
        try console.expect(#"clump: lease \S+ 10\.0\.3\.15/24"#, within: 60)
        try console.expect(
            #"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254 alias 10\.0\.3\.15\r?\n"#, within: 30)
    }

    /// Two cards on two networks, moved between PCI slots, with the cluster network on the
    /// kernel command line (typed after the mode at the boot prompt, as `clump.network=` comes
    /// from the spec's `cluster.network`): the card on 10.0.3.0/24 is the primary in both
    /// placements, so the node number and the map are the same. Without the rule the slot would
    /// decide, and the first placement would number the node on 10.0.2.0/24.
    @Test(
        "with clump.network= the card on the cluster network is the primary in either PCI slot",
        arguments: [
            ["e1000,addr=3", "virtio-net-pci,addr=4,net=10.0.3.0/24"],
            ["virtio-net-pci,addr=3,net=10.0.3.0/24", "e1000,addr=4"],
        ])
    func clusterNetworkChoosesThePrimary(nics: [String]) async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("cd-cluster-network", [out + "/clump.iso"] + nics.flatMap { ["--nic", $0] })
        try console.expect("boot:", within: Self.bootSeconds)
        console.type("auto clump.network=10.0.3.0/24")
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
        try console.expect(#"clump: lease \S+ 10\.0\.2\.15/24"#, within: 180)
        try console.expect(#"clump: lease \S+ 10\.0\.3\.15/24"#, within: 60)
        try console.expect(
            #"clump: node 15 network 10\.0\.3\.0/24 map 1 10\.0\.3\.1 254 alias 10\.0\.2\.15\r?\n"#, within: 30)
        try console.expect(#"clump: primary \S+: on cluster network 10\.0\.3\.0/24\r?\n"#, within: 10)
    }

    /// A USB card appears only after the hub driver has enumerated it, well after xhci_pci
    /// is loaded; the probe waits for it. Its controller (qemu-xhci, added first: slot 3)
    /// precedes the e1000 in slot 5, so the USB card is the primary in both listing orders.
    @Test(
        "a USB card is found, leased and ordered by its controller's slot whichever card is listed first",
        arguments: [
            ["usb-net,net=10.0.3.0/24", "e1000,addr=5"],
            ["e1000,addr=5", "usb-net,net=10.0.3.0/24"],
        ])
    func usbCard(nics: [String]) async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("cd-usb-card", [out + "/clump.iso"] + nics.flatMap { ["--nic", $0] })
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
        try console.expect(#"clump: nic usb0 52:54:00:12:34:5[67] driver cdc_ether\r?\n"#, within: 120)
        try console.expect(#"clump: lease usb0 10\.0\.3\.15/24"#, within: 60)
        try console.expect(
            #"clump: node 15 network 10\.0\.3\.0/24 map 1 10\.0\.3\.1 254 alias 10\.0\.2\.15\r?\n"#, within: 60)
    }

    /// Clump/OS's promise, end to end: two PCs booted from the same CD on one LAN with a DHCP
    /// server become nodes 11 and 12, find each other and show both on their consoles; ESC and y
    /// on one shuts it down, and the other shows it down.
    @Test("two drones on one LAN with dnsmasq see each other; one shuts down from its view, the other marks it down")
    func twoDrones() async throws {
        let out = try await SharedImage.shared.outDir()
        let lan = try DroneLAN(drones: 2)
        defer { lan.remove() }
        let drones = try (1...2).map { drone in
            try Console(
                "drone-\(drone)", bootArguments: [out + "/clump.iso", "--mode", "auto"] + lan.nic(drone)
                    + ["--memory", "128", "--timeout", "600"], namespace: lan.namespace)
        }
        for (index, drone) in drones.enumerated() {
            let node = 11 + index
            try drone.expect(
                #"clump: node \#(node) network 10\.88\.0\.0/24 map 1 10\.88\.0\.1 254"#, within: Self.bootSeconds)
        }
        // Each console's view lists both nodes up (rows after the table's heading).
        for drone in drones {
            for address in [#"10\.88\.0\.11"#, #"10\.88\.0\.12"#] {
                try drone.expect(#"NODE ADDRESS +STATE +LOAD[\s\S]*"# + address + #"[^\n]*up"#, within: 60)
            }
        }
        let mark = drones[1].mark
        drones[0].press("\u{1b}")
        try drones[0].expect("Shut down this node\\? y/n", within: 30)
        drones[0].press("y")
        try drones[0].expect("clump: powering off", within: 60)
        #expect(try drones[0].waitForExit(within: 60) == 0, "QEMU exit status after the view's shutdown")
        // The survivor's view counts one node down (within 3.5 s of the last word from it, plus
        // a refresh; TCG is slow, so the bound here is generous).
        try drones[1].expect("1 down", within: 60, after: mark)
    }

    @Test("the same ISO as a hard disk (hybrid MBR) boots, in safe mode")
    func diskSafe() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("disk-safe", [out + "/clump.iso", "--as", "disk", "--mode", "safe"])
        try console.expect(#"clump: agent \S+ mode=safe"#, within: Self.bootSeconds)
        try console.expect("clump: safe mode: no autoconfiguration", within: 60)
    }

    @Test("the ISO as a hard disk reaches auto mode by the menu's default")
    func diskAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("disk-auto", [out + "/clump.iso", "--as", "disk"])
        try console.expect(#"clump: agent \S+ mode=auto"#, within: Self.bootSeconds)
    }

    @Test("PXE through the tftpboot tree over QEMU's user network, then auto mode configures the card")
    func pxeAuto() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("pxe-auto", [out + "/tftpboot"])
        try console.expect("PXELINUX", within: Self.bootSeconds)
        try expectConfigured(console, driver: "e1000")
    }

    @Test("PXE with a virtio-net-pci card (iPXE's virtio ROM), then auto mode configures it")
    func pxeAutoVirtio() async throws {
        let out = try await SharedImage.shared.outDir()
        let console = try boot("pxe-auto-virtio", [out + "/tftpboot", "--nic", "virtio-net-pci"])
        try expectConfigured(console, driver: "virtio_net")
    }

    @Test("expert mode typed at the isolinux prompt gives a working shell; poweroff ends QEMU")
    func cdExpert() async throws {
        let out = try await SharedImage.shared.outDir()
        // No --mode: type the label at the prompt ourselves, as a user at the console would.
        let console = try boot("cd-expert", [out + "/clump.iso"])
        try console.expect("boot:", within: Self.bootSeconds)
        console.type("expert")
        try console.expectWorkingShellThenPowerOff(within: Self.bootSeconds)
    }
}
