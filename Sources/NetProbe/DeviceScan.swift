import Kernel

/// A device the kernel has found on some bus, and the alias a driver must match to take it.
public struct BusDevice: Hashable, Sendable {
    /// Below `<root>/sys/bus`: `pci/devices/0000:00:03.0`.
    public var path: String
    /// The contents of its `modalias` file: `pci:v00008086d0000100Esv...`.
    public var modalias: String

    public init(path: String, modalias: String) {
        self.path = path
        self.modalias = modalias
    }
}

/// Reads what udev would react to, without udev: every `<root>/sys/bus/*/devices/*/modalias`.
/// PCI, USB, virtio, platform, ... all publish one (drivers/base/core.c `dev_uevent`), so one
/// scan covers every bus with no list of bus types.
public enum DeviceScan {
    /// Every device with a non-empty modalias, sorted by path.
    public static func devices(root: String = "/") throws -> [BusDevice] {
        let bus = Files.join(root, "sys/bus")
        var found: [BusDevice] = []
        do {
            for busName in try Files.list(bus) ?? [] {
                let devices = bus + "/" + busName + "/devices"
                for device in try Files.list(devices) ?? [] {
                    guard let bytes = try? Files.readIfPresent(devices + "/" + device + "/modalias") else { continue }
                    let text = SysfsText.trimmed(bytes)
                    if !text.isEmpty { found.append(BusDevice(path: busName + "/devices/" + device, modalias: text)) }
                }
            }
        } catch {
            throw DHCPError(.invalid("cannot scan \(bus): \(error)"), hint: "is sysfs mounted?")
        }
        return found
    }
}

/// Sysfs attribute text: one value and a newline.
enum SysfsText {
    static func trimmed(_ bytes: [UInt8]) -> String {
        var end = bytes.count
        while end > 0 && (bytes[end - 1] == 10 || bytes[end - 1] == 32 || bytes[end - 1] == 0) { end -= 1 }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    /// The attribute at `path`, trimmed; nil if it is missing or unreadable (sysfs refuses to
    /// read some attributes in some states: `carrier` of a down link gives EINVAL).
    static func read(_ path: String) -> String? {
        guard let bytes = try? Files.readIfPresent(path) else { return nil }
        return trimmed(bytes)
    }
}
