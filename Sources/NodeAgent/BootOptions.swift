/// How the drone boots, from `clump.mode=` (the boot menu offers all three; seed chapter 7.6).
public enum BootMode: String, Sendable, CaseIterable {
    /// Probe the network cards, DHCP, write the cluster map, join, show clumpview.
    case auto
    /// A busybox shell on every console; the operator configures by hand.
    case expert
    /// No autoconfiguration at all (Clump/OS R5.4 and later), a shell is offered.
    case safe
}

/// The agent's options from the kernel command line: the boot mode, every `clump.*` key for
/// later steps, and warnings to show on the console.
public struct BootOptions: Equatable, Sendable {
    /// The mode to boot in.
    public var mode: BootMode
    /// Every `clump.*` parameter without the prefix (see `KernelCommandLine.clumpOptions`).
    public var options: [String: String]
    /// Problems with the command line, as console lines.
    public var warnings: [String]

    /// The mode when `clump.mode` is absent: a drone configures itself unless told otherwise.
    public static let defaultMode = BootMode.auto

    /// Reads the options from a parsed command line.
    ///
    /// An unknown mode (`clump.mode=exprt`, or a bare `clump.mode`) boots **safe**: someone asked
    /// for something other than the default, most likely one of the manual modes, and auto mode
    /// acts on the network (DHCP, the cluster map, announcements) without being asked. Safe mode
    /// does nothing by itself and still gives a shell to look at the command line and reboot.
    public init(commandLine: KernelCommandLine) {
        options = commandLine.clumpOptions
        warnings = []
        guard let value = options["mode"] else {
            mode = Self.defaultMode
            return
        }
        if let known = BootMode(rawValue: value.lowercased()) {
            mode = known
        } else {
            mode = .safe
            let expected = BootMode.allCases.map(\.rawValue).joined(separator: ", ")
            warnings.append("clump: unknown clump.mode=\(value) (expected one of \(expected)); booting safe")
        }
    }
}
