import Foundation
import TestSupport

/// A lab network for VMs in one network namespace: a bridge at 10.88.0.1/24 with real dnsmasq
/// serving DHCP on it, and one tap per drone on the bridge. Drone N has the MAC
/// 52:54:00:00:88:(10+N) and always gets 10.88.0.(10+N), so it is node 10+N. QEMU runs inside
/// the namespace (`ip netns exec`), so nothing leaves it. `remove()` stops dnsmasq and deletes
/// the namespace with everything in it.
final class DroneLAN: @unchecked Sendable {
    let namespace: String
    let drones: Int
    private let directory: String
    private var dnsmasq: pid_t?

    /// The first three octets of the LAN's /24.
    let prefix: String

    /// A LAN named `name`<pid> on `prefix`.0/24 (tests running side by side each take their own).
    init(drones: Int, name: String = "clumplan", prefix: String = "10.88.0") throws {
        namespace = "\(name)\(getpid() % 100_000)"
        self.drones = drones
        self.prefix = prefix
        directory = try Harness.scratch("lan")
        for tool in ["ip", "dnsmasq"] where (try? Spawn.run(["which", tool])) == nil {
            throw HarnessError("the drone LAN needs \(tool): apt-get install \(tool == "ip" ? "iproute2" : tool)")
        }
        do {
            try Self.makeBridge(in: namespace, address: "\(prefix).1/24", taps: (1...drones).map(tap))
            let hosts = (1...drones).map { "--dhcp-host=\(mac($0)),\(address($0))" }
            let pid = try Spawn.start(
                [
                    "ip", "netns", "exec", namespace, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                    "--interface=br0", "--bind-interfaces", "--port=0", "--log-dhcp", "--no-ping",
                    "--dhcp-range=\(prefix).100,\(prefix).150,255.255.255.0,1h",
                    "--dhcp-leasefile=\(directory)/leases", "--pid-file=\(directory)/dnsmasq.pid",
                ] + hosts, output: directory + "/dnsmasq.log")
            dnsmasq = pid
            Thread.sleep(forTimeInterval: 0.3)
            if let status = Spawn.wait(pid, timeout: 0) {
                dnsmasq = nil
                throw HarnessError("dnsmasq exited (\(status)): \(dnsmasqLog)")
            }
        } catch {
            remove()
            throw error
        }
    }

    func tap(_ drone: Int) -> String { "tap\(drone)" }

    /// A new namespace with a bridge `br0` at `address` and the taps on it, all up.
    static func makeBridge(in namespace: String, address: String, taps: [String]) throws {
        func ip(_ arguments: [String]) throws { try Spawn.run(["ip", "-n", namespace] + arguments) }
        try Spawn.run(["ip", "netns", "add", namespace])
        try ip(["link", "set", "lo", "up"])
        try ip(["link", "add", "br0", "type", "bridge"])
        try ip(["addr", "add", address, "dev", "br0"])
        try ip(["link", "set", "br0", "up"])
        for tap in taps {
            try ip(["tuntap", "add", "dev", tap, "mode", "tap"])
            try ip(["link", "set", tap, "master", "br0", "up"])
        }
    }

    /// A PC of someone else's on the LAN of `namespace`: a namespace of its own with `address`, on the bridge.
    static func addHost(to namespace: String, address: String) throws -> String {
        let host = namespace + "x"
        try Spawn.run(["ip", "netns", "add", host])
        try Spawn.run(["ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "attacker", "netns", namespace])
        try Spawn.run(["ip", "-n", namespace, "link", "set", "attacker", "master", "br0", "up"])
        try Spawn.run(["ip", "-n", host, "addr", "add", address, "dev", "eth0"])
        try Spawn.run(["ip", "-n", host, "link", "set", "eth0", "up"])
        try Spawn.run(["ip", "-n", host, "link", "set", "lo", "up"])
        return host
    }

    static func removeHost(_ host: String) {
        _ = try? Spawn.run(["ip", "netns", "del", host])
    }

    func mac(_ drone: Int) -> String { String(format: "52:54:00:00:88:%02d", 10 + drone) }
    func address(_ drone: Int) -> String { "\(prefix).\(10 + drone)" }

    /// `clumpbuild boot` arguments that put a drone's card on its tap.
    func nic(_ drone: Int) -> [String] { ["--nic", "e1000,tap=\(tap(drone)),mac=\(mac(drone))"] }

    var dnsmasqLog: String { (try? String(contentsOfFile: directory + "/dnsmasq.log", encoding: .utf8)) ?? "(no log)" }

    private func ip(_ arguments: [String]) throws { try Spawn.run(["ip", "-n", namespace] + arguments) }

    func remove() {
        if let dnsmasq { Spawn.stop(dnsmasq) }
        dnsmasq = nil
        _ = try? Spawn.run(["ip", "netns", "del", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
