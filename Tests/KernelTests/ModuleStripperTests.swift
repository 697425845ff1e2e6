import ELF
import Foundation
import Testing

@testable import Kernel

/// On Debian's real, signed e1000.ko: what the stripper removes and what it must keep.
@Suite struct ModuleStripperTests {
    static func e1000() throws -> [UInt8] {
        let index = try ModuleIndex.load(release: try hostRelease())
        let module = try #require(index.module(named: "e1000"))
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: index.hostPath(of: module))))
    }

    @Test func dropsTheSignatureAndBlanksBTFKeepingEverythingElse() throws {
        let original = try Self.e1000()
        #expect(original.suffix(ModuleStripper.signatureMarker.count).elementsEqual(ModuleStripper.signatureMarker))
        let stripped = try ModuleStripper.strip(original)
        #expect(stripped.count < original.count)
        #expect(!stripped.suffix(ModuleStripper.signatureMarker.count).elementsEqual(ModuleStripper.signatureMarker))

        let before = try ELFFile(bytes: original)
        let after = try ELFFile(bytes: stripped)
        #expect(before.sections.map(\.name) == after.sections.map(\.name))
        let btf = try #require(after.section(named: ".BTF"))
        #expect(btf.size == 0)
        let oldBTF = try #require(before.section(named: ".BTF"))
        #expect(oldBTF.size > 0)
        #expect(stripped[Int(oldBTF.offset)..<Int(oldBTF.offset + oldBTF.size)].allSatisfy { $0 == 0 })
        for name in [".text", ".modinfo", ".symtab", ".rela.text", "__versions", ".gnu.linkonce.this_module"] {
            guard let section = before.section(named: name) else { continue }
            let kept = try #require(after.section(named: name))
            let old = try before.contents(of: section)
            let new = try after.contents(of: kept)
            #expect(old == new, "\(name)")
        }
        let modinfo = try #require(try after.contents(ofSectionNamed: ".modinfo"))
        #expect(ModuleInfo(section: modinfo).values("license") == ["GPL v2"])
    }

    @Test func strippingTwiceChangesNothing() throws {
        let once = try ModuleStripper.strip(try Self.e1000())
        #expect(try ModuleStripper.strip(once) == once)
    }

    @Test func aSignatureLongerThanTheModuleIsAnError() {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes += [0, 0, 2, 0, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF]  // module_signature, sig_len huge
        bytes += ModuleStripper.signatureMarker
        _ = expectKernelError(.badModuleFile) { _ = try ModuleStripper.strip(bytes) }
    }
}
