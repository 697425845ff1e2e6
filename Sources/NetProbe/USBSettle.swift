import CSyscall
import Kernel

/// A USB device (not one of its interfaces) as sysfs shows it, with what a hub says about its ports.
public struct USBDevice: Hashable, Sendable {
    /// The kernel's name: `usb1` for a root hub, `1-2` or `1-2.3` behind one.
    public var name: String
    /// It has a configuration, so its interfaces (where drivers bind) are in sysfs.
    public var configured: Bool
    /// A hub (device class 9): more devices may appear behind it.
    public var isHub: Bool
    /// For a hub: ports with something plugged in, by the hub's own answer, that have no
    /// device in sysfs yet. nil when the hub could not be asked (no usbfs node); empty for a
    /// hub with nothing on the way and for every other device.
    public var enumerating: [Int]?

    public init(name: String, configured: Bool = true, isHub: Bool = false, enumerating: [Int]? = []) {
        self.name = name
        self.configured = configured
        self.isHub = isHub
        self.enumerating = enumerating
    }

    /// The name the kernel gives the device on `port` of this hub: `1-2` on root hub `usb1`,
    /// `1-2.3` on hub `1-2`.
    public func child(onPort port: Int) -> String {
        name.hasPrefix("usb") ? "\(name.dropFirst(3))-\(port)" : "\(name).\(port)"
    }

    /// Every USB device under `<root>/sys/bus/usb/devices`, sorted by name. Hubs are asked
    /// through their usbfs node (`<root>/dev/bus/usb/BBB/DDD`) which ports have something
    /// plugged in; `portConnected` is that question (nil: could not ask).
    public static func scan(
        root: String = "/",
        portConnected: (_ node: String, _ port: Int) -> Bool? = { node, port in
            let answer = clump_usb_port_connected(node, Int32(port))
            return answer < 0 ? nil : answer == 1
        }
    ) -> [USBDevice] {
        let base = Files.join(root, "sys/bus/usb/devices")
        guard let names = try? Files.list(base) else { return [] }
        let present = Set(names)
        var found: [USBDevice] = []
        for name in names.sorted() where !name.contains(":") {
            let directory = base + "/" + name
            var device = USBDevice(
                name: name, configured: !(SysfsText.read(directory + "/bConfigurationValue") ?? "").isEmpty,
                isHub: SysfsText.read(directory + "/bDeviceClass") == "09")
            if device.isHub, let ports = SysfsText.read(directory + "/maxchild").flatMap(Int.init),
                let bus = SysfsText.read(directory + "/busnum").flatMap(Int.init),
                let number = SysfsText.read(directory + "/devnum").flatMap(Int.init)
            {
                let node = Files.join(root, "dev/bus/usb/" + threeDigits(bus) + "/" + threeDigits(number))
                var waiting: [Int]? = []
                for port in stride(from: 1, through: ports, by: 1) where !present.contains(device.child(onPort: port)) {
                    guard let connected = portConnected(node, port) else {
                        waiting = nil
                        break
                    }
                    if connected { waiting?.append(port) }
                }
                device.enumerating = waiting
            }
            found.append(device)
        }
        return found
    }

    private static func threeDigits(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 3 - text.count)) + text
    }
}

/// Whether USB still has devices on the way. A USB host driver returns before anything behind
/// it exists: the hub driver powers the ports, waits for plugged-in devices to settle
/// (debounce, at least 100 ms), resets and addresses them one by one in a work queue, and
/// only then do they (and their interfaces, where a network driver binds) appear. A scan right
/// after loading xhci_pci sees an empty bus; so the probe waits until every hub says no port of
/// it has a device sysfs lacks, and every device is configured and has had a moment to show
/// its interfaces.
public enum USBSettle {
    /// A hub this new may still be powering its ports (USB 2.0 7.1.7.3: a device signals
    /// attach within 100 ms of power), so a port it says is empty may not stay so.
    static let youngHubMilliseconds: Int64 = 300
    /// A configured device this new may still be adding its interfaces.
    static let youngDeviceMilliseconds: Int64 = 100
    /// How long a hub that cannot be asked (no usbfs) gets to show its devices.
    static let unaskedHubMilliseconds: Int64 = 1_500
    /// The longest the probe waits for USB in all: a device that never finishes enumerating
    /// (a broken one, error -71) must not hold the boot.
    public static let limitMilliseconds: Int64 = 5_000

    /// What USB is still waiting for, for the console (`port 1-2 of usb1`); nil when it has
    /// settled. `firstSeen` says when each device name was first seen.
    public static func pending(_ devices: [USBDevice], firstSeen: [String: DHCPInstant], now: DHCPInstant) -> String? {
        for device in devices {
            let age = firstSeen[device.name].map { now.milliseconds - $0.milliseconds } ?? 0
            if let ports = device.enumerating, let port = ports.first {
                return "a device on port \(port) of \(device.name) is still being enumerated"
            }
            if device.enumerating == nil && age < unaskedHubMilliseconds {
                return "hub \(device.name) cannot be asked about its ports; giving it time"
            }
            if !device.configured { return "\(device.name) is not configured yet" }
            if age < (device.isHub ? youngHubMilliseconds : youngDeviceMilliseconds) {
                return "\(device.name) has just appeared"
            }
        }
        return nil
    }
}
