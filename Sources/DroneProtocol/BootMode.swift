/// How a drone boots (`clump.mode=`): what the boot menu offers and the agent runs (seed
/// chapter 7.6).
public enum BootMode: String, Sendable, Equatable, CaseIterable {
    /// Probe the network cards, DHCP, write the cluster map, join, show clumpview.
    case auto
    /// A busybox shell on every console; the operator configures by hand.
    case expert
    /// No autoconfiguration at all (Clump/OS R5.4 and later), a shell is offered.
    case safe
    /// Auto mode's network steps, then the full system from an NFS root (`clump.root=SERVER:PATH`;
    /// HOWTO 10.2), whose init takes over. Only a known node's boot file offers it.
    case nfsroot

    /// The mode when `clump.mode` is absent: a drone configures itself unless told otherwise.
    public static let standard = BootMode.auto

    /// The modes an image offers by itself (a spec's `boot.modes`); `nfsroot` needs a node's tree.
    public static let imageModes: [BootMode] = [.auto, .expert, .safe]

    /// What the mode does, as the boot menus show it (HOWTO 7.6: Expert and Safe mode).
    public var summary: String {
        switch self {
        case .auto: return "find the network card, get DHCP, join the cluster"
        case .expert: return "a shell on the console, configure by hand"
        case .safe: return "no autoconfiguration at all"
        case .nfsroot: return "the full system from the master's shared NFS root"
        }
    }
}
