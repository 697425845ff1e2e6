import Foundation
import Testing

@testable import Kernel

@Suite struct FirmwareTests {
    @Test func modinfoOfPlainAndXZModules() throws {
        let index = try fixtureIndex()
        let r8169 = try ModuleInfo.read(path: index.hostPath(of: #require(index.module(named: "r8169"))))
        #expect(r8169.firmware == ["rtl_nic/rtl8168d-1.fw", "rtl_nic/rtl8168e-3.fw"])
        #expect(r8169.values("alias") == ["pci:v000010ECd00008168sv*sd*bc*sc*i*"])
        #expect(r8169.values("depends") == ["mdio_devres,libphy"])
        let tg3 = try ModuleInfo.read(path: index.hostPath(of: #require(index.module(named: "tg3"))))
        #expect(tg3.values("name") == ["tg3"])
        #expect(tg3.firmware.first == "tigon/tg3_tso5.bin")
    }

    @Test(arguments: [
        (Array("license=GPL\0\0firmware=a.bin\0junk\0vermagic=6.1 SMP \0".utf8), ["license", "firmware", "vermagic"]),
        ([], []),
        (Array("key=value=with=equals\0".utf8), ["key"]),
    ])
    func modinfoSection(_ bytes: [UInt8], _ keys: [String]) {
        let info = ModuleInfo(section: bytes[...])
        #expect(info.fields.map(\.key) == keys)
        if keys == ["key"] { #expect(info.values("key") == ["value=with=equals"]) }
    }

    @Test func unreadableModulesAreClearErrors() throws {
        let root = try fixtureRoot()
        let zstd = expectKernelError(.badModuleFile) {
            _ = try ModuleInfo.read(
                path: root + "/lib/modules/6.1.0-test/kernel/drivers/net/ethernet/intel/igb/igb.ko.zst")
        }
        #expect(zstd?.message.contains("zstd") == true)
        let notELF = expectKernelError(.badModuleFile) {
            _ = try ModuleInfo.read(path: root + "/lib/modules/6.1.0-test/modules.dep")
        }
        #expect(notELF?.message.hasPrefix("not a kernel module") == true)
        let missing = expectKernelError(.io) { _ = try ModuleInfo.read(path: root + "/nope.ko") }
        #expect(missing?.errno == ENOENT)
        #expect(missing?.syscall == "open")
    }

    @Test func firmwareOfShippedModules() throws {
        let root = try fixtureRoot()
        let index = try fixtureIndex()
        let modules = try ["r8169", "tg3"].map { try #require(index.module(named: $0)) }
        let resolution = try Firmware.resolve(for: modules, in: index, root: root)
        #expect(
            resolution.files == [
                FirmwareFile(
                    name: "rtl_nic/rtl8168d-1.fw", pathInImage: "/lib/firmware/rtl_nic/rtl8168d-1.fw",
                    hostPath: root + "/lib/firmware/rtl_nic/rtl8168d-1.fw", modules: ["r8169", "tg3"]),
                // Only an xz copy exists; the kernel's loader (FW_LOADER_COMPRESS_XZ) takes it.
                FirmwareFile(
                    name: "rtl_nic/rtl8168e-3.fw", pathInImage: "/lib/firmware/rtl_nic/rtl8168e-3.fw.xz",
                    hostPath: root + "/lib/firmware/rtl_nic/rtl8168e-3.fw.xz", modules: ["r8169"]),
            ])
        #expect(resolution.missing == [MissingFirmware(name: "tigon/tg3_tso5.bin", modules: ["tg3"])])
    }

    @Test func firmwareSymlinksResolveInsideTheRoot() throws {
        let root = NSTemporaryDirectory() + "fw-root-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/lib/firmware/vendor", withIntermediateDirectories: true)
        try "blob".write(toFile: root + "/lib/firmware/vendor/real.bin", atomically: false, encoding: .utf8)
        // linux-firmware ships absolute and relative links; both must stay inside the root.
        try fm.createSymbolicLink(
            atPath: root + "/lib/firmware/abs.bin", withDestinationPath: "/lib/firmware/vendor/real.bin")
        try fm.createSymbolicLink(atPath: root + "/lib/firmware/vendor/rel.bin", withDestinationPath: "real.bin")
        let resolution = try Firmware.lookup(
            [("abs.bin", ["m"]), ("vendor/rel.bin", ["m"]), ("gone.bin", ["m"])], root: root)
        #expect(resolution.files.map(\.pathInImage) == ["/lib/firmware/abs.bin", "/lib/firmware/vendor/rel.bin"])
        #expect(resolution.files.allSatisfy { $0.hostPath == root + "/lib/firmware/vendor/real.bin" })
        #expect(resolution.missing.map(\.name) == ["gone.bin"])
    }
}
