import AutoMap
import Testing

struct IPv4AddressTests {
    @Test(arguments: [
        ("0.0.0.0", UInt32(0)),
        ("10.0.2.15", 0x0A00_020F),
        ("192.168.1.1", 0xC0A8_0101),
        ("255.255.255.255", 0xFFFF_FFFF),
    ])
    func parsesAndFormats(text: String, value: UInt32) throws {
        let address = try IPv4Address(parsing: text)
        #expect(address.value == value)
        #expect(address.description == text)
        #expect(IPv4Address(value) == address)
    }

    @Test func octets() {
        #expect(ip("10.0.2.15").octets == [10, 0, 2, 15])
        #expect(IPv4Address(192, 168, 1, 1) == ip("192.168.1.1"))
        #expect(ip("10.0.2.15").lastOctet == 15)
    }

    static let hint = "; hint: write four decimal numbers 0-255 separated by dots, like 192.168.1.1"

    @Test(arguments: [
        ("", "bad address '': it is empty"),
        ("1.2.3", "bad address '1.2.3': expected 4 numbers separated by dots, found 3 parts"),
        ("1", "bad address '1': expected 4 numbers separated by dots, found 1 part"),
        ("1.2.3.4.5", "bad address '1.2.3.4.5': expected 4 numbers separated by dots, found 5 parts"),
        ("1..3.4", "bad address '1..3.4': number 2 is empty"),
        ("1.2.3.", "bad address '1.2.3.': number 4 is empty"),
        ("1.2.3.256", "bad address '1.2.3.256': number 4 is 256, more than 255"),
        ("1.2.3.44444444444444", "bad address '1.2.3.44444444444444': number 4 is 44444444444444, more than 255"),
        ("010.0.0.1", "bad address '010.0.0.1': number 1 '010' has a leading zero (inet_aton reads it as octal)"),
        (" 1.2.3.4", "bad address ' 1.2.3.4': number 1 ' 1' is not decimal"),
        ("1.2.3.-4", "bad address '1.2.3.-4': number 4 '-4' is not decimal"),
        ("1.2.3.0x1", "bad address '1.2.3.0x1': number 4 '0x1' is not decimal"),
        ("1.2.3.\u{0664}", "bad address '1.2.3.\u{0664}': number 4 '\u{0664}' is not decimal"),
    ])
    func rejects(text: String, message: String) {
        let error = autoMapError { _ = try IPv4Address(parsing: text) }
        #expect(error?.description == message + Self.hint)
    }

    @Test func sortsByValue() {
        #expect(ip("10.0.2.9") < ip("10.0.2.10"))
        #expect(ip("9.255.255.255") < ip("10.0.0.0"))
    }
}

struct IPv4NetworkTests {
    @Test(arguments: [
        ("255.255.255.255", 32), ("255.255.255.252", 30), ("255.255.255.128", 25), ("255.255.255.0", 24),
        ("255.255.254.0", 23), ("255.255.252.0", 22), ("255.255.0.0", 16), ("255.0.0.0", 8), ("128.0.0.0", 1),
        ("0.0.0.0", 0),
    ])
    func prefixOfMask(mask: String, prefix: Int) throws {
        #expect(try IPv4Network.prefix(ofMask: ip(mask)) == prefix)
        #expect(try IPv4Network(address: ip("10.0.2.15"), prefix: prefix).mask == ip(mask))
    }

    @Test(arguments: ["255.0.255.0", "255.255.255.1", "0.255.255.255", "255.255.253.0"])
    func rejectsNonContiguousMask(mask: String) {
        let error = autoMapError { _ = try IPv4Network(address: ip("10.0.2.15"), mask: ip(mask)) }
        #expect(
            error?.description
                == "bad netmask \(mask): its one-bits are not contiguous; "
                + "hint: a netmask is ones then zeros, like 255.255.255.0 (/24)")
    }

    @Test(arguments: [
        // address, mask, network, broadcast, first host, last host, host number of address
        ("10.0.2.15", "255.255.255.0", "10.0.2.0/24", "10.0.2.255", "10.0.2.1", "10.0.2.254", UInt32(15)),
        ("10.0.3.5", "255.255.254.0", "10.0.2.0/23", "10.0.3.255", "10.0.2.1", "10.0.3.254", 261),
        ("192.168.1.200", "255.255.255.128", "192.168.1.128/25", "192.168.1.255", "192.168.1.129", "192.168.1.254", 72),
        ("10.1.2.3", "255.255.0.0", "10.1.0.0/16", "10.1.255.255", "10.1.0.1", "10.1.255.254", 515),
        ("10.0.0.6", "255.255.255.252", "10.0.0.4/30", "10.0.0.7", "10.0.0.5", "10.0.0.6", 2),
    ])
    func fromAddressAndMask(
        address: String, mask: String, network: String, broadcast: String, first: String, last: String,
        hostNumber: UInt32
    ) throws {
        let net = try IPv4Network(address: ip(address), mask: ip(mask))
        #expect(net.description == network)
        #expect(try IPv4Network(parsing: network) == net)
        #expect(net.broadcast == ip(broadcast))
        #expect(net.hosts == ip(first)...ip(last))
        #expect(net.hostNumber(of: ip(address)) == hostNumber)
        #expect(net.contains(ip(address)))
        #expect(!net.contains(IPv4Address(net.broadcast.value &+ 1)))
    }

    @Test(arguments: [31, 32])
    func pointToPointHasNoHostRange(prefix: Int) throws {
        #expect(try IPv4Network(address: ip("10.0.0.1"), prefix: prefix).hosts == nil)
    }

    @Test(arguments: [
        (
            "10.0.2.15/24",
            "10.0.2.15/24 has host bits set; the network is 10.0.2.0/24; "
                + "hint: write the network's first address before the slash"
        ),
        (
            "10.0.2.0/33",
            "bad prefix length '33': expected a number from 0 to 32; "
                + "hint: a netmask is ones then zeros, like 255.255.255.0 (/24)"
        ),
        (
            "10.0.2.0/+4",
            "bad prefix length '+4': expected a number from 0 to 32; "
                + "hint: a netmask is ones then zeros, like 255.255.255.0 (/24)"
        ),
        (
            "10.0.2.0",
            "bad address '10.0.2.0': expected a network like 10.0.2.0/24; "
                + "hint: write four decimal numbers 0-255 separated by dots, like 192.168.1.1"
        ),
    ])
    func rejectsNetworkText(text: String, message: String) {
        #expect(autoMapError { _ = try IPv4Network(parsing: text) }?.description == message)
    }
}
