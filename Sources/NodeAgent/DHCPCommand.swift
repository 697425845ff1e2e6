import NetProbe

/// `clumpnode dhcp [--timeout S] IFACE...`: DHCP on the given cards until each has an address
/// and route configured, then exit 0 at once (bench/dhcp.sh times exactly this). With
/// `--timeout`, exit 1 when a card has no lease by then. A lease counts only once its address is
/// on the card (`DHCPClient.leases`); what a server sent that was refused or left out is printed
/// as a `clump: DHCP on IFACE: ...` line before the lease line.
public struct DHCPCommand: Equatable, Sendable {
    public var interfaces: [String] = []
    public var timeout: Double?

    static let usage = "usage: clumpnode dhcp [--timeout SECONDS] IFACE [IFACE...]"

    static func parse(_ words: ArraySlice<String>) -> NodeAgentCommand.Invocation {
        var command = DHCPCommand()
        var rest = words
        while let word = rest.popFirst() {
            if word == "--timeout" {
                guard let value = rest.popFirst(), let seconds = Double(value), seconds > 0 else {
                    return .usageError("--timeout needs a number of seconds above 0\n" + usage)
                }
                command.timeout = seconds
            } else if word.hasPrefix("-") {
                return .usageError(usage)
            } else {
                command.interfaces.append(word)
            }
        }
        return command.interfaces.isEmpty ? .usageError(usage) : .dhcp(command)
    }

    func run(output: (String) -> Void) -> Int32 {
        do {
            let client = try DHCPClient(interfaces: interfaces)
            let leases = try client.run(seconds: timeout) { event in
                switch event {
                case .bound, .nak, .failed, .noAnswer: output("clump: \(event)")
                default: break
                }
                return interfaces.allSatisfy { client.leases[$0] != nil } ? .stop : .keepRunning
            }
            let missing = interfaces.filter { leases[$0] == nil }
            if missing.isEmpty { return 0 }
            output(
                "clumpnode dhcp: no lease on \(missing.joined(separator: ", ")) within \(timeout.map { "\($0)" } ?? "?") s"
                    + " (is a DHCP server on that network? is the cable in?)")
            return 1
        } catch {
            output("clumpnode dhcp: \(error)")
            return 1
        }
    }
}
