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
        for name in ModuleStripper.unneededSections {
            let blanked = try #require(after.section(named: name), "\(name)")
            #expect(blanked.size == 0, "\(name)")
            #expect(try #require(before.section(named: name)).size > 0, "\(name)")
        }
        let oldBTF = try #require(before.section(named: ".BTF"))
        #expect(oldBTF.size > 0)
        #expect(stripped[Int(oldBTF.offset)..<Int(oldBTF.offset + oldBTF.size)].allSatisfy { $0 == 0 })
        for name in [".text", ".modinfo", ".rodata", "__versions", ".gnu.linkonce.this_module"] {
            guard let section = before.section(named: name) else { continue }
            let kept = try #require(after.section(named: name))
            let old = try before.contents(of: section)
            let new = try after.contents(of: kept)
            #expect(old == new, "\(name)")
        }
        let modinfo = try #require(try after.contents(ofSectionNamed: ".modinfo"))
        #expect(ModuleInfo(section: modinfo).values("license") == ["GPL v2"])
    }

    /// binutils' reading of the module, as an independent check of the rewritten tables.
    static func readelf(_ arguments: [String], _ bytes: [UInt8]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strip-\(UUID().uuidString).ko")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/readelf")
        process.arguments = ["-W"] + arguments + [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: output, as: UTF8.self).replacingOccurrences(of: file.path, with: "<module>")
    }

    @Test func unreferencedLocalSymbolsGoRelocationsStillNameTheSameSymbols() throws {
        let original = try ModuleStripper.removingSignature(try Self.e1000(), path: "e1000.ko")
        let stripped = try ModuleStripper.strip(original)
        // Relocations as readelf prints them, minus the r_info column that holds the symbol
        // index: offset, type, symbol value, symbol name and addend must all be unchanged.
        // The relocations of blanked sections (ORC) go with them; every other one must stay.
        func relocations(_ bytes: [UInt8]) throws -> [String] {
            var section = ""
            var kept: [String] = []
            for line in try Self.readelf(["-r"], bytes).split(separator: "\n") {
                var fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if fields.first == "Relocation", fields.count > 2 {
                    section = fields[2].trimmingCharacters(in: CharacterSet(charactersIn: "'"))
                    continue
                }
                if ModuleStripper.unneededSections.contains(section) { continue }
                if fields.count > 4, fields[0].count == 16, fields[1].count == 16 { fields.remove(at: 1) }
                kept.append(section + " " + fields.joined(separator: " "))
            }
            return kept
        }
        let before = try relocations(original)
        #expect(before.count > 1000)
        #expect(try relocations(stripped) == before)

        func symbols(_ bytes: [UInt8]) throws -> [[String]] {
            try Self.readelf(["-s"], bytes).split(separator: "\n")
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
                .filter { $0.count == 8 && $0[0].hasSuffix(":") && $0[0] != "Num:" }
        }
        let oldSymbols = try symbols(original)
        let newSymbols = try symbols(stripped)
        #expect(newSymbols.count < oldSymbols.count * 3 / 4)
        // Every global survives with the same value, size, type and section.
        let globals = { (table: [[String]]) in Set(table.filter { $0[4] != "LOCAL" }.map { $0.dropFirst().joined(separator: " ") }) }
        #expect(globals(newSymbols) == globals(oldSymbols))
        #expect(globals(newSymbols).contains { $0.hasSuffix(" __this_module") })
        // Locals come first (sh_info is the first global), as the ELF spec and the loader require.
        let firstGlobal = try #require(newSymbols.firstIndex { $0[4] != "LOCAL" })
        #expect(newSymbols[firstGlobal...].allSatisfy { $0[4] != "LOCAL" })
        #expect(!(try Self.readelf(["-S"], stripped)).contains("Warning"))
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
