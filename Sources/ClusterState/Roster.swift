/// Who may exist: the node ids of the cluster map and their addresses. Announcements about ids
/// outside it are ignored. Shared, immutable: one roster serves every table of a simulation.
public final class Roster: Sendable {
    /// Node ids in map order.
    public let ids: [UInt16]
    /// Each id's IPv4 address (0 when the map names it by host name).
    public let addresses: [UInt32]
    /// id -> index into `ids`, -1 for ids not in the map (65536 entries, 256 KiB).
    private let slots: [Int32]

    /// A roster from (id, address) pairs; later duplicates of an id are ignored (ALIAS lines).
    public init(_ nodes: [(id: UInt16, address: UInt32)]) {
        var ids: [UInt16] = []
        var addresses: [UInt32] = []
        var slots = [Int32](repeating: -1, count: 65536)
        for node in nodes where node.id != 0 && slots[Int(node.id)] < 0 {
            slots[Int(node.id)] = Int32(ids.count)
            ids.append(node.id)
            addresses.append(node.address)
        }
        self.ids = ids
        self.addresses = addresses
        self.slots = slots
    }

    /// Clump's own rule (seeds, chapter 7): one class-C network, node N at a.b.c.N, N = 1...254.
    public static func classC(network: UInt32) -> Roster {
        Roster((1...254).map { (UInt16($0), network & 0xFFFF_FF00 | UInt32($0)) })
    }

    /// A map line `first address count`: nodes first...first+count-1 counting up the address.
    public static func range(first: UInt16, address: UInt32, count: Int) -> Roster {
        Roster((0..<max(0, min(count, 65536 - Int(first)))).map { (first &+ UInt16($0), address &+ UInt32($0)) })
    }

    public var count: Int { ids.count }

    /// The index of `id`, or nil when the map does not list it.
    @inline(__always) public func slot(of id: UInt16) -> Int? {
        let slot = slots[Int(id)]
        return slot < 0 ? nil : Int(slot)
    }
}
