import Foundation
import Testing

@testable import ImageBuilder

@Suite struct ImageInspectorTests {
    @Test func rendersAnISO() throws {
        let dir = try ScratchDirectory()
        let (iso, _) = try ISOWriterTests.writeBootISO(dir)
        let text = try ImageInspector.inspect(path: iso).render()
        #expect(text.contains("ISO 9660 image"))
        #expect(
            text.contains(
                "default entry: x86 BIOS, bootable, no emulation, load segment 0x7c0 (default), load size 4 sectors"))
        #expect(text.contains("1: bootable, type 0x17, start 0, 2048 sectors"))
        #expect(text.contains("TYPE=\"iso9660\""))
        #expect(text.contains("lrwxrwxrwx 0:0          0 boot/initrd -> initramfs-clump.img"))
        #expect(text.contains("crw------- 0:0          0 dev/console [5:1]"))
        let summary = try ImageInspector.inspect(path: iso).render(listing: false)
        #expect(summary.contains("MBR: disk id") && !summary.contains("dev/console"))
    }

    @Test func rendersAnInitramfsAndEncodesJSON() throws {
        let dir = try ScratchDirectory()
        let image = dir.file("initramfs.img")
        try InitramfsWriter.write(InitramfsWriterTests.sample, to: image, compression: .zstd, mtime: testMTime)
        let report = try ImageInspector.inspect(path: image)
        #expect(report.render().contains("compression: zstd"))
        #expect(report.render().contains("entries: 13, unpacked: 53 bytes"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(json.contains("\"compression\":\"zstd\""))
        #expect(json.contains("\"kind\":\"initramfs\""))
        #expect(json.contains("\"path\":\"dev\\/console\"") || json.contains("\"path\":\"dev/console\""))
    }

    @Test func isoReportEncodesBootData() throws {
        let dir = try ScratchDirectory()
        let (iso, _) = try ISOWriterTests.writeBootISO(dir)
        let json = String(decoding: try JSONEncoder().encode(try ImageInspector.inspect(path: iso)), as: UTF8.self)
        #expect(json.contains("\"sectorCount\":4"))
        #expect(json.contains("\"partitionTableType\":\"dos\""))
    }

    @Test func notAnImageIsAnError() throws {
        let dir = try ScratchDirectory()
        let junk = dir.file("junk.bin")
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 31) }).write(to: URL(fileURLWithPath: junk))
        let error = #expect(throws: ImageBuilderError.self) { try ImageInspector.inspect(path: junk) }
        #expect(error?.operation == "read archive")
        #expect(throws: ImageBuilderError.self) { try ImageInspector.inspect(path: dir.file("missing.img")) }
    }
}
