import AutoMap
import Foundation
import ImageSpec

@testable import MasterSide

/// A spec with a cluster network, an inventory of `count` nodes (every fourth with two cards), and a
/// fake build output directory with a PXE tree, in a scratch directory the caller removes.
struct MasterFixture {
    let directory: String
    let spec: Spec
    let outDir: String

    init(network: String = "10.0.0.0/16", count: Int) throws {
        directory = NSTemporaryDirectory() + "clump-master-\(UUID().uuidString.prefix(8))"
        outDir = directory + "/out"
        let fm = FileManager.default
        try fm.createDirectory(atPath: outDir + "/tftpboot", withIntermediateDirectories: true)
        for (name, text) in [("vmlinuz", "kernel"), ("initrd.img", "initrd"), ("pxelinux.0", "pxe"), ("ldlinux.c32", "ld"),
            ("bootx64.efi", "shim"), ("grubx64.efi", "grub"), ("mmx64.efi", "mm"),
        ] {
            try text.write(toFile: outDir + "/tftpboot/" + name, atomically: true, encoding: .utf8)
        }
        try "cluster:\n  network: \(network)\n".write(toFile: directory + "/clump.yaml", atomically: true, encoding: .utf8)
        try Self.inventoryText(count).write(toFile: directory + "/nodes.yaml", atomically: true, encoding: .utf8)
        spec = try SpecLoader.load(path: directory + "/clump.yaml")
    }

    static func mac(_ index: Int, card: Int = 0) -> String {
        String(format: "52:54:%02x:%02x:%02x:%02x", card, (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff)
    }

    static func inventoryText(_ count: Int) -> String {
        (0..<count).map { index in
            index % 4 == 3
                ? "- mac: [\(mac(index)), \(mac(index, card: 1))]\n  kernel-args: [clump.debug=1]\n"
                : "- mac: \(mac(index))\n"
        }.joined()
    }

    func inventory() throws -> Inventory { try InventoryLoader.load(for: spec) }

    func generator() throws -> Generator {
        Generator(spec: spec, inventory: try inventory(), outDir: outDir)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
