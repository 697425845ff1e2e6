import AgentSupport
import AutoMap
import DroneProtocol

extension KernelCommandLine {
    /// Reads `<root>/proc/cmdline`.
    public static func read(root: String = "/") throws -> KernelCommandLine {
        KernelCommandLine(parsing: try SystemFile.readText(rooted(root, "/proc/cmdline")))
    }
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
    /// `clump.network=A.B.C.D/P` and pxelinux's `BOOTIF=01-aa-bb-cc-dd-ee-ff`: which card is
    /// the primary (see `PrimaryHints`). A malformed value is warned about and ignored.
    public var hints: PrimaryHints

    /// The mode when `clump.mode` is absent (`BootMode.standard`).
    public static let defaultMode = BootMode.standard

    /// Reads the options from a parsed command line.
    ///
    /// An unknown mode (`clump.mode=exprt`, or a bare `clump.mode`) boots **safe**: someone asked
    /// for something other than the default, most likely one of the manual modes, and auto mode
    /// acts on the network (DHCP, the cluster map, announcements) without being asked. Safe mode
    /// does nothing by itself and still gives a shell to look at the command line and reboot.
    public init(commandLine: KernelCommandLine) {
        options = commandLine.clumpOptions
        warnings = []
        hints = PrimaryHints()
        if let value = options[BootArgument.network.option] {
            do {
                hints.clusterNetwork = try IPv4Network(parsing: value)
            } catch {
                let reason = (error as? AutoMapError)?.message ?? "\(error)"
                warnings.append(
                    "clump: \(BootArgument.network.with(value)) is not a network (\(reason)): expected A.B.C.D/P with the "
                        + "host bits zero, e.g. \(BootArgument.network.with("10.0.2.0/24")); the primary card is chosen without it")
            }
        }
        if let value = commandLine.value("BOOTIF") {
            if let mac = value.flatMap({ Self.bootMAC($0) }) {
                hints.bootMAC = mac
            } else {
                warnings.append(
                    "clump: BOOTIF=\(value ?? "") is not a boot card: expected 01-aa-bb-cc-dd-ee-ff (hardware type "
                        + "01, then the MAC, as pxelinux's IPAPPEND 2 writes it); the primary card is chosen "
                        + "without it")
            }
        }
        guard let value = options[BootArgument.mode.option] else {
            mode = Self.defaultMode
            return
        }
        if let known = BootMode(rawValue: value.lowercased()) {
            mode = known
        } else {
            mode = .safe
            let expected = BootMode.allCases.map(\.rawValue).joined(separator: ", ")
            warnings.append("clump: unknown \(BootArgument.mode.with(value)) (expected one of \(expected)); booting safe")
        }
    }
}

extension BootOptions {
    /// The MAC in pxelinux's `BOOTIF=01-aa-bb-cc-dd-ee-ff` (IPAPPEND 2: ARP hardware type 01,
    /// ethernet, then the address with dashes; iPXE's `01-${mac:hexhyp}` is the same), as
    /// `aa:bb:cc:dd:ee:ff`; nil for anything else. With `bare` (`clumpnode map --boot-mac`),
    /// `aa-bb-cc-dd-ee-ff` and `aa:bb:cc:dd:ee:ff` are accepted too; on the kernel command line
    /// they are not, so a BOOTIF cut short is not read as some other MAC.
    public static func bootMAC(_ text: String, bare: Bool = false) -> String? {
        let separator: Character = text.contains(":") ? ":" : "-"
        var groups = text.lowercased().split(separator: separator, omittingEmptySubsequences: false)
        if groups.count == 7 && groups[0] == "01" {
            groups.removeFirst()
        } else if !bare {
            return nil
        }
        guard groups.count == 6,
            groups.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isHexDigit } })
        else { return nil }
        return groups.joined(separator: ":")
    }
}
