import AutoMap

/// Test shorthand: a known-good dotted quad.
func ip(_ text: String) -> IPv4Address {
    try! IPv4Address(parsing: text)
}

/// A lease on `eth0` at PCI 0000:00:03.0 unless told otherwise.
func lease(
    _ cidr: String, interface: String = "eth0", bus: String? = "0000:00:03.0", mac: String = "52:54:00:12:34:56",
    router: String? = nil, hostname: String? = nil
) -> Lease {
    let parts = cidr.split(separator: "/")
    return Lease(
        interface: interface, busAddress: bus, mac: mac, address: ip(String(parts[0])), prefix: Int(parts[1])!,
        router: router.map(ip), hostname: hostname)
}

/// The error `body` throws, as an `AutoMapError`, or nil.
func autoMapError(_ body: () throws -> Void) -> AutoMapError? {
    do {
        try body()
        return nil
    } catch {
        return error as? AutoMapError
    }
}
