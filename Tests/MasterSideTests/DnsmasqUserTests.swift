import Foundation
import Testing

@testable import MasterSide

/// dnsmasq answers anyone on the LAN: serve lets it run only as its own user with no capability,
/// and does not start it at all without the shim that takes the last one (CAP_NET_ADMIN) away.
@Suite struct DnsmasqUserTests {
    static let user = DnsmasqUser.Account(name: "clump-dnsmasq", group: "clump-dnsmasq", uid: 998)

    func root(status: String) throws -> String {
        let root = NSTemporaryDirectory() + "clump-dnsmasq-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/proc/42", withIntermediateDirectories: true)
        try status.write(toFile: root + "/proc/42/status", atomically: true, encoding: .utf8)
        return root
    }

    static func status(uid: String, effective: String, permitted: String) -> String {
        "Name:\tdnsmasq\nUid:\t\(uid)\t\(uid)\t\(uid)\t\(uid)\nCapInh:\t0000000000000000\nCapPrm:\t\(permitted)\n"
            + "CapEff:\t\(effective)\nCapBnd:\t000001ffffffffff\n"
    }

    @Test func withNoCapabilityItServes() throws {
        let root = try root(status: Self.status(uid: "998", effective: "0000000000000000", permitted: "0000000000000000"))
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (line, ok) = DnsmasqUser.describe(pid: 42, user: Self.user, root: root)
        #expect(ok)
        #expect(line == "clump: dnsmasq serves as clump-dnsmasq (uid 998) with no capabilities")
    }

    @Test(arguments: [
        ("998", "0000000000000000", "0000000000001000"),  // CAP_NET_ADMIN kept in the permitted set
        ("998", "0000000000001000", "0000000000001000"),
        ("0", "0000000000000000", "0000000000000000"),  // still root
    ])
    func aCapabilityOrRootKeptIsRefused(uid: String, effective: String, permitted: String) throws {
        let root = try root(status: Self.status(uid: uid, effective: effective, permitted: permitted))
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (line, ok) = DnsmasqUser.describe(pid: 42, user: Self.user, root: root)
        #expect(!ok)
        #expect(line.contains("stopped it"), "\(line)")
    }

    @Test func withoutTheShimServeDoesNotStart() {
        #expect {
            _ = try DnsmasqUser.capabilityShim(candidates: ["/nonexistent/libclump-capdrop.so"])
        } throws: { error in
            "\(error)".hasPrefix("/nonexistent/libclump-capdrop.so: libclump-capdrop.so is missing")
                && "\(error)".contains("--product clump-capdrop")
        }
    }
}
