import AgentSupport
/// One kernel console the agent talks on: a VGA virtual terminal (`tty1`) or a serial line
/// (`ttyS0`). A lab PC shows the first, a VM or a headless node the second, so status lines
/// and shells go to every one of them.
public struct Console: Equatable, Sendable {
    /// The name as the kernel lists it (`tty0`, `tty1`, `ttyS0`, `hvc0`, or `console`).
    public var name: String

    /// Creates a console from its kernel name.
    public init(name: String) { self.name = name }

    /// Whether this is a virtual terminal on the screen (`tty` and a number) rather than a line.
    public var isVirtualTerminal: Bool {
        name.hasPrefix("tty") && name.count > 3 && name.dropFirst(3).allSatisfy(\.isNumber)
    }

    /// The TERM for a shell here: the VT is `linux`; a serial line gets `vt102`, which every
    /// terminal emulator on the other end understands.
    public var terminalType: String { isVirtualTerminal ? "linux" : "vt102" }

    /// The device name status lines are written to. `tty0` is "the foreground VT", which is
    /// where the person at the screen looks.
    public var outputDevice: String { name }

    /// The device name a shell runs on. `tty0` only stands for the foreground VT; a session
    /// needs a real terminal to own as its controlling tty, and the kernel boots showing `tty1`.
    public var shellDevice: String { name == "tty0" ? "tty1" : name }
}

/// The kernel's active consoles, from `/sys/class/tty/console/active`.
///
/// The kernel keeps the console behind /dev/console (the LAST `console=` on the command line,
/// flagged CON_CONSDEV) first in its console list, and `show_cons_active()` in
/// drivers/tty/tty_io.c prints that list backwards; so in the file /dev/console comes LAST
/// (Documentation/ABI/testing/sysfs-tty: "The last entry in the file is the active device
/// connected to /dev/console"). `console=tty0 console=ttyS0,115200` reads `tty0 ttyS0`
/// (`tty1 ttyS0` on kernels that name the VT by its number).
public enum ConsoleList {
    /// Parses the file: names separated by whitespace, in file order, duplicates (by the device
    /// a shell would use) dropped.
    public static func parse(_ text: String) -> [Console] {
        var consoles: [Console] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            let console = Console(name: String(word))
            if !consoles.contains(where: { $0.shellDevice == console.shellDevice }) {
                consoles.append(console)
            }
        }
        return consoles
    }

    /// Reads `<root>/sys/class/tty/console/active`. When there is nothing to read, the agent
    /// still has /dev/console (opened by the kernel as its stdin/out/err), named `console`.
    public static func read(root: String = "/") throws -> [Console] {
        parse(try SystemFile.readText(rooted(root, "/sys/class/tty/console/active")))
    }

    /// The console /dev/console points at: the last one listed.
    public static func primary(of consoles: [Console]) -> Console? { consoles.last }

    /// The console set to use when the kernel lists none.
    public static let fallback = [Console(name: "console")]
}
