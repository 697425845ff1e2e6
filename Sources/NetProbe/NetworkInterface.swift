import Kernel

/// An ethernet card the kernel has made an interface for, as sysfs describes it.
public struct NetworkInterface: Hashable, Sendable, CustomStringConvertible {
    /// `eth0`, `enp0s3`.
    public var name: String
    /// The kernel's interface index (for netlink).
    public var index: Int32
    /// `52:54:00:12:34:56`.
    public var mac: String
    /// The driver bound to the device: the name of `device/driver`'s target (`e1000`, `virtio_net`).
    public var driver: String?
    /// Where the card sits: the innermost PCI address on the device's sysfs path
    /// (`0000:00:03.0`, also for a virtio card behind virtio-pci); for a USB card, its host
    /// controller's and then the USB interface, whose name is the chain of ports it is plugged
    /// into (`0000:00:14.0/1-2.3:1.0`); else the path below `/sys/devices`. Fixed by where the
    /// card is plugged in, so AutoMap can order cards by it.
    public var busAddress: String?
    /// `carrier` read 1.
    public var carrier: Bool

    public init(
        name: String, index: Int32, mac: String, driver: String? = nil, busAddress: String? = nil,
        carrier: Bool = false
    ) {
        self.name = name
        self.index = index
        self.mac = mac
        self.driver = driver
        self.busAddress = busAddress
        self.carrier = carrier
    }

    /// The console line after `clump: `: `nic eth0 52:54:00:12:34:56 driver e1000`.
    public var description: String { "nic \(name) \(mac) driver \(driver ?? "unknown")" }

    /// Ethernet interfaces under `<root>/sys/class/net`: ARPHRD_ETHER (`type` 1), backed by a
    /// device (a `device` link: not lo, bridges, veth or tunnels), and not wireless (a Wi-Fi
    /// card has no carrier before it associates, which a drone cannot do on its own). Sorted
    /// by bus address, then name, so the console lists cards the same way every boot.
    public static func ethernet(root: String = "/") throws -> [NetworkInterface] {
        let base = Files.join(root, "sys/class/net")
        let names: [String]
        do {
            names = try Files.list(base) ?? []
        } catch {
            throw DHCPError(.invalid("cannot list \(base): \(error)"), hint: "is sysfs mounted?")
        }
        var found: [NetworkInterface] = []
        for name in names where name != "lo" {
            let directory = base + "/" + name
            guard SysfsText.read(directory + "/type") == "1", Files.exists(directory + "/device"),
                !Files.exists(directory + "/wireless"), !Files.exists(directory + "/phy80211"),
                let mac = SysfsText.read(directory + "/address"),
                let index = SysfsText.read(directory + "/ifindex").flatMap({ Int32($0) })
            else { continue }
            let driver = Files.readLink(directory + "/device/driver").map(lastComponent)
            let device = Files.resolve(directory + "/device").map { busAddress(devicePath: $0) }
            found.append(
                NetworkInterface(
                    name: name, index: index, mac: mac, driver: driver, busAddress: device,
                    carrier: carrier(root: root, name: name)))
        }
        return found.sorted { ($0.busAddress ?? "~", $0.name) < ($1.busAddress ?? "~", $1.name) }
    }

    /// True if `<root>/sys/class/net/<name>/carrier` reads 1 (it cannot be read while the link is down).
    public static func carrier(root: String = "/", name: String) -> Bool {
        SysfsText.read(Files.join(root, "sys/class/net/\(name)/carrier")) == "1"
    }

    /// The innermost `dddd:bb:dd.f` component of a resolved device path, followed by the USB
    /// interface below it if there is one; else what follows `/devices/`.
    static func busAddress(devicePath: String) -> String {
        let components = devicePath.split(separator: "/").map(String.init)
        if let pci = components.lastIndex(where: isPCIAddress) {
            // Two USB cards share their controller's address; the port chain tells them apart
            // (their `usbN`, `ethN` and probe order do not: those follow enumeration).
            if let usb = components[(pci + 1)...].last(where: isUSBInterface) { return components[pci] + "/" + usb }
            return components[pci]
        }
        if let devices = components.lastIndex(of: "devices") {
            return components[(devices + 1)...].joined(separator: "/")
        }
        return devicePath
    }

    /// `0000:00:03.0`: domain:bus:slot.function in hex (Documentation/PCI/sysfs-pci.rst).
    static func isPCIAddress(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 12, bytes[4] == UInt8(ascii: ":"), bytes[7] == UInt8(ascii: ":"),
            bytes[10] == UInt8(ascii: ".")
        else { return false }
        return [0, 1, 2, 3, 5, 6, 8, 9, 11].allSatisfy { isHex(bytes[$0]) }
    }

    /// `1-2.3:1.0`: bus-port[.port...]:configuration.interface (drivers/usb/core/message.c).
    static func isUSBInterface(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let dash = parts[0].firstIndex(of: "-") else { return false }
        func numbers(_ part: Substring, _ separator: Character) -> Bool {
            let fields = part.split(separator: separator, omittingEmptySubsequences: false)
            return fields.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
        }
        let interface = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return numbers(parts[0][..<dash], "-") && numbers(parts[0][parts[0].index(after: dash)...], ".")
            && interface.count == 2 && numbers(parts[1], ".")
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte) || (65...70).contains(byte)
    }

    private static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
