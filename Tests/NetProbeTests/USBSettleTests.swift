import Foundation
import Testing

@testable import NetProbe

@Suite struct USBSettleTests {
    static let t0 = DHCPInstant(milliseconds: 10_000)

    static func at(_ milliseconds: Int64) -> DHCPInstant { t0.adding(milliseconds: milliseconds) }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var devices: [USBDevice]
        var seen: [String: Int64]
        var now: Int64
        var pending: String?
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(name: "no USB at all", devices: [], seen: [:], now: 0, pending: nil),
        Case(
            name: "a root hub with a device plugged in that sysfs does not show yet",
            devices: [USBDevice(name: "usb1", isHub: true, enumerating: [3])], seen: ["usb1": 0], now: 2_000,
            pending: "a device on port 3 of usb1 is still being enumerated"),
        Case(
            name: "a hub this new may still be powering its ports",
            devices: [USBDevice(name: "usb1", isHub: true)], seen: ["usb1": 0], now: 299,
            pending: "usb1 has just appeared"),
        Case(
            name: "an old hub with nothing on its ports is settled",
            devices: [USBDevice(name: "usb1", isHub: true)], seen: ["usb1": 0], now: 300, pending: nil),
        Case(
            name: "a hub that cannot be asked gets 1.5 s",
            devices: [USBDevice(name: "usb1", isHub: true, enumerating: nil)], seen: ["usb1": 0], now: 1_499,
            pending: "hub usb1 cannot be asked about its ports; giving it time"),
        Case(
            name: "and then counts as settled",
            devices: [USBDevice(name: "usb1", isHub: true, enumerating: nil)], seen: ["usb1": 0], now: 1_500,
            pending: nil),
        Case(
            name: "a device without a configuration has no interfaces for a driver yet",
            devices: [USBDevice(name: "usb1", isHub: true), USBDevice(name: "1-1", configured: false)],
            seen: ["usb1": 0, "1-1": 0], now: 3_000, pending: "1-1 is not configured yet"),
        Case(
            name: "a configured device gets 100 ms to add its interfaces",
            devices: [USBDevice(name: "usb1", isHub: true), USBDevice(name: "1-1")],
            seen: ["usb1": 0, "1-1": 900], now: 999, pending: "1-1 has just appeared"),
        Case(
            name: "a keyboard and a card, both in place",
            devices: [USBDevice(name: "usb1", isHub: true), USBDevice(name: "1-1"), USBDevice(name: "1-2")],
            seen: ["usb1": 0, "1-1": 400, "1-2": 500], now: 600, pending: nil),
    ])
    func pending(_ c: Case) {
        let seen = c.seen.mapValues(Self.at)
        #expect(USBSettle.pending(c.devices, firstSeen: seen, now: Self.at(c.now)) == c.pending)
    }

    @Test func childNamesFollowTheKernel() {
        #expect(USBDevice(name: "usb2").child(onPort: 4) == "2-4")
        #expect(USBDevice(name: "2-4").child(onPort: 1) == "2-4.1")
        #expect(USBDevice(name: "2-4.1").child(onPort: 12) == "2-4.1.12")
    }

    /// A root hub with a card on port 1 (in sysfs) and something on port 3 still being
    /// enumerated; the hub's usbfs node is named from busnum/devnum; interfaces are not devices.
    @Test func scanReadsHubsFromSysfsAndAsksThemAboutTheirEmptyPorts() throws {
        let tree = try SysfsTree()
        let base = "sys/bus/usb/devices/"
        for (name, value) in [("bDeviceClass", "09"), ("maxchild", "4"), ("busnum", "1"), ("devnum", "1"), ("bConfigurationValue", "1")] {
            try tree.write(base + "usb1/" + name, value + "\n")
        }
        try tree.write(base + "1-1/bDeviceClass", "02\n")
        try tree.write(base + "1-1/bConfigurationValue", "\n")
        try tree.write(base + "1-1:1.0/modalias", "usb:v0525pA4A2d0000dc02dsc00dp00ic02isc06ip00in00\n")
        var asked: [String] = []
        let devices = USBDevice.scan(root: tree.root) { node, port in
            asked.append("\(node) \(port)")
            return port == 3
        }
        let node = tree.root + "/dev/bus/usb/001/001"
        #expect(asked == ["\(node) 2", "\(node) 3", "\(node) 4"])
        #expect(
            devices == [
                USBDevice(name: "1-1", configured: false, isHub: false, enumerating: []),
                USBDevice(name: "usb1", configured: true, isHub: true, enumerating: [3]),
            ])
        let unasked = USBDevice.scan(root: tree.root) { _, _ in nil }
        #expect(unasked.last?.enumerating == nil)
    }

    @Test(arguments: [
        ("1-2:1.0", true), ("3-1.4.2:2.1", true), ("12-10:1.0", true),
        ("usb1", false), ("1-2", false), ("1-0:1.0x", false), ("1-:1.0", false), ("1-2:1", false),
        ("0000:00:14.0", false), ("virtio1", false),
    ])
    func usbInterfaceNames(name: String, expected: Bool) {
        #expect(NetworkInterface.isUSBInterface(name) == expected)
    }
}
