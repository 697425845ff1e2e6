import Glibc

/// This host's IPv4 addresses, with the interface each is on (getifaddrs(3)): for the programs that
/// must say which of their addresses is the cluster's.
public enum InterfaceAddresses {
    /// Every interface that exists, with its IPv4 addresses (host order), in the kernel's order;
    /// an interface without one has an empty list.
    public static func ipv4() -> [(interface: String, addresses: [UInt32])] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var result: [(interface: String, addresses: [UInt32])] = []
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            let name = String(cString: current.pointee.ifa_name)
            if !result.contains(where: { $0.interface == name }) { result.append((name, [])) }
            guard let raw = current.pointee.ifa_addr, raw.pointee.sa_family == sa_family_t(AF_INET),
                let index = result.firstIndex(where: { $0.interface == name })
            else { continue }
            result[index].addresses.append(
                raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) })
        }
        return result
    }
}
