import AutoMap
import ImageSpec

/// The DHCP servers' configurations, one renderer each, all from the same plan.
///
/// Boot files by client: iPXE (user class `iPXE`, RFC 3004) gets `boot.ipxe`; x86-64 UEFI firmware
/// (client architecture 7 or 9, RFC 4578 section 2.1; 9 is what early firmware sent for x86-64)
/// gets Debian's signed shim, which loads the signed network GRUB (Secure Boot on or off); BIOS PXE ROMs
/// (architecture 0) get pxelinux.
public enum DHCPConfigs {
    static let header = "# Written by `clumpbuild generate` from the spec and the node inventory; edits here are lost.\n"

    /// A lease for unknown machines: long enough to boot, short so the range recycles.
    static let unknownLeaseSeconds = 3600
    /// Known nodes keep their address anyway; a long lease spares the server renewals.
    static let knownLeaseSeconds = 86400

    // MARK: dnsmasq

    /// What lets dnsmasq serve as an unprivileged user with no capabilities and only on the
    /// cluster interface. TFTP comes from world-readable files (the generated tree is 0644/0755),
    /// not `tftp-secure`, which would need the tree owned by dnsmasq's user. dnsmasq adds loopback
    /// to the interfaces by itself. Replies are broadcast, because a unicast reply to a client
    /// without an address needs CAP_NET_ADMIN (dnsmasq's ARP-cache injection, src/dhcp.c), and
    /// iPXE does not ask for broadcast (RFC 2131 section 4.1 lets a server broadcast anyway); a
    /// ping before an offer needs CAP_NET_RAW.
    static func unprivileged(_ plan: MasterPlan) -> String {
        """
        # Unprivileged (clumpbuild serve starts it so): world-readable TFTP files, broadcast replies,
        # no ping before offers, never on loopback.
        except-interface=lo
        dhcp-broadcast
        no-ping
        enable-tftp
        tftp-root=\(plan.directory)/\(MasterLayout.tftp)
        """
    }

    /// dnsmasq for full DHCP and TFTP on the cluster network; `clumpbuild serve` adds the interface.
    public static func dnsmasq(_ plan: MasterPlan) -> String {
        let dir = plan.directory
        return header + """
            # Run: dnsmasq --conf-file=\(dir)/\(MasterLayout.dnsmasq) --interface=IF --bind-interfaces
            # No DNS: this dnsmasq only boots the cluster.
            port=0
            # Unknown machines get an address from this range and boot the default drone.
            dhcp-range=set:cluster,\(plan.range.first),\(plan.range.last),\(plan.network.mask),\(unknownLeaseSeconds)
            # Known nodes, one file each: a new file is read without a restart (a removed one needs SIGHUP).
            dhcp-hostsdir=\(dir)/\(MasterLayout.dnsmasqHosts)
            # Answer at once, and NAK requests for addresses of another network (a machine moved here).
            dhcp-authoritative
            dhcp-leasefile=\(dir)/state/dnsmasq.leases
            \(bootRules)
            \(unprivileged(plan))
            dhcp-boot=tag:ipxe,\(MasterLayout.ipxeScript)
            dhcp-boot=tag:!ipxe,tag:efi64,\(MasterLayout.efiLoader)
            dhcp-boot=tag:!ipxe,tag:!efi64,\(MasterLayout.biosLoader)

            """
    }

    /// dnsmasq as proxy DHCP (PXE only, RFC 4578 / PXE 2.1 section 2.2.5) beside a server that hands out
    /// the addresses: the inventory's addresses cannot apply there, its per-card boot files still do.
    public static func dnsmasqProxy(_ plan: MasterPlan) -> String {
        let dir = plan.directory
        return header + """
            # Run: dnsmasq --conf-file=\(dir)/\(MasterLayout.dnsmasqProxy) --interface=IF --bind-interfaces
            port=0
            # Another server hands out addresses on this network; this one only says what to boot.
            dhcp-range=\(plan.network.address),proxy,\(plan.network.mask)
            dhcp-leasefile=\(dir)/state/dnsmasq-proxy.leases
            \(bootRules)
            \(unprivileged(plan))
            # BIOS clients, iPXE ROMs included, boot pxelinux through PXE boot server discovery: iPXE
            # ignores a proxy offer's plain boot file name, but follows the PXE menu (pxelinux.0).
            pxe-service=x86PC,"clump drone",pxelinux
            # UEFI firmware gets shim, which loads GRUB; iPXE clients are sent their script.
            pxe-service=tag:!ipxe,x86-64_EFI,"clump drone",\(MasterLayout.efiLoader)
            pxe-service=tag:!ipxe,BC_EFI,"clump drone",\(MasterLayout.efiLoader)
            dhcp-boot=tag:ipxe,\(MasterLayout.ipxeScript)

            """
    }

    private static let bootRules = """
        # Which boot file: by user class (iPXE) and client architecture (option 93).
        dhcp-userclass=set:ipxe,iPXE
        dhcp-match=set:efi64,option:client-arch,7
        dhcp-match=set:efi64,option:client-arch,9
        """

    /// A node's file in dnsmasq's `dhcp-hostsdir`: its MACs, address and name (`dhcp-host` syntax).
    public static func dnsmasqHost(_ node: Inventory.Node) -> String {
        let macs = node.macs.map(\.description).joined(separator: ",")
        return "\(macs),set:known,\(node.address),\(node.name),\(knownLeaseSeconds)\n"
    }

    // MARK: ISC dhcpd

    /// ISC dhcpd: a subnet with the unknown-client range, boot files by class, and a host per node.
    public static func dhcpd(_ plan: MasterPlan) -> [UInt8] {
        var out = header
        out += """
            # Check: dhcpd -t -cf \(plan.directory)/\(MasterLayout.dhcpd)
            # RFC 4578 section 2.1: the client's system architecture.
            option client-arch code 93 = unsigned integer 16;
            authoritative;
            default-lease-time \(unknownLeaseSeconds);
            max-lease-time \(knownLeaseSeconds);

            subnet \(plan.network.address) netmask \(plan.network.mask) {
              range \(plan.range.first) \(plan.range.last);
              next-server \(plan.master);
              if exists user-class and option user-class = "iPXE" {
                filename "\(MasterLayout.ipxeScript)";
              } elsif option client-arch = 7 or option client-arch = 9 {
                filename "\(MasterLayout.efiLoader)";
              } else {
                filename "\(MasterLayout.biosLoader)";
              }
            }

            """
        // The host blocks as bytes: built by interpolation they were a tenth of the time of adding a
        // node at 10,000 nodes.
        var hosts = TextBuffer()
        hosts.reserve(out.utf8.count + plan.inventory.nodes.count * 160)
        hosts.append(out)
        for node in plan.inventory.nodes {
            for (index, mac) in node.macs.enumerated() {
                // dhcpd names hosts uniquely; a node's second card is `name-2`.
                hosts.append("host ")
                hosts.append(node.name)
                if index > 0 {
                    hosts.append("-")
                    hosts.append(index + 1)
                }
                hosts.append(" {\n  hardware ethernet ")
                hosts.append(mac)
                hosts.append(";\n  fixed-address ")
                hosts.append(node.address)
                hosts.append(";\n  option host-name \"")
                hosts.append(node.name)
                hosts.append("\";\n  default-lease-time ")
                hosts.append(knownLeaseSeconds)
                hosts.append(";\n}\n")
            }
        }
        return hosts.bytes
    }

    // MARK: Kea

    /// Kea DHCPv4: the same in JSON, with client classes for the boot files and a reservation per card.
    ///
    /// Written by hand rather than through JSONSerialization: it is the one file that grows with the
    /// cluster, and at 10,000 nodes the generic writer took most of the time of adding a node.
    public static func kea(_ plan: MasterPlan) -> [UInt8] {
        // The template stays one readable literal; a NUL, which no generated text has, marks where the
        // reservations go.
        let parts = keaText(plan, reservations: "\u{0}").split(separator: "\u{0}", omittingEmptySubsequences: false)
        var reservations = TextBuffer()
        reservations.reserve(parts[0].utf8.count + plan.inventory.nodes.count * 100)
        reservations.append(String(parts[0]))
        var first = true
        for node in plan.inventory.nodes {
            for mac in node.macs {
                if !first { reservations.append(",\n") }
                first = false
                reservations.append("            { \"hw-address\": \"")
                reservations.append(mac)
                reservations.append("\", \"ip-address\": \"")
                reservations.append(node.address)
                reservations.append("\", \"hostname\": \"")
                reservations.append(node.name)
                reservations.append("\" }")
            }
        }
        reservations.append(String(parts[1]))
        return reservations.bytes
    }

    /// Kea's configuration around its reservations.
    private static func keaText(_ plan: MasterPlan, reservations: String) -> String {
        return """
            {
              "Dhcp4": {
                "interfaces-config": { "interfaces": [ "\(plan.interface ?? "*")" ] },
                "lease-database": { "type": "memfile", "lfc-interval": 3600 },
                "valid-lifetime": \(unknownLeaseSeconds),
                "authoritative": true,
                "ip-reservations-unique": false,
                "client-classes": [
                  { "name": "ipxe", "test": "substring(option[77].hex,0,4) == 'iPXE'", "boot-file-name": "\(MasterLayout.ipxeScript)" },
                  { "name": "efi64", "test": "not member('ipxe') and (option[93].hex == 0x0007 or option[93].hex == 0x0009)", "boot-file-name": "\(MasterLayout.efiLoader)" },
                  { "name": "bios", "test": "not member('ipxe') and option[93].hex == 0x0000", "boot-file-name": "\(MasterLayout.biosLoader)" }
                ],
                "subnet4": [
                  {
                    "id": 1,
                    "subnet": "\(plan.network)",
                    "next-server": "\(plan.master)",
                    "pools": [ { "pool": "\(plan.range.first) - \(plan.range.last)" } ],
                    "reservations": [
            \(reservations)
                    ]
                  }
                ]
              }
            }

            """
    }
}

/// Text built as bytes, for the files that list every node.
struct TextBuffer {
    private(set) var bytes: [UInt8] = []


    mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    mutating func append(_ text: String) { bytes += text.utf8 }

    mutating func append(_ mac: MACAddress) {
        bytes += repeatElement(0, count: 17)
        bytes.withUnsafeMutableBytes { mac.write(into: UnsafeMutableRawBufferPointer(rebasing: $0[($0.count - 17)...]), separator: UInt8(ascii: ":")) }
    }

    /// Dotted decimal, as `IPv4Address.description` writes it.
    mutating func append(_ address: IPv4Address) {
        for shift in stride(from: 24, through: 0, by: -8) {
            if shift < 24 { bytes.append(UInt8(ascii: ".")) }
            append(Int(address.value >> UInt32(shift) & 0xFF))
        }
    }

    mutating func append(_ number: Int) {
        guard number >= 10 else {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: max(number, 0)))
            return
        }
        append(number / 10)
        bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: number % 10))
    }
}
