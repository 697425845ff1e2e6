import Testing

@testable import Kernel

@Suite struct DriverSelectionTests {
    @Test func ethernetGroup() throws {
        let index = try fixtureIndex()
        // stmmac_platform has only of: aliases, stmmac and usbnet none, iwlwifi is wireless.
        #expect(
            DriverSelection.ethernetDrivers(in: index) == [
                "e1000", "e1000e", "igb", "r8169", "tg3", "cdc_ether", "virtio_net",
            ])
        let result = try DriverSelection.select(["ethernet"], from: index)
        // USB host controllers and the virtio transport come with it; ohci/uhci are built in.
        #expect(
            result.selected == [
                "cdc_ether", "e1000", "e1000e", "ehci_pci", "igb", "r8169", "tg3", "virtio_net", "virtio_pci",
                "xhci_pci",
            ])
        let shipped = result.modules.map(\.name)
        #expect(Set(shipped).isSuperset(of: result.selected))
        #expect(
            Set(shipped).isSuperset(of: ["usbnet", "usbcore", "usb_common", "ptp", "pps_core", "realtek", "libphy"]))
        #expect(!shipped.contains("iwlwifi") && !shipped.contains("cfg80211") && !shipped.contains("stmmac_platform"))
        #expect(shipped.count == Set(shipped).count)
        #expect(shipped.count == 26)
    }

    @Test(arguments: [
        (["usb-host"], ["ehci_pci", "xhci_pci"]),
        (["virtio"], ["virtio_pci"]),
        (["e1000e", "r8169"], ["e1000e", "r8169"]),
        (["xhci-pci", "e1000e.ko"], ["e1000e", "xhci_pci"]),
    ])
    func groupsAndNames(_ names: [String], _ expected: [String]) throws {
        #expect(try DriverSelection.select(names, from: fixtureIndex()).selected == expected)
    }

    @Test func builtinNamesNeedNothing() throws {
        let result = try DriverSelection.select(["e100", "ohci_pci"], from: fixtureIndex())
        #expect(result.selected == [])
        #expect(result.builtin == ["e100", "ohci_pci"])
        #expect(result.modules == [])
    }

    @Test func exclusions() throws {
        let index = try fixtureIndex()
        let result = try DriverSelection.select(["ethernet"], excluding: ["tg3", "usb-host", "realtek"], from: index)
        #expect(!result.selected.contains("tg3") && !result.selected.contains("xhci_pci"))
        let shipped = result.modules.map(\.name)
        // realtek is only r8169's soft dependency: excluding it is allowed.
        #expect(shipped.contains("r8169") && !shipped.contains("realtek"))
        #expect(!shipped.contains("xhci_hcd"))
    }

    @Test func excludingANeededModuleIsAnError() throws {
        let error = expectKernelError(.inconsistentSelection) {
            _ = try DriverSelection.select(["ethernet"], excluding: ["ptp"], from: fixtureIndex())
        }
        #expect(error?.message == "ptp is excluded, but e1000e, igb, tg3 need it")
    }

    @Test(arguments: [
        ("e1000x", "there is no module or group called e1000x in kernel 6.1.0-test", "did you mean e1000, e1000e"),
        ("ethernt", "there is no module or group called ethernt in kernel 6.1.0-test", "did you mean ethernet"),
        ("usb_host", "there is no module or group called usb_host in kernel 6.1.0-test", "did you mean usb-host"),
    ])
    func unknownNamesListTheNearest(_ name: String, _ message: String, _ hint: String) throws {
        let error = expectKernelError(.unknownName) { _ = try DriverSelection.select([name], from: fixtureIndex()) }
        #expect(error?.message == message)
        #expect(error?.hint?.hasPrefix(hint) == true, "\(String(describing: error?.hint))")
        #expect(error?.hint?.hasSuffix("groups: ethernet, usb-host, virtio, nfsroot") == true)
        expectKernelError(.unknownName) {
            _ = try DriverSelection.select(["e1000"], excluding: [name], from: fixtureIndex())
        }
    }
}
