import CSyscall
import Glibc
import Kernel

/// Finds every network card and makes it usable, with no udev and no list of drivers: match
/// each device's modalias against the image's modules.alias, load what matches, and again
/// until a round loads nothing new (a bus driver such as virtio-pci only then exposes the
/// devices behind it: virtio-net's card appears after virtio_pci is in). Then bring each
/// ethernet interface up and wait a bounded time for carrier.
///
/// Firmware needs nothing here: drivers ask the kernel, which reads `/lib/firmware` itself
/// (CONFIG_FW_LOADER direct loading), and the image puts the blobs there.
public final class NICProbe {
    /// A report line for the console, without `clump: `.
    public typealias Say = (String) -> Void

    public let root: String
    public let index: ModuleIndex
    let loader: ModuleLoader
    /// When each module `loadDrivers` loaded had finished loading (its devices probed), on
    /// `DHCPClock`'s clock.
    public internal(set) var loadedAt: [String: DHCPInstant] = [:]

    /// Drivers that must not be opened before their PHY has link, and the longest wait for it
    /// after their probe, in ms.
    ///
    /// e1000 (QEMU's and VirtualBox's default card) looks at the link from a watchdog that runs
    /// every 2 s, and the link interrupt does not bring a pending check forward
    /// (schedule_delayed_work leaves pending work alone). Opened before its PHY has negotiated
    /// (500 ms after the probe on QEMU), the first check finds no link and the next one comes
    /// 2 s later; opened after, the first check finds it. So the card is opened as soon as its
    /// PHY reports link (`phyLink`, which works while it is down), or after 0.6 s without an
    /// answer: that saves about 2 s.
    static let settleAfterProbe: [String: Int64] = ["e1000": 600]

    /// Whether an interface's PHY reports link (nil: cannot tell); replaceable for tests.
    var phyLink: (String) -> Bool? = { name in
        let answer = clump_phy_link(name)
        return answer < 0 ? nil : answer == 1
    }

    /// Reads the module indexes of the running kernel (`uname -r`) under `root`; falls back to
    /// the only (newest) release there, as an image carries one.
    public init(root: String = "/", release: String? = nil) throws {
        self.root = root
        let chosen = release ?? Self.runningRelease(root: root)
        do {
            index = try ModuleIndex.load(root: root, release: chosen)
        } catch {
            throw DHCPError(.invalid("cannot read the kernel's module indexes: \(error)"))
        }
        loader = ModuleLoader(index: index)
    }

    /// `uname -r` if `<root>/lib/modules` has it, else nil (the newest one is taken).
    static func runningRelease(root: String) -> String? {
        var names = utsname()
        guard uname(&names) == 0 else { return nil }
        let release = withUnsafeBytes(of: names.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return Files.isDirectory(Files.join(root, "lib/modules/\(release)")) ? release : nil
    }

    /// What the current devices would load, without loading anything (one round: devices
    /// behind a bus driver not loaded yet cannot be seen).
    public func plan() throws -> DriverPlan {
        try DriverPlan(devices: try DeviceScan.devices(root: root), index: index, loaded: DriverPlan.loadedModules(root: root))
    }

    /// Loads drivers in rounds until none is new (at most `maximumRounds` in a row), then, while
    /// USB devices are still on the way (`USBSettle`), waits for them and loads theirs too.
    /// Failures of single modules are reported and skipped: one odd device must not keep the
    /// others off the network. Returns the names of the modules loaded.
    ///
    /// `whileUSBSettles` runs on every poll of that wait, so the cards already found can start
    /// negotiating their links meanwhile (`openReady`).
    @discardableResult
    public func loadDrivers(
        maximumRounds: Int = 8, pollMilliseconds: Int = 20, say: Say, whileUSBSettles: () -> Void = {}
    ) throws -> [String] {
        var tried: Set<String> = []
        var loaded: [String] = []
        try loadRounds(maximumRounds, tried: &tried, loaded: &loaded, say: say)
        var firstSeen: [String: DHCPInstant] = [:]
        var present = usbEntries()
        let start = DHCPClock.now()
        while true {
            let now = DHCPClock.now()
            let devices = USBDevice.scan(root: root)
            for device in devices where firstSeen[device.name] == nil { firstSeen[device.name] = now }
            guard let reason = USBSettle.pending(devices, firstSeen: firstSeen, now: now) else { break }
            if now.milliseconds - start.milliseconds >= USBSettle.limitMilliseconds {
                say("usb: \(reason) after \(USBSettle.limitMilliseconds / 1000) s; going on without it")
                break
            }
            whileUSBSettles()
            usleep(UInt32(pollMilliseconds * 1000))
            // A new device or interface: its driver may be in the image.
            let entries = usbEntries()
            if entries != present {
                present = entries
                try loadRounds(maximumRounds, tried: &tried, loaded: &loaded, say: say)
            }
        }
        return loaded
    }

    /// The names under `/sys/bus/usb/devices`: devices and their interfaces.
    private func usbEntries() -> Set<String> {
        Set((try? Files.list(Files.join(root, "sys/bus/usb/devices"))) ?? [])
    }

    private func loadRounds(_ maximumRounds: Int, tried: inout Set<String>, loaded: inout [String], say: Say) throws {
        for _ in 0..<maximumRounds {
            let plan = try DriverPlan(
                devices: try DeviceScan.devices(root: root), index: index,
                loaded: DriverPlan.loadedModules(root: root), tried: tried)
            if plan.modules.isEmpty { break }
            var progress = false
            for module in plan.modules {
                tried.insert(module.name)
                do {
                    if try loader.load(module) == .loaded {
                        loaded.append(module.name)
                        loadedAt[module.name] = DHCPClock.now()
                        progress = true
                    }
                } catch {
                    say("module \(module.name) not loaded: \(error)")
                }
            }
            if !progress { break }
        }
    }

    /// Ethernet interfaces now present.
    public func interfaces() throws -> [NetworkInterface] {
        try NetworkInterface.ethernet(root: root)
    }

    /// Sets every interface up through rtnetlink, then waits until all have carrier or
    /// `timeoutMilliseconds` pass, polling sysfs every `pollMilliseconds` (no netlink
    /// subscription: a few reads of one file are all a boot needs). Returns the interfaces with
    /// `carrier` filled in.
    public func bringUp(
        _ interfaces: [NetworkInterface], netlink: NetlinkRoute?, timeoutMilliseconds: Int = 5_000,
        pollMilliseconds: Int = 10, say: Say
    ) -> [NetworkInterface] {
        // Each card as soon as it may be opened; the wait ends at the latest `openAt`.
        var opened = Set<String>()
        while true {
            opened.formUnion(openReady(interfaces, opened: opened, netlink: netlink, say: say))
            if interfaces.allSatisfy({ opened.contains($0.name) }) { break }
            usleep(UInt32(min(pollMilliseconds, 10) * 1000))
        }
        var result = interfaces
        var waited = 0
        while true {
            for position in result.indices where !result[position].carrier {
                result[position].carrier = NetworkInterface.carrier(root: root, name: result[position].name)
            }
            if result.allSatisfy(\.carrier) || waited >= timeoutMilliseconds { break }
            usleep(UInt32(pollMilliseconds * 1000))
            waited += pollMilliseconds
        }
        return result
    }

    /// Sets up those of `interfaces` that may be opened now (see `settleAfterProbe`: their wait
    /// is over or their PHY has link) and are not in `opened`; returns the names set up.
    /// Setting an interface up again later is a no-op.
    public func openReady(_ interfaces: [NetworkInterface], opened: Set<String>, netlink: NetlinkRoute?, say: Say) -> [String] {
        let now = DHCPClock.now()
        // A built-in driver probed its card before /init ran, perhaps only just (a small kernel
        // boots in well under a second): its PHY gets the same wait, from the first look here.
        for interface in interfaces {
            if let driver = interface.driver, Self.settleAfterProbe[driver] != nil, loadedAt[driver] == nil {
                loadedAt[driver] = now
            }
        }
        return interfaces.filter { interface in
            guard !opened.contains(interface.name) else { return false }
            if let openAt = Self.openAt([interface], loadedAt: loadedAt), openAt > now, phyLink(interface.name) != true {
                return false
            }
            setUp(interface, netlink: netlink, say: say)
            return true
        }.map(\.name)
    }

    private func setUp(_ interface: NetworkInterface, netlink: NetlinkRoute?, say: Say) {
        do {
            try netlink?.setLinkUp(index: interface.index, interface: interface.name)
        } catch {
            say("cannot bring \(interface.name) up: \(error)")
        }
    }

    /// The instant before which `interfaces` should not be opened (see `settleAfterProbe`);
    /// nil when none of their drivers needs a wait or this probe did not load it.
    static func openAt(_ interfaces: [NetworkInterface], loadedAt: [String: DHCPInstant]) -> DHCPInstant? {
        interfaces.compactMap { interface -> DHCPInstant? in
            guard let driver = interface.driver, let settle = settleAfterProbe[driver], let loaded = loadedAt[driver]
            else { return nil }
            return loaded.adding(milliseconds: settle)
        }.max()
    }
}
