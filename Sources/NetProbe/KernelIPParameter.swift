/// The kernel's `ip=` boot parameter (Documentation/admin-guide/nfs/nfsroot.rst), which an
/// Expert-mode user types to give a drone a static address; it overrides DHCP.
///
/// `ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>`,
/// or one word: `ip=dhcp` (also `on`, `any`, `bootp`, `both`, `rarp`) or `ip=off` (`none`).
public enum KernelIPParameter: Hashable, Sendable {
    /// Autoconfigure; `device` nil means every interface.
    case dhcp(device: String?)
    /// No network configuration at all.
    case off
    case `static`(StaticIPConfiguration)

    /// The last `ip=` of a kernel command line (`/proc/cmdline`), as the kernel itself takes;
    /// nil when there is none.
    public static func parse(commandLine: String) throws -> KernelIPParameter? {
        var value: Substring?
        for word in commandLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            if word.hasPrefix("ip=") { value = word.dropFirst(3) }
        }
        return try value.map { try parse(value: String($0)) }
    }

    /// Parses the value after `ip=`.
    public static func parse(value: String) throws -> KernelIPParameter {
        let dynamic: Set<String> = ["on", "any", "dhcp", "bootp", "both", "rarp"]
        let word = value.lowercased()
        if word == "off" || word == "none" { return .off }
        if dynamic.contains(word) { return .dhcp(device: nil) }
        if !value.contains(":") && IPv4(value) == nil {
            throw invalid(value, "expected dhcp, off, or fields separated by ':'")
        }
        let fields = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func field(_ index: Int) -> String? { index < fields.count && !fields[index].isEmpty ? fields[index] : nil }
        func address(_ index: Int, _ name: String) throws -> IPv4? {
            guard let text = field(index) else { return nil }
            guard let address = IPv4(text) else {
                throw invalid(value, "field \(index + 1) (\(name)) '\(text)' is not an IPv4 address like 10.0.0.5")
            }
            return address
        }
        if fields.count > 10 { throw invalid(value, "\(fields.count) fields, at most 10") }
        let client = try address(0, "client-ip")
        let server = try address(1, "server-ip")
        let gateway = try address(2, "gw-ip")
        let netmask = try address(3, "netmask")
        let device = field(5)
        let autoconf = field(6)?.lowercased()
        let dns = try [address(7, "dns0-ip"), address(8, "dns1-ip")].compactMap { $0 }
        let ntp = try address(9, "ntp0-ip")
        if let netmask, netmask.prefixLength == nil {
            throw invalid(value, "netmask \(netmask) is not contiguous")
        }
        if let autoconf, autoconf == "off" || autoconf == "none" {
            guard let client else { throw invalid(value, "autoconf is \(autoconf) but there is no client-ip") }
            return .static(
                StaticIPConfiguration(
                    address: client, server: server, gateway: gateway, netmask: netmask ?? client.classfulMask,
                    hostName: field(4), device: device, dnsServers: dns, ntpServer: ntp))
        }
        if let autoconf, !dynamic.contains(autoconf) {
            throw invalid(value, "autoconf '\(autoconf)' is not one of off, none, on, any, dhcp, bootp, rarp, both")
        }
        // No autoconf field: static when the client address is given (the kernel then has what it
        // needs and skips autoconfiguration), DHCP otherwise.
        if autoconf == nil, let client {
            return .static(
                StaticIPConfiguration(
                    address: client, server: server, gateway: gateway, netmask: netmask ?? client.classfulMask,
                    hostName: field(4), device: device, dnsServers: dns, ntpServer: ntp))
        }
        return .dhcp(device: device)
    }

    static func invalid(_ value: String, _ reason: String) -> DHCPError {
        DHCPError(
            .invalid("ip=\(value): \(reason)"),
            hint: "format ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>, or ip=dhcp")
    }
}

/// A static address from `ip=`.
public struct StaticIPConfiguration: Hashable, Sendable {
    public var address: IPv4
    /// The NFS root / boot server.
    public var server: IPv4?
    public var gateway: IPv4?
    /// Given, or the classful mask of the address (as the kernel does).
    public var netmask: IPv4
    public var hostName: String?
    /// nil: the kernel's "first device that works"; the agent picks its primary card.
    public var device: String?
    public var dnsServers: [IPv4]
    public var ntpServer: IPv4?

    public init(
        address: IPv4, server: IPv4? = nil, gateway: IPv4? = nil, netmask: IPv4, hostName: String? = nil,
        device: String? = nil, dnsServers: [IPv4] = [], ntpServer: IPv4? = nil
    ) {
        self.address = address
        self.server = server
        self.gateway = gateway
        self.netmask = netmask
        self.hostName = hostName
        self.device = device
        self.dnsServers = dnsServers
        self.ntpServer = ntpServer
    }

    /// The same shape as a DHCP lease, infinite, so the agent configures and reports it the same
    /// way (`NetlinkRoute.apply`).
    public func lease(interface: String, mac: MACAddress) -> DHCPLease {
        DHCPLease(
            interface: interface, mac: mac, address: address, subnetMask: netmask,
            routers: gateway.map { [$0] } ?? [], dnsServers: dnsServers, hostName: hostName,
            serverIdentifier: server, leaseTime: DHCPLease.infinite, nextServer: server)
    }
}
