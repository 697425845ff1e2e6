import Foundation
import Kernel
import Testing

@testable import NetProbe

/// A sysfs + lib/modules tree in a temporary directory, built the way the kernel lays it out:
/// class/net entries are links into /sys/devices, `device` and `driver` are relative links.
final class SysfsTree {
    let root: String
    static let release = "6.1.0-test"

    init() throws {
        root = NSTemporaryDirectory() + "netprobe-sysfs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let modules = root + "/lib/modules/\(Self.release)"
        try FileManager.default.createDirectory(atPath: modules, withIntermediateDirectories: true)
        for name in ["modules.alias", "modules.dep", "modules.builtin", "modules.softdep"] {
            let source = try Fixture.url("modules-sample/" + name)
            try FileManager.default.copyItem(atPath: source.path, toPath: modules + "/" + name)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func link(_ path: String, to target: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    /// A PCI device with its modalias, listed under bus/pci/devices as sysfs does.
    func pciDevice(_ address: String, modalias: String) throws {
        try write("sys/devices/pci0000:00/\(address)/modalias", modalias + "\n")
        try link("sys/bus/pci/devices/\(address)", to: "../../../devices/pci0000:00/\(address)")
    }

    /// An interface on a device at `devicePath` (below sys/devices) bound to `driver`.
    func interface(
        _ name: String, devicePath: String?, driver: String?, mac: String, index: Int, type: Int = 1,
        carrier: String? = "1"
    ) throws {
        let directory: String
        if let devicePath {
            directory = "sys/devices/\(devicePath)/net/\(name)"
            let depth = devicePath.split(separator: "/").count
            try link("sys/class/net/\(name)", to: "../../devices/\(devicePath)/net/\(name)")
            try link(directory + "/device", to: "../..")
            if let driver {
                try write("sys/bus/pci/drivers/\(driver)/bind", "")
                try link(
                    "sys/devices/\(devicePath)/driver",
                    to: String(repeating: "../", count: depth + 1) + "bus/pci/drivers/\(driver)")
            }
        } else {
            directory = "sys/devices/virtual/net/\(name)"
            try link("sys/class/net/\(name)", to: "../../devices/virtual/net/\(name)")
        }
        try write(directory + "/address", mac + "\n")
        try write(directory + "/ifindex", "\(index)\n")
        try write(directory + "/type", "\(type)\n")
        if let carrier { try write(directory + "/carrier", carrier + "\n") }
    }

    func index() throws -> ModuleIndex { try ModuleIndex.load(root: root, release: Self.release) }
}

let e1000Alias = "pci:v00008086d0000100Esv00008086sd0000001Ebc02sc00i00"
let virtioPCIAlias = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"
let virtioNetAlias = "virtio:d00000001v00001AF4"

@Suite struct DeviceScanTests {
    @Test func readsEveryBusAndSkipsDevicesWithoutModalias() throws {
        let tree = try SysfsTree()
        try tree.pciDevice("0000:00:03.0", modalias: e1000Alias)
        try tree.write("sys/bus/virtio/devices/virtio0/modalias", virtioNetAlias + "\n")
        try tree.write("sys/bus/cpu/devices/cpu0/online", "1\n")
        let devices = try DeviceScan.devices(root: tree.root)
        #expect(
            devices == [
                BusDevice(path: "pci/devices/0000:00:03.0", modalias: e1000Alias),
                BusDevice(path: "virtio/devices/virtio0", modalias: virtioNetAlias),
            ])
    }

    @Test func anEmptyTreeHasNoDevices() throws {
        let tree = try SysfsTree()
        #expect(try DeviceScan.devices(root: tree.root).isEmpty)
    }
}

@Suite struct DriverPlanTests {
    func device(_ alias: String) -> BusDevice { BusDevice(path: "pci/devices/x", modalias: alias) }

    @Test(arguments: [
        (e1000Alias, ["e1000"]),
        // virtio-pci first: virtio_net's device appears only once it is loaded
        // (modules.dep lists dependencies so that the last is loaded first)
        (virtioPCIAlias, ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci"]),
        (virtioNetAlias, ["virtio_ring", "virtio", "failover", "net_failover", "virtio_net"]),
        // 8139too's alias has a '*' for the vendor
        ("pci:v000010ECd00008139sv000010ECsd00008139bc02sc00i00", ["mii", "8139too"]),
        // softdep pre: the PHY driver goes before r8169, after its own dependency
        ("pci:v000010ECd00008168sv00001043sd00008554bc02sc00i00", ["libphy", "realtek", "mdio_devres", "r8169"]),
        // a built-in driver has nothing to load
        ("pci:v00008086d00007000sv00000000sd00000000bc01sc01i80", []),
        ("pci:v0000DEADd0000BEEFsv00000000sd00000000bc02sc00i00", []),
    ])
    func closureInLoadOrder(modalias: String, expected: [String]) throws {
        let tree = try SysfsTree()
        let plan = try DriverPlan(devices: [device(modalias)], index: try tree.index())
        #expect(plan.modules.map(\.name) == expected)
    }

    @Test func dependenciesComeBeforeEveryUser() throws {
        let tree = try SysfsTree()
        let devices = [device(virtioNetAlias), device(virtioPCIAlias), device(e1000Alias)]
        let plan = try DriverPlan(devices: devices, index: try tree.index())
        let order = plan.modules.map(\.name)
        #expect(Set(order).count == order.count, "each module once")
        for module in plan.modules {
            for dependency in module.dependencies {
                let (d, m) = (order.firstIndex(of: dependency), order.firstIndex(of: module.name))
                #expect(d != nil && m != nil && d! < m!, "\(dependency) before \(module.name)")
            }
        }
        #expect(plan.reasons["e1000"] == ["pci/devices/x"])
        #expect(plan.reasons["virtio"] == nil, "a dependency has no device of its own")
    }

    @Test func loadedAndTriedModulesAreLeftOut() throws {
        let tree = try SysfsTree()
        let index = try tree.index()
        let loaded = try DriverPlan(
            devices: [device(virtioNetAlias)], index: index, loaded: ["virtio", "virtio_ring", "failover"])
        #expect(loaded.modules.map(\.name) == ["net_failover", "virtio_net"])
        let tried = try DriverPlan(devices: [device(e1000Alias)], index: index, tried: ["e1000"])
        #expect(tried.modules.isEmpty, "a module that failed once is not retried every round")
    }

    @Test func loadedModulesComeFromSysModule() throws {
        let tree = try SysfsTree()
        try tree.write("sys/module/e1000/refcnt", "0\n")
        try tree.write("sys/module/virtio/refcnt", "2\n")
        #expect(DriverPlan.loadedModules(root: tree.root) == ["e1000", "virtio"])
    }

    @Test func probePlanReadsTheTree() throws {
        let tree = try SysfsTree()
        try tree.pciDevice("0000:00:03.0", modalias: e1000Alias)
        try tree.pciDevice("0000:00:04.0", modalias: virtioPCIAlias)
        try tree.write("sys/module/virtio_pci/refcnt", "0\n")
        let probe = try NICProbe(root: tree.root, release: SysfsTree.release)
        #expect(try probe.plan().modules.map(\.name) == ["e1000"])
    }

    @Test func aMissingModuleFileIsAClearError() throws {
        let tree = try SysfsTree()
        let index = try tree.index()
        let loader = ModuleLoader(index: index)
        let module = try #require(index.module(named: "e1000"))
        let error = try #require(throws: DHCPError.self) { try loader.load(module) }
        #expect("\(error)".contains("e1000.ko.xz"))
        #expect(error.errno == ENOENT)
    }
}

@Suite struct NetworkInterfaceTests {
    @Test func ethernetCardsOnlySortedByBusAddress() throws {
        let tree = try SysfsTree()
        try tree.interface(
            "eth1", devicePath: "pci0000:00/0000:00:04.0/virtio0", driver: "virtio_net", mac: "52:54:00:12:34:57",
            index: 3)
        try tree.interface("eth0", devicePath: "pci0000:00/0000:00:03.0", driver: "e1000", mac: "52:54:00:12:34:56", index: 2, carrier: nil)
        try tree.interface("lo", devicePath: nil, driver: nil, mac: "00:00:00:00:00:00", index: 1, type: 772)
        try tree.interface("br0", devicePath: nil, driver: nil, mac: "02:00:00:00:00:01", index: 4)
        try tree.interface("wlan0", devicePath: "pci0000:00/0000:00:02.0", driver: "iwlwifi", mac: "02:00:00:00:00:02", index: 5)
        try tree.write("sys/class/net/wlan0/wireless/.keep", "")
        try tree.interface("ib0", devicePath: "pci0000:00/0000:00:05.0", driver: "mlx4", mac: "80:00", index: 6, type: 32)

        let cards = try NetworkInterface.ethernet(root: tree.root)
        #expect(
            cards == [
                NetworkInterface(
                    name: "eth0", index: 2, mac: "52:54:00:12:34:56", driver: "e1000", busAddress: "0000:00:03.0",
                    carrier: false),
                NetworkInterface(
                    name: "eth1", index: 3, mac: "52:54:00:12:34:57", driver: "virtio_net", busAddress: "0000:00:04.0",
                    carrier: true),
            ])
        #expect(cards[0].description == "nic eth0 52:54:00:12:34:56 driver e1000")
    }

    @Test(arguments: [
        ("/sys/devices/pci0000:00/0000:00:03.0", "0000:00:03.0"),
        ("/sys/devices/pci0000:00/0000:00:04.0/virtio1", "0000:00:04.0"),
        ("/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0", "0000:02:00.0"),
        ("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0", "0000:00:14.0/1-2:1.0"),
        ("/sys/devices/pci0000:00/0000:00:14.0/usb3/3-1/3-1.4/3-1.4:2.1", "0000:00:14.0/3-1.4:2.1"),
        ("/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0/usb2/2-10/2-10:1.0", "0000:02:00.0/2-10:1.0"),
        ("/sys/devices/platform/soc/ff540000.ethernet", "platform/soc/ff540000.ethernet"),
    ])
    func busAddress(path: String, expected: String) {
        #expect(NetworkInterface.busAddress(devicePath: path) == expected)
    }

    /// An e1000 this probe loaded is opened 0.6 s after its load at the earliest; other
    /// drivers, and an e1000 built in or loaded before, at once.
    @Test func e1000IsOpenedOnlyOnceItsPHYHadTimeToNegotiate() {
        let e1000 = NetworkInterface(name: "eth0", index: 2, mac: "52:54:00:12:34:56", driver: "e1000")
        let virtio = NetworkInterface(name: "eth1", index: 3, mac: "52:54:00:12:34:57", driver: "virtio_net")
        let loaded = ["e1000": DHCPInstant(milliseconds: 1_000), "virtio_net": DHCPInstant(milliseconds: 1_200)]
        #expect(NICProbe.openAt([virtio, e1000], loadedAt: loaded) == DHCPInstant(milliseconds: 1_600))
        #expect(NICProbe.openAt([virtio], loadedAt: loaded) == nil)
        #expect(NICProbe.openAt([e1000], loadedAt: [:]) == nil)
    }

    /// While USB settles, cards already found are opened, each once, and an e1000 only once
    /// its PHY reports link or its 0.6 s are over.
    @Test func openReadySkipsCardsOpenedAndCardsNotReady() throws {
        let tree = try SysfsTree()
        let probe = try NICProbe(root: tree.root, release: SysfsTree.release)
        let e1000 = NetworkInterface(name: "eth0", index: 2, mac: "52:54:00:12:34:56", driver: "e1000")
        let virtio = NetworkInterface(name: "eth1", index: 3, mac: "52:54:00:12:34:57", driver: "virtio_net")
        let usb = NetworkInterface(name: "usb0", index: 4, mac: "52:54:00:12:34:58", driver: "cdc_ether")
        probe.loadedAt["e1000"] = DHCPClock.now()
        probe.phyLink = { _ in false }
        let say: NICProbe.Say = { Issue.record("unexpected: \($0)") }
        #expect(probe.openReady([e1000, virtio, usb], opened: ["usb0"], netlink: nil, say: say) == ["eth1"])
        // Its PHY has link: no need to wait any longer.
        probe.phyLink = { $0 == "eth0" ? true : nil }
        #expect(probe.openReady([e1000, virtio, usb], opened: ["usb0", "eth1"], netlink: nil, say: say) == ["eth0"])
        // No answer from the PHY: the wait ends 0.6 s after the probe.
        probe.phyLink = { _ in nil }
        #expect(probe.openReady([e1000], opened: [], netlink: nil, say: say) == [])
        probe.loadedAt["e1000"] = DHCPClock.now().adding(milliseconds: -600)
        #expect(probe.openReady([e1000, virtio, usb], opened: ["usb0", "eth1"], netlink: nil, say: say) == ["eth0"])
    }

    /// A built-in e1000 (drone-minimal) was probed before /init: its PHY gets the same wait,
    /// counted from the first look, instead of being opened at once and missing the link.
    @Test func builtInE1000WaitsForItsPHYToo() throws {
        let tree = try SysfsTree()
        let probe = try NICProbe(root: tree.root, release: SysfsTree.release)
        let e1000 = NetworkInterface(name: "eth0", index: 2, mac: "52:54:00:12:34:56", driver: "e1000")
        let say: NICProbe.Say = { Issue.record("unexpected: \($0)") }
        probe.phyLink = { _ in false }
        #expect(probe.openReady([e1000], opened: [], netlink: nil, say: say) == [])
        #expect(probe.loadedAt["e1000"] != nil)
        probe.phyLink = { _ in true }
        #expect(probe.openReady([e1000], opened: [], netlink: nil, say: say) == ["eth0"])
    }

    @Test func carrierWaitEndsWhenEveryCardHasIt() throws {
        let tree = try SysfsTree()
        try tree.interface("eth0", devicePath: "pci0000:00/0000:00:03.0", driver: "e1000", mac: "52:54:00:12:34:56", index: 2, carrier: "0")
        try tree.interface("eth1", devicePath: "pci0000:00/0000:00:04.0", driver: "e1000", mac: "52:54:00:12:34:57", index: 3)
        let probe = try NICProbe(root: tree.root, release: SysfsTree.release)
        let cards = try probe.interfaces()
        var lines: [String] = []
        let up = probe.bringUp(cards, netlink: nil, timeoutMilliseconds: 100, pollMilliseconds: 50) { lines.append($0) }
        #expect(up.map(\.carrier) == [false, true])
        #expect(lines.isEmpty)
    }
}
