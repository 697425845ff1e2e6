/// How far this drone got configuring itself: what the agent writes to `/run/clump/status` and
/// rewrites on every change, for the live view and for people (`cat /run/clump/status`).
///
/// Format: UTF-8 text, one `key=value` per line, `\n` after each, keys in the order below,
/// absent values left out; lines starting with `#` are comments. Readers ignore keys they do
/// not know, so keys can be added later.
///
/// | key | value |
/// |---|---|
/// | `state` | `probing`, `no-card`, `no-carrier`, `waiting-for-dhcp`, `configured`, `off` (ip=off or safe mode), `failed` |
/// | `mode` | `auto`, `expert`, `safe` |
/// | `interfaces` | the ethernet cards found, space-separated: `eth0 eth1` |
/// | `interface` | the primary card, whose lease numbers the map |
/// | `reason` | why that card: `on cluster network 10.0.2.0/24`, `booted from it (BOOTIF ...)`, ... |
/// | `address` | its address with prefix: `10.0.2.15/24` |
/// | `router` | its default router |
/// | `network` | `10.0.2.0/24` |
/// | `node` | the node id: `15` |
/// | `map` | the first map line: `1 10.0.2.1 254` |
/// | `hostname` | `node15` |
/// | `message` | the last problem, in words |
///
/// Example:
/// ```
/// state=configured
/// mode=auto
/// interfaces=eth0
/// interface=eth0
/// reason=the only card with a lease
/// address=10.0.2.15/24
/// router=10.0.2.2
/// network=10.0.2.0/24
/// node=15
/// map=1 10.0.2.1 254
/// hostname=node15
/// ```
public struct NodeStatus: Equatable, Sendable {
    /// Where the drone stands.
    public enum State: String, Sendable, CaseIterable {
        case probing
        case noCard = "no-card"
        case noCarrier = "no-carrier"
        case waitingForDHCP = "waiting-for-dhcp"
        case configured
        case off
        case failed
    }

    /// The keys, in file order.
    public static let keys = [
        "state", "mode", "interfaces", "interface", "reason", "address", "router", "network", "node", "map", "hostname",
        "message",
    ]

    /// Where the file lives on a drone.
    public static let path = "/run/clump/status"

    public var state: State
    public var mode: String
    public var interfaces: [String] = []
    public var interface: String?
    public var reason: String?
    public var address: String?
    public var router: String?
    public var network: String?
    public var node: Int?
    public var map: String?
    public var hostname: String?
    public var message: String?

    public init(state: State, mode: String) {
        self.state = state
        self.mode = mode
    }

    /// Fills the configured fields from a derivation.
    public mutating func configured(by derived: Derived) {
        state = .configured
        interface = derived.primary.interface
        reason = derived.reason
        address = "\(derived.primary.address)/\(derived.primary.prefix)"
        router = derived.primary.router?.description
        network = derived.network.description
        node = derived.nodeID
        map = derived.map.rangeLines.first?.description
        hostname = derived.hostname
        message = nil
    }

    /// The file text.
    public func rendered() -> String {
        var text = ""
        for key in Self.keys {
            guard let value = value(of: key), !value.isEmpty else { continue }
            // A value is one line: a newline would start a new key.
            text += key + "=" + String(value.map { $0 == "\n" ? " " : $0 }) + "\n"
        }
        return text
    }

    /// Parses a status file; unknown keys are skipped, a missing `state` or `mode` or a line
    /// without `=` is an error.
    public init(parsing text: String, file: String = NodeStatus.path) throws {
        var values: [String: String] = [:]
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw AutoMapError(.badStatusLine(String(line)), file: file, line: number, column: 1)
            }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let stateText = values["state"], let state = State(rawValue: stateText) else {
            throw AutoMapError(.badStatusLine("state=" + (values["state"] ?? "")), file: file)
        }
        self.init(state: state, mode: values["mode"] ?? "")
        interfaces = (values["interfaces"] ?? "").split(separator: " ").map(String.init)
        interface = values["interface"]
        reason = values["reason"]
        address = values["address"]
        router = values["router"]
        network = values["network"]
        node = values["node"].flatMap { Int($0) }
        map = values["map"]
        hostname = values["hostname"]
        message = values["message"]
    }

    private func value(of key: String) -> String? {
        switch key {
        case "state": state.rawValue
        case "mode": mode
        case "interfaces": interfaces.joined(separator: " ")
        case "interface": interface
        case "reason": reason
        case "address": address
        case "router": router
        case "network": network
        case "node": node.map { "\($0)" }
        case "map": map
        case "hostname": hostname
        case "message": message
        default: nil
        }
    }
}
