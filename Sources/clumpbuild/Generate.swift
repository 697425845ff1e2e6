import ArgumentParser
import Foundation
import MasterSide

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the master's side: DIR/master/ with the TFTP root and DHCP configuration for every node.",
        discussion: """
            Reads the spec's cluster settings and its node inventory (cluster.nodes, default \
            nodes.yaml) and the PXE tree `clumpbuild build` made, and writes DIR/master/: tftp/ \
            (pxelinux and iPXE, a config per known card, images/<generation>/), dnsmasq/ (full \
            DHCP with one host file per node, and proxy DHCP), dhcpd/dhcpd.conf and kea/kea-dhcp4.conf. \
            Only files whose content changed are rewritten, each by rename; older boot image \
            generations stay until --prune.
            """
    )

    @Option(name: .long, help: "The image spec (YAML). Default: ./clump.yaml if it exists.")
    var spec: String?

    @Option(name: .long, help: "The build's output directory, holding the PXE tree.")
    var out: String = "out"

    @Flag(name: .long, help: "Remove boot image generations other than the current one.")
    var prune = false

    func run() throws {
        try exitOnFailure {
            let inputs = try MasterInputs.load(specPath: spec)
            let report = try Generator(spec: inputs.spec, inventory: inputs.inventory, outDir: out).generate(prune: prune)
            print(report.render())
        }
    }
}
