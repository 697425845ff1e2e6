import ArgumentParser
import Foundation
import MasterSide

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve DHCP (or proxy DHCP) and TFTP on an interface with dnsmasq, showing every machine that boots.",
        discussion: """
            Runs `clumpbuild generate`, then dnsmasq in the foreground with DIR/master/'s configuration. \
            Before serving addresses it sends a DHCP DISCOVER on the interface and refuses if another \
            server answers: use --proxy there, and that server keeps handing out addresses. \
            A machine not in the inventory is shown with the line that enrols it; with --enrol it is \
            added at the next free address (with the time, in a comment) and gets it from its next DHCP \
            request on, without a restart: at most --max machines, a few a minute, for --window minutes. \
            Unless cluster.join is open, serve also runs the join service on the interface's address \
            (TCP port 7078): drones that are not approved wait, showing a code that `clumpbuild approve CODE` \
            lets in (or --enrol's window, or known-macs). --join-only serves joins alone. \
            Ctrl-C, SIGTERM or a closed output stop dnsmasq too.
            """
    )

    @Option(name: .long, help: "The image spec (YAML). Default: ./clump.yaml if it exists.")
    var spec: String?

    @Option(name: .long, help: "The build's output directory, holding the PXE tree.")
    var out: String = "out"

    @Option(name: .long, help: "The interface on the cluster network, with an address on it.")
    var interface: String

    @Flag(name: .long, help: "Proxy DHCP: another server hands out addresses, clump says what to boot.")
    var proxy = false

    @Flag(name: .long, help: "Add machines that boot and are not in the inventory to it, and let them join (at most --max).")
    var enrol = false

    @Flag(name: .long, help: "Only the join service: the site keeps its own DHCP and TFTP.")
    var joinOnly = false

    @Option(name: .long, help: "With --enrol: the most machines to add.")
    var max: Int = EnrolmentLimits().max

    @Option(name: .long, help: "With --enrol: the most machines to add in any minute.")
    var perMinute: Int = EnrolmentLimits().perMinute

    @Option(name: .long, help: "With --enrol: minutes after which nothing more is added.")
    var window: Int = Int(EnrolmentLimits().window / 60)

    func validate() throws {
        guard max > 0, perMinute > 0, window > 0 else {
            throw ValidationError("--max, --per-minute and --window must be at least 1")
        }
    }

    func run() throws {
        var status: Int32 = 0
        try exitOnFailure {
            let server = Server(
                options: .init(
                    specPath: spec, outDir: out, interface: interface, proxy: proxy, enrol: enrol, joinOnly: joinOnly,
                    limits: EnrolmentLimits(max: max, perMinute: perMinute, window: Double(window) * 60)),
                output: { line in
                    let data = Array((line + "\n").utf8)
                    return data.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) } == data.count
                })
            status = try server.run()
        }
        if status != 0 { throw ExitCode(status) }
    }
}
