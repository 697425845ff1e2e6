/// What the client accepts from a server. Every field of an ACK that a server controls is checked
/// here, before anything reaches the kernel: what cannot be used either refuses the whole ACK (the
/// client then starts over, through its restart back-off) or is left out with a console note, so
/// that the lease reported is the lease in effect.
///
/// | field | the client |
/// |---|---|
/// | `yiaddr` 0/8, 127/8, 224/4, 240/4, or the subnet's network or broadcast address | refuses the ACK |
/// | `yiaddr` other than the address asked for (REQUESTING, INIT-REBOOT) | refuses the ACK |
/// | lease time 0 | refuses the ACK, as ISC dhclient does ("no expiry time on offered lease") |
/// | lease time 1...59 s / above a year | raised to 60 s / lowered to a year (note) |
/// | lease time 0xFFFFFFFF | infinite (RFC 2131 3.3) |
/// | no lease time | the offer's, else infinite |
/// | T1 or T2 0, below 5 s, above the lease, T1 > T2 | the RFC 2131 4.4.5 default (lease/2, 7/8) |
/// | mask missing | the offer's, else the classful mask (note), as Linux's ipconfig guesses |
/// | mask 0.0.0.0, not contiguous | ignored as a bad option (RFC 2131 robustness), then as missing (note) |
/// | router 0.0.0.0, broadcast, multicast, our own address, off the leased subnet | left out (note) |
/// | broadcast option other than the subnet's or 255.255.255.255 | the subnet's (note) |
/// | server identifier not a host address | the offer's (note) |
/// | option overload (52) | `file`, then `sname`, per RFC 2131 4.1; a bad value drops the message |
public enum DHCPLeasePolicy {
    /// The lease floor. systemd-networkd only raises a zero lease to 1 s (sd-dhcp-lease.c,
    /// `lease_parse_u32(..., &lease->lifetime, 1)`) and ISC dhclient refuses a zero lease and
    /// takes any other; both let a server set the renewal pace. 60 s is RFC 2131 4.4.5's minimum
    /// retransmission interval in RENEWING and REBINDING: below it a lease cannot even be renewed
    /// as the RFC describes, and a drone renews at most twice a minute whatever the server says.
    public static let minimumLeaseSeconds: UInt32 = 60
    /// The ceiling for a finite lease: a year. Longer finite values are typos (0xFFFFFFFE, a
    /// negative number read as unsigned) rather than policies; "infinite" is 0xFFFFFFFF and stays so.
    public static let maximumLeaseSeconds: UInt32 = 365 * 24 * 3_600
    /// T1 and T2 below this are taken as nonsense and replaced by the defaults: a server that
    /// answers every REQUEST with T1 = 0 would otherwise be asked again at once, for ever.
    public static let minimumTimerSeconds: UInt32 = 5
}

/// An ACK that passed the checks: the lease to configure, and one console line per field that was
/// changed or left out.
public struct DHCPAckReview: Hashable, Sendable {
    public var lease: DHCPLease
    public var notes: [String]
}

extension IPv4 {
    /// An address a host can have or talk to: not in 0/8 ("this network"), 127/8 (loopback),
    /// 224/4 (multicast) or 240/4 (reserved, and the limited broadcast) (RFC 1122 3.2.1.3).
    public var isHostAddress: Bool {
        let first = value >> 24
        return first != 0 && first != 127 && first < 224
    }

    /// A usable netmask: contiguous and not 0.0.0.0.
    var isUsableMask: Bool { value != 0 && prefixLength != nil }
}

extension DHCPLease {
    /// Reviews an ACK (RFC 2131 4.3.1 fields) and builds the lease it grants, or the reason it is
    /// refused. `requested` is the address the client asked for (REQUESTING, INIT-REBOOT); nil
    /// for a rapid-commit ACK and for renewals, where any address the server commits is taken.
    static func reviewing(
        _ ack: DHCPMessage, offer: DHCPMessage?, previous: DHCPLease?, requested: IPv4?, interface: String,
        mac: MACAddress, serverMAC: MACAddress?, acquiredAt: DHCPInstant
    ) -> Result<DHCPAckReview, DHCPError> {
        let server = ack.serverIdentifier ?? offer?.serverIdentifier
        let from = server.map { " from \($0)" } ?? ""
        func refuse(_ why: String) -> Result<DHCPAckReview, DHCPError> {
            .failure(DHCPError(.refused("refused the DHCPACK\(from): \(why)"), interface: interface))
        }
        let address = ack.yourAddress
        guard address.isHostAddress else { return refuse("\(address) is not a host address") }
        if let requested, requested != address {
            // RFC 2131 4.3.2: the server commits the address requested or NAKs; an ACK for another
            // leaves us not knowing which one its database holds.
            return refuse("it is for \(address), we asked for \(requested)")
        }
        var notes: [String] = []

        // RFC 2131 requires option 51 in an ACK; a server that omits it gets the offer's value,
        // else an infinite lease rather than a drone that renews in a loop.
        var seconds = ack.leaseTime ?? offer?.leaseTime ?? infinite
        if seconds == 0 { return refuse("lease time 0 (a lease that has already ended)") }
        if seconds != infinite, seconds < DHCPLeasePolicy.minimumLeaseSeconds {
            notes.append("lease time \(seconds) s raised to the minimum of \(DHCPLeasePolicy.minimumLeaseSeconds) s")
            seconds = DHCPLeasePolicy.minimumLeaseSeconds
        } else if seconds != infinite, seconds > DHCPLeasePolicy.maximumLeaseSeconds {
            notes.append("lease time \(seconds) s lowered to the maximum of \(DHCPLeasePolicy.maximumLeaseSeconds) s")
            seconds = DHCPLeasePolicy.maximumLeaseSeconds
        }

        var mask: IPv4
        if let given = ack.subnetMask, given.isUsableMask {
            mask = given
        } else if let offered = offer?.subnetMask, offered.isUsableMask {
            mask = offered
        } else {
            mask = address.classfulMask
            let given = ack.subnetMask.map { "subnet mask \($0) is not usable" } ?? "no subnet mask from the server"
            notes.append("\(given): using the classful /\(mask.prefixLength ?? 0) of \(address)")
        }
        let network = address.value & mask.value
        let subnetBroadcast = IPv4(network | ~mask.value)
        let subnet = "\(IPv4(network))/\(mask.prefixLength ?? 0)"
        if mask.prefixLength ?? 0 <= 30, address.value == network || address == subnetBroadcast {
            return refuse("\(address) is the network or broadcast address of \(subnet)")
        }

        var broadcast = subnetBroadcast
        if let given = ack.broadcastAddress, given != subnetBroadcast {
            if given == .broadcast {
                broadcast = given
            } else {
                notes.append("broadcast address \(given) is not that of \(subnet): using \(subnetBroadcast)")
            }
        }

        var routers: [IPv4] = []
        for router in ack.routers {
            guard let why = Self.unusableRouter(router, address: address, mask: mask) else {
                routers.append(router)
                continue
            }
            let effect = routers.isEmpty ? " (no default route from it)" : ""
            notes.append("router \(router) left out: \(why)\(effect)")
        }

        var serverIdentifier = offer?.serverIdentifier ?? previous?.serverIdentifier
        if let given = ack.serverIdentifier {
            if given.isHostAddress && given != address {
                serverIdentifier = given
            } else {
                let renewals = serverIdentifier.map { "\($0)" } ?? "everyone (broadcast)"
                notes.append("server identifier \(given) is not a server's address: renewals go to \(renewals)")
            }
        }

        let lease = DHCPLease(
            interface: interface, mac: mac, address: address, subnetMask: mask, routers: routers,
            dnsServers: ack.domainNameServers.filter(\.isHostAddress), hostName: ack.hostName,
            domainName: ack.domainName, broadcast: broadcast, serverIdentifier: serverIdentifier,
            serverMAC: serverMAC, leaseTime: seconds, renewalTime: ack.renewalTime, rebindingTime: ack.rebindingTime,
            acquiredAt: acquiredAt, nextServer: ack.serverAddress == .any ? nil : ack.serverAddress,
            bootFile: ack.bootFile ?? ack.bootfileName, tftpServerName: ack.tftpServerName, rootPath: ack.rootPath)
        return .success(DHCPAckReview(lease: lease, notes: notes))
    }

    /// Why a router cannot be the gateway of a lease of `address`/`mask`, or nil when it can. An
    /// off-subnet router would need an on-link route the server did not ask for (RFC 3442 is
    /// the way to ask); the kernel refuses it otherwise (ENETUNREACH).
    static func unusableRouter(_ router: IPv4, address: IPv4, mask: IPv4) -> String? {
        let network = address.value & mask.value
        if !router.isHostAddress { return "not a host address" }
        if router == address { return "our own address" }
        if router.value & mask.value != network {
            return "not on the leased subnet \(IPv4(network))/\(mask.prefixLength ?? 0)"
        }
        if router.value == network || router.value == network | ~mask.value {
            return "the subnet's broadcast or network address"
        }
        return nil
    }
}
