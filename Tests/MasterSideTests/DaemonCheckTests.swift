import Foundation
import Testing

@testable import MasterSide

/// The generated configurations, checked by the daemons themselves: a config that only looks right
/// to us fails here.
@Suite(.serialized) struct DaemonCheckTests {
    static func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func tool(_ path: String, package: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MasterSideError("missing", subject: path, hint: "apt-get install \(package) (scripts/test does)")
        }
        return path
    }

    @Test func twoHundredFiftyNodesPassDnsmasqDhcpdAndKea() throws {
        let fixture = try MasterFixture(network: "10.0.0.0/16", count: 250)
        defer { fixture.remove() }
        let report = try fixture.generator().generate()
        let dir = report.directory
        let dnsmasq = try Self.tool("/usr/sbin/dnsmasq", package: "dnsmasq-base")
        for config in [MasterLayout.dnsmasq, MasterLayout.dnsmasqProxy] {
            let check = try Self.run([dnsmasq, "--test", "--conf-file=\(dir)/\(config)"])
            #expect(check.status == 0 && check.output.contains("syntax check OK"), "\(config): \(check.output)")
        }
        let dhcpd = try Self.run([try Self.tool("/usr/sbin/dhcpd", package: "isc-dhcp-server"), "-t", "-cf", "\(dir)/\(MasterLayout.dhcpd)"])
        #expect(dhcpd.status == 0, "\(dhcpd.output)")
        let kea = try Self.run([try Self.tool("/usr/sbin/kea-dhcp4", package: "kea-dhcp4-server"), "-t", "\(dir)/\(MasterLayout.kea)"])
        #expect(kea.status == 0, "\(kea.output)")

        // What the daemons accepted is what we meant: every card reserved, boot files by client kind.
        let hosts = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/\(MasterLayout.dnsmasqHosts)")
        #expect(hosts.count == 250)
        let dhcpdText = try String(contentsOfFile: "\(dir)/\(MasterLayout.dhcpd)", encoding: .utf8)
        #expect(dhcpdText.components(separatedBy: "hardware ethernet").count - 1 == 250 + 250 / 4)
        #expect(dhcpdText.contains("range 10.0.192.0 10.0.255.254;"))
        let kea4 = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(MasterLayout.kea)")))
        let dhcp4 = try #require((kea4 as? [String: Any])?["Dhcp4"] as? [String: Any])
        let subnet = try #require((dhcp4["subnet4"] as? [[String: Any]])?.first)
        #expect((subnet["reservations"] as? [Any])?.count == 250 + 250 / 4)
        let classes = (dhcp4["client-classes"] as? [[String: Any]])?.compactMap { $0["boot-file-name"] as? String }
        #expect(classes == ["boot.ipxe", "bootx64.efi", "pxelinux.0"])
    }

    @Test func aDhcpdConfigWithABadLineFailsItsCheck() throws {
        // The check itself can fail: a broken file is refused, so the test above means something.
        let path = NSTemporaryDirectory() + "clump-bad-dhcpd-\(getpid()).conf"
        try "subnet 10.0.2.0 netmask 255.255.255.0 { rnage 10.0.2.9 10.0.2.10; }\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Self.run([try Self.tool("/usr/sbin/dhcpd", package: "isc-dhcp-server"), "-t", "-cf", path]).status != 0)
    }
}
