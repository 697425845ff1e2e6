/// One configured network card: what NetProbe's DHCP client (or a static `ip=`) leaves behind,
/// and all AutoMap needs to know about it.
public struct Lease: Hashable, Sendable {
    /// Kernel interface name, e.g. `eth0` or `enp0s3`.
    public var interface: String
    /// Where the card sits: a PCI address like `0000:00:03.0` (sysfs `device` link), a USB path, or nil.
    public var busAddress: String?
    /// Hardware address, `52:54:00:12:34:56`.
    public var mac: String
    public var address: IPv4Address
    /// Prefix length of the subnet mask (RFC 2132 option 1).
    public var prefix: Int
    public var router: IPv4Address?
    /// The host name the DHCP server sent (RFC 2132 option 12), unchecked.
    public var hostname: String?

    public init(
        interface: String, busAddress: String? = nil, mac: String, address: IPv4Address, prefix: Int,
        router: IPv4Address? = nil, hostname: String? = nil
    ) {
        self.interface = interface
        self.busAddress = busAddress
        self.mac = mac
        self.address = address
        self.prefix = prefix
        self.router = router
        self.hostname = hostname
    }

    /// The order that picks the primary card; it depends only on the leases, never on the
    /// order in which cards were detected (HOWTO chapter 7's multi-NIC weakness).
    ///
    /// 1. Bus address: where the card is plugged in is fixed by the hardware and the same on
    ///    every boot, whatever order drivers load or DHCP answers arrive in; identical
    ///    machines then choose the same slot. PCI addresses have fixed-width lower-case hex, so
    ///    comparing the text compares the numbers; a USB card's port chain after the `/`
    ///    (`0000:00:14.0/1-2.3:1.0`) compares numbers as numbers (port 2 before port 10).
    ///    Cards without one (virtual) come last.
    /// 2. Interface name, digits compared as numbers (`eth2` before `eth10`): for devices that
    ///    share a bus address (several ports of one function).
    /// 3. Address, then the remaining fields: a total order, so no input order can leak through.
    public static func precedes(_ a: Lease, _ b: Lease) -> Bool {
        switch (a.busAddress?.lowercased(), b.busAddress?.lowercased()) {
        case (let x?, let y?) where x != y: return busOrder(x, y) < 0
        case (.some, nil): return true
        case (nil, .some): return false
        default: break
        }
        let names = naturalOrder(a.interface, b.interface)
        if names != 0 { return names < 0 }
        if a.address != b.address { return a.address < b.address }
        if a.prefix != b.prefix { return a.prefix < b.prefix }
        if a.mac != b.mac { return a.mac < b.mac }
        if a.busAddress != b.busAddress { return (a.busAddress ?? "") < (b.busAddress ?? "") }
        if a.router != b.router { return (a.router?.value ?? 0) < (b.router?.value ?? 0) }
        return (a.hostname ?? "") < (b.hostname ?? "")
    }

    /// -1, 0 or 1: the part before the first `/` (a PCI address) as text, the rest naturally.
    static func busOrder(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let y = b.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if x[0] != y[0] { return x[0] < y[0] ? -1 : 1 }
        let order = naturalOrder(x.count > 1 ? String(x[1]) : "", y.count > 1 ? String(y[1]) : "")
        if order != 0 { return order }
        return a == b ? 0 : (a < b ? -1 : 1)
    }

    /// -1, 0 or 1; runs of digits compare by value, everything else byte by byte.
    static func naturalOrder(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var i = 0
        var j = 0
        while i < x.count && j < y.count {
            if HostName.isDigit(x[i]) && HostName.isDigit(y[j]) {
                var iEnd = i
                while iEnd < x.count && HostName.isDigit(x[iEnd]) { iEnd += 1 }
                var jEnd = j
                while jEnd < y.count && HostName.isDigit(y[jEnd]) { jEnd += 1 }
                var p = i
                while p < iEnd - 1 && x[p] == UInt8(ascii: "0") { p += 1 }
                var q = j
                while q < jEnd - 1 && y[q] == UInt8(ascii: "0") { q += 1 }
                if iEnd - p != jEnd - q { return iEnd - p < jEnd - q ? -1 : 1 }
                if !x[p..<iEnd].elementsEqual(y[q..<jEnd]) {
                    return x[p..<iEnd].lexicographicallyPrecedes(y[q..<jEnd]) ? -1 : 1
                }
                i = iEnd
                j = jEnd
            } else {
                if x[i] != y[j] { return x[i] < y[j] ? -1 : 1 }
                i += 1
                j += 1
            }
        }
        if x.count - i != y.count - j { return x.count - i < y.count - j ? -1 : 1 }
        return a == b ? 0 : (a < b ? -1 : 1)
    }

    /// `eth0 (bus 0000:00:03.0, mac 52:54:00:12:34:56): 10.0.2.15/24 router 10.0.2.2`
    var summary: String {
        // `clumpnode map` makes leases from bare addresses: no bus, maybe no MAC.
        let card = [busAddress.map { "bus " + $0 }, mac.isEmpty ? nil : "mac " + mac].compactMap { $0 }
        var text = interface + (card.isEmpty ? "" : " (" + card.joined(separator: ", ") + ")")
        text += ": \(address)/\(prefix)"
        if let router { text += " router \(router)" }
        return text
    }
}
