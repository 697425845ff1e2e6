import Foundation
import Testing

@testable import Kernel

/// The host tier: Debian's installed kernel (linux-image-amd64). It fails, never skips,
/// when no kernel is installed.
@Suite struct HostKernelTests {
    @Test func parsesTheInstalledIndexQuickly() throws {
        let release = try hostRelease()
        let directory = "/lib/modules/\(release)"
        let alias = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/modules.alias")))
        let dep = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/modules.dep")))
        let clock = ContinuousClock()
        var index: ModuleIndex?
        let elapsed = try clock.measure { index = try ModuleIndex(dep: dep, alias: alias, directory: directory) }
        let parsed = try #require(index)
        print(
            "host: \(release): \(parsed.modules.count) modules, \(parsed.aliases.count) aliases, parsed in \(elapsed)")
        #expect(parsed.modules.count > 1000)
        #expect(parsed.aliases.count > 10000)
    }

    @Test func theNFSRootGroupIsTheNFSv4ClientAndOverlayfsInLoadOrder() throws {
        let index = try ModuleIndex.load(release: try hostRelease())
        let result = try DriverSelection.select(["nfsroot"], from: index)
        #expect(result.selected == ["nfsv4", "overlay"])
        let names = result.modules.map(\.name)
        #expect(Set(names).isSuperset(of: ["sunrpc", "lockd", "grace", "nfs", "nfsv4", "overlay"]), "\(names)")
        let position = { (name: String) in names.firstIndex(of: name) ?? -1 }
        #expect(position("sunrpc") < position("nfs") && position("nfs") < position("nfsv4"), "\(names)")
    }

    @Test func matchesRealDevices() throws {
        let index = try ModuleIndex.load(release: try hostRelease())
        #expect(index.match(modalias: "pci:v00008086d0000100Esv00008086sd0000001Ebc02sc00i00").contains("e1000"))
        #expect(index.match(modalias: "pci:v000010ECd00008168sv00001043sd00008432bc02sc00i00").contains("r8169"))
        #expect(index.match(modalias: "virtio:d00000001v00001AF4") == ["virtio_net"])
        #expect(index.match(modalias: "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00").contains("virtio_pci"))
        let closure = try index.closure(of: ["virtio_net"]).map(\.name)
        #expect(closure.last == "virtio_net")
        #expect(closure.contains("failover"))
    }

    @Test func ethernetSelection() throws {
        let index = try ModuleIndex.load(release: try hostRelease())
        let result = try DriverSelection.select(["ethernet"], from: index)
        let bytes = try index.totalSize(of: result.modules)
        print(
            "host: ethernet selects \(result.selected.count) drivers, ships \(result.modules.count) modules,"
                + " \(bytes) bytes raw"
        )
        #expect(
            result.selected.contains("e1000e") && result.selected.contains("r8169")
                && result.selected.contains("virtio_net"))
        #expect(result.selected.contains("vmxnet3") && result.selected.contains("xhci_pci"))
        #expect(!result.modules.contains { $0.path.contains("/wireless/") })
        // Load order: every dependency before its user.
        var loaded: Set<String> = []
        for module in result.modules {
            #expect(module.dependencies.allSatisfy(loaded.contains))
            loaded.insert(module.name)
        }
        // The rendered index reads back with the same closure.
        let rendered = try ModuleIndex(
            dep: index.renderDep(shipping: result.modules, rename: ModuleIndex.compressedPath),
            alias: index.renderAlias(shipping: result.modules))
        #expect(rendered.modules.count == result.modules.count)
        #expect(rendered.match(modalias: "pci:v00008086d0000100Esv00008086sd0000001Ebc02sc00i00") == ["e1000"])

        let firmware = try Firmware.resolve(for: result.modules, in: index)
        print("host: firmware: \(firmware.files.count) present, \(firmware.missing.count) referenced but not installed")
        #expect(firmware.files.count + firmware.missing.count > 50)
    }

    @Test func modinfoOfARealModule() throws {
        let index = try ModuleIndex.load(release: try hostRelease())
        let module = try #require(index.module(named: "e1000e"))
        let info = try ModuleInfo.read(path: index.hostPath(of: module))
        #expect(info.values("license") == ["GPL v2"])
        #expect(info.values("alias").count > 50)
        #expect(info.values("name") == ["e1000e"])
    }

    @Test func debianKernelBootsADrone() throws {
        let release = try hostRelease()
        let config = try KernelConfig.load(release: release)
        let fragments = try ConfigFragment.load(directory: fragmentDirectory())
        let report = KernelCheck.check(config: config, fragments: fragments, compression: .xz)
        print(report.render())
        #expect(report.isBootable, "\(report.render())")
        // Debian builds NFS as a module and has no IP autoconfiguration: no kernel NFS root.
        let nfsroot = try #require(report.groups.first { $0.name == "nfsroot" })
        #expect(nfsroot.problems.map(\.option).contains("CONFIG_ROOT_NFS"))
        #expect(report.groups.first { $0.name == "nic" }?.isSatisfied == true)
        #expect(report.groups.first { $0.name == "mosix" }?.isSatisfied == false)
        #expect(KernelCheck.compare(master: config, node: config).isEmpty)
    }
}
