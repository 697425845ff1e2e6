import Foundation
import Testing

@testable import Kernel

@Suite struct ModuleIndexTests {
    @Test func loadsTheFixtureTree() throws {
        let index = try fixtureIndex()
        #expect(index.release == "6.1.0-test")
        #expect(index.modules.count == 34)
        #expect(index.aliases.count == 20)
        #expect(index.builtinPaths.count == 4)
        #expect(index.softDependencies.count == 3)  // "softdep cifs gcm" has no pre:/post: and is ignored
        let e1000e = try #require(index.module(named: "e1000e"))
        #expect(e1000e.path == "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko")
        #expect(e1000e.dependencies == ["ptp", "pps_core"])
        #expect(index.module(named: "xhci-pci")?.name == "xhci_pci")
        #expect(index.module(named: "usb_common")?.path == "kernel/drivers/usb/common/usb-common.ko")
        #expect(index.isBuiltin("ohci-pci"))
        #expect(!index.isBuiltin("xhci_pci"))
        #expect(index.hostPath(of: e1000e).hasSuffix("/root/lib/modules/6.1.0-test/" + e1000e.path))
    }

    @Test func picksTheNewestReleaseWithAModulesDep() throws {
        let root = try fixtureRoot()
        // 6.1.0-test-headers-only has no modules.dep and does not count.
        #expect(try ModuleIndex.releases(root: root) == ["5.10.0-9-amd64", "6.1.0-test"])
        #expect(try ModuleIndex.load(root: root).release == "6.1.0-test")
    }

    @Test func noKernelIsAClearError() throws {
        let error = expectKernelError(.noKernel) { _ = try ModuleIndex.load(root: "/nonexistent") }
        #expect(error?.hint?.contains("linux-image-amd64") == true)
        let missing = expectKernelError(.noKernel) {
            _ = try ModuleIndex.load(root: fixtureRoot(), release: "6.1.0-test-headers-only")
        }
        #expect(missing?.hint?.contains("depmod") == true)
    }

    @Test(arguments: [
        ("e1000", "e1000"), ("kernel/drivers/usb/host/xhci-pci.ko", "xhci_pci"), ("a/b/tg3.ko.xz", "tg3"),
        ("usb-common", "usb_common"), ("8139too.ko.zst", "8139too"),
    ])
    func moduleNames(_ path: String, _ expected: String) {
        #expect(ModuleIndex.moduleName(path: path) == expected)
    }

    @Test(arguments: [
        ("pci:v00008086d0000100Esv00008086sd0000001Ebc02sc00i00", ["e1000"]),
        ("pci:v000010ECd00008168sv00001043sd00008432bc02sc00i00", ["r8169"]),
        ("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00", ["virtio_pci"]),
        ("virtio:d00000001v00001AF4", ["virtio_net"]),
        ("usb:v0BDAp8153d0100dcEFdsc02dp01ic02isc06ip00in00", ["cdc_ether"]),
        ("usb:v0BDAp8153d3000dc00dsc00dp00icFFiscFFip00in00", []),
        ("pci:v00008086d00001E31sv00001028sd00000597bc0Csc03i30", ["xhci_pci"]),
        ("pci:v0000DEADd0000BEEFsv00000000sd00000000bc02sc00i00", []),
        ("crypto-crc32c", ["crc32c_generic"]),
        ("mdio:00000000000111001100100000010110", ["realtek"]),
        ("", []),
    ])
    func matchesModaliases(_ modalias: String, _ expected: [String]) throws {
        #expect(try fixtureIndex().match(modalias: modalias) == expected)
    }

    @Test func matchingKeepsFileOrderAndDeduplicates() throws {
        let index = try ModuleIndex(
            dep: "a.ko:\nb.ko:\n",
            alias: "alias pci:v1* b\nalias *:v1* a\nalias pci:v1d* b\n")
        #expect(index.match(modalias: "pci:v1d2") == ["b", "a"])
        #expect(index.aliases(of: "b") == ["pci:v1*", "pci:v1d*"])
    }

    @Test func closureLoadsDependenciesFirst() throws {
        let index = try fixtureIndex()
        func names(_ wanted: [String], soft: Bool = true) throws -> [String] {
            try index.closure(of: wanted, softDependencies: soft).map(\.name)
        }
        #expect(try names(["e1000e", "igb"]) == ["pps_core", "ptp", "e1000e", "dca", "igb"])
        #expect(try names(["virtio_net"]) == ["virtio_ring", "virtio", "failover", "net_failover", "virtio_net"])
        // softdep r8169 pre: realtek
        #expect(try names(["r8169"]) == ["libphy", "realtek", "mdio_devres", "r8169"])
        #expect(try names(["r8169"], soft: false) == ["libphy", "mdio_devres", "r8169"])
        // softdep ext4 pre: crypto-crc32c, an alias
        #expect(try names(["ext4"]) == ["crc32c_generic", "mbcache", "jbd2", "ext4"])
        // built-ins are skipped; duplicates load once; '-' and '_' are the same
        #expect(
            try names(["uhci_hcd", "e1000", "e1000", "ehci-pci"]) == [
                "e1000", "usb_common", "usbcore", "ehci_hcd", "ehci_pci",
            ])
        #expect(try names([]) == [])
    }

    @Test func closureOfEveryModuleIsTopological() throws {
        let index = try fixtureIndex()
        let order = try index.closure(of: index.modules.map(\.name))
        #expect(order.count == index.modules.count)
        var loaded: Set<String> = []
        for module in order {
            #expect(module.dependencies.allSatisfy(loaded.contains), "\(module.name) before its dependencies")
            loaded.insert(module.name)
        }
    }

    @Test func unknownModuleSuggestsNearestNames() throws {
        let error = expectKernelError(.unknownName) { _ = try fixtureIndex().closure(of: ["e1000x"]) }
        #expect(error?.message == "there is no module called e1000x in kernel 6.1.0-test")
        #expect(error?.hint?.hasPrefix("did you mean e1000, e1000e, ") == true)
    }

    @Test func dependencyCyclesAreReported() throws {
        let index = try ModuleIndex(dep: "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\n")
        let error = expectKernelError(.dependencyCycle) { _ = try index.closure(of: ["a"]) }
        #expect(error?.message == "modules.dep loops: a -> b -> c -> a")
    }

    @Test(arguments: [
        ("dep", "kernel/a.ko\n", "modules.dep:1: expected 'path.ko: dependencies...'"),
        ("dep", "a.ko:\n\n# c\nb.ko: z.ko\n", "modules.dep:4: b depends on z.ko, which has no line of its own"),
        ("dep", "a.ko:\na.ko:\n", "modules.dep:2: module a is listed twice"),
        ("alias", "alias onlytwo\n", "modules.alias:1:1: expected 'alias PATTERN MODULE'"),
        ("alias", "# ok\nalias p m\nalias p m extra\n", "modules.alias:3:1: expected 'alias PATTERN MODULE'"),
        ("alias", "  bogus p m\n", "modules.alias:1:3: expected 'alias PATTERN MODULE'"),
        ("softdep", "softdep\n", "modules.softdep:1: expected 'softdep MODULE pre: ... post: ...'"),
    ])
    func syntaxErrorsNameFileAndLine(_ which: String, _ text: String, _ expected: String) {
        let error = expectKernelError(.syntax) {
            switch which {
            case "dep": _ = try ModuleIndex(dep: Array(text.utf8), directory: "/x")
            case "alias": _ = try ModuleIndex(dep: [], alias: Array(text.utf8), directory: "/x")
            default: _ = try ModuleIndex(dep: [], softdep: Array(text.utf8), directory: "/x")
            }
        }
        #expect(error?.description.hasPrefix("/x/" + expected) == true, "\(String(describing: error))")
    }

    @Test func toleratesCRLFAndBlankLines() throws {
        let index = try ModuleIndex(dep: "a.ko: b.ko\r\n\r\nb.ko:\r\n", alias: "alias x:y* a\r\n\n")
        #expect(try index.closure(of: ["a"]).map(\.name) == ["b", "a"])
        #expect(index.match(modalias: "x:yz") == ["a"])
    }

    // MARK: - Rendering

    @Test func renderDepForShippedModules() throws {
        let index = try fixtureIndex()
        let shipped = try index.closure(of: ["virtio_net", "tg3"])
        let text = try index.renderDep(shipping: shipped, rename: ModuleIndex.compressedPath)
        let virtio = "kernel/drivers/virtio/"
        #expect(
            text.split(separator: "\n", omittingEmptySubsequences: false) == [
                "kernel/drivers/ptp/ptp.ko.xz: kernel/drivers/pps/pps_core.ko.xz",
                "kernel/drivers/pps/pps_core.ko.xz:",
                "kernel/drivers/net/ethernet/broadcom/tg3.ko.xz: kernel/drivers/ptp/ptp.ko.xz"
                    + " kernel/drivers/pps/pps_core.ko.xz",
                "kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz"
                    + " kernel/net/core/failover.ko.xz \(virtio)virtio.ko.xz \(virtio)virtio_ring.ko.xz",
                "kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz",
                "kernel/net/core/failover.ko.xz:",
                "\(virtio)virtio.ko.xz: \(virtio)virtio_ring.ko.xz",
                "\(virtio)virtio_ring.ko.xz:",
                "",
            ])
        // What was written reads back to the same closure.
        let reread = try ModuleIndex(dep: text)
        #expect(try reread.closure(of: ["virtio_net", "tg3"]).map(\.name) == shipped.map(\.name))
        #expect(reread.module(named: "tg3")?.path == "kernel/drivers/net/ethernet/broadcom/tg3.ko.xz")
    }

    @Test func renderDepRefusesAnIncompleteSelection() throws {
        let index = try fixtureIndex()
        let shipped = try [#require(index.module(named: "e1000e"))]
        let error = expectKernelError(.inconsistentSelection) { _ = try index.renderDep(shipping: shipped) }
        #expect(error?.message == "e1000e needs ptp, which is not shipped")
    }

    @Test func renderAliasBuiltinAndSoftdep() throws {
        let index = try fixtureIndex()
        let shipped = try index.closure(of: ["r8169", "cdc_ether", "ehci_pci"])
        #expect(
            try index.renderAlias(shipping: shipped) == """
                # Aliases extracted from modules themselves.
                alias pci:v000010ECd00008168sv*sd*bc*sc*i* r8169
                alias pci:v000010ECd00008125sv*sd*bc*sc*i* r8169
                alias usb:v*p*d*dc*dsc*dp*ic02isc06ip00in* cdc_ether
                alias usb:v0BDAp8153d[0-2]*dc*dsc*dp*ic*isc*ip*in* cdc_ether
                alias pci:v*d*sv*sd*bc0Csc03i20* ehci_pci
                alias mdio:00000000000111001100100000?????? realtek

                """)
        #expect(index.renderBuiltin().hasPrefix("kernel/drivers/usb/host/ohci-hcd.ko\n"))
        #expect(index.renderBuiltin().split(separator: "\n").count == 4)
        // ehci_pci's post: no_such_module names nothing shipped and is dropped.
        #expect(
            try index.renderSoftdep(shipping: shipped) == """
                # Soft dependencies extracted from modules themselves.
                softdep r8169 pre: realtek

                """)
        let withoutRealtek = try index.closure(of: ["r8169"], softDependencies: false)
        #expect(
            try index.renderSoftdep(shipping: withoutRealtek)
                == "# Soft dependencies extracted from modules themselves.\n")
        // The rendered alias file parses and matches like the original, for shipped modules.
        let reread = try ModuleIndex(
            dep: index.renderDep(shipping: shipped), alias: index.renderAlias(shipping: shipped))
        #expect(reread.match(modalias: "pci:v000010ECd00008125sv00001043sd00008432bc02sc00i00") == ["r8169"])
        #expect(reread.match(modalias: "pci:v00008086d0000100Esv00008086sd0000001Ebc02sc00i00") == [])
    }

    @Test(arguments: [("e1000e.ko", "e1000e.ko.xz"), ("tg3.ko.xz", "tg3.ko.xz"), ("x.ko.zst", "x.ko.zst")])
    func compressedPaths(_ path: String, _ expected: String) {
        #expect(ModuleIndex.compressedPath(path) == expected)
    }

    @Test func versionOrdering() {
        let sorted = ["6.1.0-10-amd64", "5.10.0-9-amd64", "6.1.0-9-amd64", "6.10.0-1-amd64", "6.1.0-9-rt-amd64"]
            .sorted(by: ModuleIndex.compareVersions)
        #expect(sorted == ["5.10.0-9-amd64", "6.1.0-9-amd64", "6.1.0-9-rt-amd64", "6.1.0-10-amd64", "6.10.0-1-amd64"])
    }
}
