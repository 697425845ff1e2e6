import Foundation
import Testing

@testable import XZ

private func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return [UInt8](try Data(contentsOf: url))
}

private func expectXZError(_ kind: XZError.Kind, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an XZError \(kind), nothing was thrown")
    } catch let error as XZError {
        #expect(error.kind == kind, "\(error)")
    } catch {
        Issue.record("expected an XZError, got \(error)")
    }
}

@Suite struct XZTests {
    static let samples: [(String, [UInt8])] = [
        ("empty", []),
        ("one byte", [0x42]),
        ("text", Array("alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n".utf8)),
        ("repetitive 1 MiB", [UInt8](repeating: 0xAB, count: 1 << 20)),
        ("pseudo-random 200 KiB", pseudoRandom(count: 200_000)),
    ]

    static func pseudoRandom(count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    @Test(arguments: samples.indices)
    func roundTrip(_ index: Int) throws {
        let (_, input) = Self.samples[index]
        let compressed = try XZ.compress(input)
        #expect(XZ.isXZ(compressed))
        #expect(try XZ.decompress(compressed) == input)
    }

    @Test(arguments: [0, 1, 6, 9])
    func everyPresetRoundTrips(_ preset: Int) throws {
        let input = Self.samples[2].1 + Self.samples[4].1
        #expect(try XZ.decompress(XZ.compress(input, preset: preset)) == input)
    }

    @Test func compressesWithCRC32LikeKernelModules() throws {
        let compressed = try XZ.compress(Array("module".utf8))
        // Stream flags (bytes 6-7): 0x00, check type 0x01 = CRC32.
        #expect(compressed[6] == 0x00)
        #expect(compressed[7] == 0x01)
    }

    @Test func dictionaryShrinksToTheInput() throws {
        #expect(XZ.dictionarySize(for: 0, presetSize: 64 << 20) == 4096)
        #expect(XZ.dictionarySize(for: 20_000, presetSize: 64 << 20) == 32768)
        #expect(XZ.dictionarySize(for: 100 << 20, presetSize: 64 << 20) == 64 << 20)
        // A 1 MiB module at preset 9 decodes within a few MiB, not 64.
        let compressed = try XZ.compress([UInt8](repeating: 7, count: 1 << 20))
        #expect(try XZ.decompress(compressed, limit: 4 << 20).count == 1 << 20)
    }

    @Test func badPresetIsRejected() {
        expectXZError(.unsupported) { _ = try XZ.compress([1, 2, 3], preset: 10) }
    }

    @Test func decodesAFileMadeByTheXZTool() throws {
        let decoded = try XZ.decompress(fixture("hello.txt.xz"))
        #expect(decoded == (try fixture("hello.txt")))
    }

    @Test func decodesConcatenatedStreams() throws {
        // hello.txt.xz (CRC32) followed by a second stream with a SHA-256 check.
        let decoded = try XZ.decompress(fixture("concatenated.xz"))
        #expect(String(decoding: decoded, as: UTF8.self) == "hello, clump\nsecond stream\n")
    }

    @Test(arguments: [
        ("empty", [UInt8](), true),
        ("magic", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], true),
        ("short", [0xFD, 0x37, 0x7A], false),
        ("gzip", [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00], false),
    ])
    func magic(_ name: String, _ bytes: [UInt8], _ expected: Bool) {
        #expect(XZ.isXZ(bytes) == (expected && !bytes.isEmpty), "\(name)")
    }

    @Test func gzipIsNotXZ() throws {
        expectXZError(.notXZ) { _ = try XZ.decompress(fixture("hello.txt.gz")) }
        expectXZError(.notXZ) { _ = try XZ.decompress([]) }
    }

    @Test func corruptDataIsReported() throws {
        var bytes = try fixture("hello.txt.xz")
        bytes[0x1C] ^= 0xFF  // inside the LZMA2 chunk ("hello")
        expectXZError(.corrupt) { _ = try XZ.decompress(bytes) }
        var header = try fixture("hello.txt.xz")
        header[8] ^= 0xFF  // the stream header CRC32
        expectXZError(.corrupt) { _ = try XZ.decompress(header) }
    }

    @Test(arguments: [7, 12, 30, 60, 67])
    func truncatedDataIsReported(_ length: Int) throws {
        let bytes = Array(try fixture("hello.txt.xz").prefix(length))
        expectXZError(.truncated) { _ = try XZ.decompress(bytes) }
    }

    @Test func memoryLimitIsEnforced() throws {
        let compressed = try XZ.compress(Self.samples[4].1)  // 256 KiB dictionary
        do {
            _ = try XZ.decompress(compressed, limit: 64 << 10, file: "e1000e.ko.xz")
            Issue.record("expected a memory limit error")
        } catch let error as XZError {
            #expect(error.kind == .memoryLimit)
            #expect(error.description.hasPrefix("e1000e.ko.xz: decoding needs"))
            #expect(error.hint != nil)
        }
    }

    @Test func outputCapIsEnforced() throws {
        let compressed = try XZ.compress([UInt8](repeating: 0, count: 300_000))
        expectXZError(.outputTooLarge) { _ = try XZ.decompress(compressed, maxOutputSize: 100_000) }
        #expect(try XZ.decompress(compressed, maxOutputSize: 300_000).count == 300_000)
    }

    /// The xz tool (test only) must read what we write, and verify its CRC32.
    @Test func xzToolReadsOurOutput() throws {
        let input = Self.samples[2].1 + Self.samples[4].1
        let path = NSTemporaryDirectory() + "clump-xz-\(UUID().uuidString).xz"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(XZ.compress(input)).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xz")
        process.arguments = ["--decompress", "--stdout", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect([UInt8](output) == input)
    }

    @Test func versionIsLiblzma5() {
        #expect(XZ.version.hasPrefix("5."))
    }
}
