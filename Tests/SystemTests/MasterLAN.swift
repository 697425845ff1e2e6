import Foundation
import TestSupport

/// A lab LAN for the master's side, in one network namespace: a bridge at 10.66.0.1/24 where
/// `clumpbuild serve` runs, a tap per drone, and optionally a second DHCP server (another host,
/// in its own namespace on a veth into the bridge) that only hands out addresses, as an office
/// router would. Nothing leaves the namespaces; `remove()` deletes them with everything in them.
final class MasterLAN: @unchecked Sendable {
    let namespace: String
    let otherNamespace: String
    private let directory: String
    private var other: pid_t?

    static let network = "10.66.0.0/24"

    init(taps: Int) throws {
        let id = getpid() % 100_000
        namespace = "clumpmaster\(id)"
        otherNamespace = "clumpother\(id)"
        directory = try Harness.scratch("masterlan")
        do {
            try DroneLAN.makeBridge(in: namespace, address: "10.66.0.1/24", taps: (1...taps).map(tap))
        } catch {
            remove()
            throw error
        }
    }

    func tap(_ drone: Int) -> String { "tap\(drone)" }

    /// `clumpbuild boot` arguments that PXE-boot the master's TFTP tree through the card's boot ROM
    /// (iPXE in QEMU) on the drone's tap.
    func pxeBoot(_ tftp: String, drone: Int, mac: String) -> [String] {
        [tftp, "--nic", "e1000,tap=\(tap(drone)),mac=\(mac)", "--memory", "160", "--timeout", "600"]
    }

    /// Starts the other DHCP server: 10.66.0.100-150, no boot information, at 10.66.0.2.
    func startOtherServer() throws {
        try Spawn.run(["ip", "netns", "add", otherNamespace])
        try Spawn.run(["ip", "-n", otherNamespace, "link", "add", "eth0", "type", "veth", "peer", "name", "uplink", "netns", namespace])
        try ip(["link", "set", "uplink", "master", "br0", "up"])
        try Spawn.run(["ip", "-n", otherNamespace, "addr", "add", "10.66.0.2/24", "dev", "eth0"])
        try Spawn.run(["ip", "-n", otherNamespace, "link", "set", "eth0", "up"])
        other = try Spawn.start(
            [
                "ip", "netns", "exec", otherNamespace, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                "--interface=eth0", "--bind-interfaces", "--port=0", "--no-ping",
                "--dhcp-range=10.66.0.100,10.66.0.150,255.255.255.0,1h",
                "--dhcp-leasefile=\(directory)/other.leases", "--pid-file=",
            ], output: directory + "/other.log")
        Thread.sleep(forTimeInterval: 0.5)
    }

    func stopOtherServer() {
        if let other { Spawn.stop(other) }
        other = nil
        _ = try? Spawn.run(["ip", "netns", "del", otherNamespace])
    }

    /// dnsmasq processes still running for the master directory (none once serve has stopped).
    func dnsmasqLeft(for master: String) -> String {
        (try? Harness.run(["pgrep", "-af", "conf-file=\(master)"]).output) ?? ""
    }

    private func ip(_ arguments: [String]) throws { try Spawn.run(["ip", "-n", namespace] + arguments) }

    func remove() {
        stopOtherServer()
        _ = try? Spawn.run(["ip", "netns", "del", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
