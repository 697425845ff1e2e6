import Foundation
import Testing

@testable import ImageBuilder

@Suite struct InitramfsWriterTests {
    static let sample: [ImageEntry] = [
        .file("init", text: "#!/bin/sh\necho hello\n", mode: 0o755),
        .file("etc/hosts", text: "127.0.0.1 localhost\n"),
        .symlink("bin/sh", to: "busybox"),
        .characterDevice("dev/console", major: 5, minor: 1, mode: 0o600),
        .characterDevice("dev/null", major: 1, minor: 3, mode: 0o666),
        .blockDevice("dev/sda", major: 8, minor: 0, mode: 0o660),
        .directory("proc", mode: 0o555),
        ImageEntry(
            path: "home/drone/.profile", content: .file(.bytes(Array("PS1=drone$ \n".utf8))), mode: 0o600, uid: 1000,
            gid: 100),
    ]
    static let sortedPaths = [
        "bin", "bin/sh", "dev", "dev/console", "dev/null", "dev/sda", "etc", "etc/hosts", "home", "home/drone",
        "home/drone/.profile", "init", "proc",
    ]

    @Test func roundTripListsWithLibarchiveAndCpio() throws {
        let dir = try ScratchDirectory()
        let out = dir.file("initramfs.cpio")
        let stats = try InitramfsWriter.write(Self.sample, to: out, compression: .none, mtime: testMTime)
        #expect(stats.entries == 13)
        #expect(stats.unpackedBytes == 21 + 20 + 12)
        #expect(stats.writtenBytes == (try readBytes(out)).count)

        let report = try ImageInspector.inspect(path: out)
        #expect(report.kind == .initramfs)
        #expect(report.compression == "none")
        #expect(report.entries.map(\.path) == Self.sortedPaths)
        #expect(report.entries.allSatisfy { $0.mtime == testMTime })
        let profile = try #require(report.entries.first { $0.path == "home/drone/.profile" })
        #expect(profile.uid == 1000 && profile.gid == 100 && profile.mode == 0o600 && profile.size == 12)
        #expect(report.entries.first { $0.path == "bin/sh" }?.symlinkTarget == "busybox")

        let cpio = try runTool("/usr/bin/cpio", ["-t", "--quiet", "-F", out], package: "cpio")
        #expect(cpio.status == 0, "\(cpio.stderr)")
        #expect(cpio.stdout.split(separator: "\n").map(String.init) == Self.sortedPaths)
    }

    @Test func deviceNodesAreRecordsWithNumbers() throws {
        let dir = try ScratchDirectory()
        let out = dir.file("initramfs.cpio")
        try InitramfsWriter.write(Self.sample, to: out, compression: .none, mtime: testMTime)
        let records = try parseNewc(try readBytes(out))
        let console = try #require(records.first { $0.name == "dev/console" })
        #expect(console.mode == 0o020600 && console.rdevMajor == 5 && console.rdevMinor == 1 && console.uid == 0)
        let sda = try #require(records.first { $0.name == "dev/sda" })
        #expect(sda.mode == 0o060660 && sda.rdevMajor == 8 && sda.rdevMinor == 0)
        // cpio's own reading agrees: "crw-------" ... "5,  1".
        let cpio = try runTool("/usr/bin/cpio", ["-tv", "--quiet", "-F", out], package: "cpio")
        let line = try #require(cpio.stdout.split(separator: "\n").first { $0.hasSuffix("dev/console") })
        #expect(line.hasPrefix("crw-------"))
        #expect(line.contains("5,"))
    }

    @Test func headersAreDeterministic() throws {
        let dir = try ScratchDirectory()
        let out = dir.file("initramfs.cpio")
        try InitramfsWriter.write(Self.sample, to: out, compression: .none, mtime: testMTime)
        let records = try parseNewc(try readBytes(out))
        #expect(records.map(\.name) == Self.sortedPaths + ["TRAILER!!!"])
        // Inodes by position, 1-based; all mtimes the given one; directories have 2 links.
        #expect(records.dropLast().map(\.inode) == Array(1...UInt32(Self.sortedPaths.count)))
        #expect(records.dropLast().allSatisfy { $0.mtime == UInt32(testMTime) })
        #expect(records.filter { $0.mode & 0o170000 == 0o040000 }.allSatisfy { $0.nlink == 2 })
        // Synthesised parents: root-owned 0755 directories.
        let home = try #require(records.first { $0.name == "home" })
        #expect(home.mode == 0o040755 && home.uid == 0 && home.gid == 0)
        // No padding after the trailer beyond newc's 4-byte alignment.
        #expect((try readBytes(out)).count % 4 == 0)
        #expect((try readBytes(out)).count < 4096, "libarchive padded the archive to 10240-byte blocks")
    }

    @Test(arguments: ImageCompression.allCases)
    func compressionVariantsAreReproducibleAndReadable(compression: ImageCompression) throws {
        let dir = try ScratchDirectory()
        let first = dir.file("a.img")
        let second = dir.file("b.img")
        var entries = Self.sample
        entries.append(.hostFile("etc/motd", from: try fixture("motd.txt")))
        entries.append(.file("lib/big.bin", (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 / 5) }))
        let stats = try InitramfsWriter.write(entries, to: first, compression: compression, mtime: testMTime)
        Thread.sleep(forTimeInterval: 1.1)
        try InitramfsWriter.write(entries, to: second, compression: compression, mtime: testMTime)
        let same = try readBytes(first) == readBytes(second)
        #expect(same, "two writes with the same input differ")
        if compression != .none { #expect(stats.writtenBytes < stats.unpackedBytes) }

        let report = try ImageInspector.inspect(path: first)
        #expect(report.compression == compression.rawValue)
        #expect(report.entries.count == stats.entries)
        #expect(report.unpackedBytes == stats.unpackedBytes)

        // The host tools read it too: decompress with the tool, list with cpio.
        let decompress: String
        switch compression {
        case .none: decompress = "cat"
        case .gzip: decompress = "gzip -dc"
        case .zstd: decompress = "zstd -dc"
        case .xz: decompress = "xz -dc"
        }
        let listed = try runShell("\(decompress) '\(first)' | cpio -t --quiet", package: "cpio gzip zstd xz-utils")
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.split(separator: "\n").count == stats.entries)
    }

    @Test func zstdOutputExtractsWithCpio() throws {
        let dir = try ScratchDirectory()
        let image = dir.file("initramfs.zst")
        let entries: [ImageEntry] = [
            .file("init", text: "#!/bin/sh\n", mode: 0o755), .hostFile("etc/motd", from: try fixture("motd.txt")),
            .symlink("bin/sh", to: "busybox"),
        ]
        try InitramfsWriter.write(entries, to: image, compression: .zstd, mtime: testMTime)
        let root = dir.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let result = try runShell("cd '\(root)' && zstd -dc '\(image)' | cpio -idv --quiet", package: "cpio zstd")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try String(contentsOfFile: "\(root)/etc/motd", encoding: .utf8)
                == String(contentsOfFile: try fixture("motd.txt"), encoding: .utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/bin/sh") == "busybox")
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(root)/init")
        #expect((attributes[.posixPermissions] as? Int) == 0o755)
    }

    @Test func gzipHeaderHasNoTimeAndNoName() throws {
        let dir = try ScratchDirectory()
        let image = dir.file("initramfs.gz")
        try InitramfsWriter.write(Self.sample, to: image, compression: .gzip, mtime: testMTime)
        let bytes = try readBytes(image)
        // RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS. FLG 0: no FNAME/FCOMMENT/FEXTRA; MTIME 0.
        #expect(Array(bytes[0..<3]) == [0x1F, 0x8B, 0x08])
        #expect(bytes[3] == 0)
        #expect(Array(bytes[4..<8]) == [0, 0, 0, 0])
    }

    @Test func xzUsesTheCRC32CheckTheKernelNeeds() throws {
        let dir = try ScratchDirectory()
        let image = dir.file("initramfs.xz")
        try InitramfsWriter.write(Self.sample, to: image, compression: .xz, mtime: testMTime)
        let bytes = try readBytes(image)
        // xz stream header: magic FD 37 7A 58 5A 00, stream flags 00 <check>; check 0x01 = CRC32.
        #expect(Array(bytes[0..<6]) == [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])
        #expect(bytes[6] == 0 && bytes[7] == 0x01)
        let check = try runTool("/usr/bin/xz", ["--robot", "--list", image], package: "xz-utils")
        #expect(check.stdout.contains("CRC32"), "\(check.stdout)")
    }

    @Test func missingHostFileLeavesNothingBehind() throws {
        let dir = try ScratchDirectory()
        let out = dir.file("initramfs.img")
        let entries = Self.sample + [.hostFile("lib/firmware.bin", from: dir.file("does-not-exist.bin"))]
        let error = #expect(throws: ImageBuilderError.self) {
            try InitramfsWriter.write(entries, to: out, compression: .zstd, mtime: testMTime)
        }
        #expect(error?.errno == ENOENT)
        #expect(error?.description.contains("lib/firmware.bin") == true)
        let left = try dir.listing()
        #expect(left.isEmpty, "a failed write left \(left)")
    }

    @Test func failedRewriteKeepsThePreviousImage() throws {
        let dir = try ScratchDirectory()
        let out = dir.file("initramfs.img")
        try InitramfsWriter.write(Self.sample, to: out, compression: .none, mtime: testMTime)
        let before = try readBytes(out)
        #expect(throws: ImageBuilderError.self) {
            try InitramfsWriter.write(
                Self.sample + [.file("init", text: "again")], to: out, compression: .none, mtime: testMTime)
        }
        let unchanged = try readBytes(out) == before
        #expect(unchanged)
        #expect(try dir.listing() == ["initramfs.img"])
    }

    @Test func missingOutputDirectoryIsAClearError() throws {
        let error = #expect(throws: ImageBuilderError.self) {
            try InitramfsWriter.write(
                Self.sample, to: "/nonexistent-clump-dir/initramfs.img", compression: .none, mtime: 0)
        }
        #expect(error?.hint?.contains("directory must exist") == true)
    }

    @Test func nonASCIINamesAreWrittenAsUTF8() throws {
        let dir = try ScratchDirectory()
        let out = dir.file("initramfs.cpio")
        // Under the default C locale libarchive cannot convert such names; the writer sets
        // C.UTF-8 for its own thread.
        try InitramfsWriter.write([.file("etc/café.txt", text: "x")], to: out, compression: .none, mtime: 0)
        #expect(try parseNewc(try readBytes(out)).map(\.name) == ["etc", "etc/café.txt", "TRAILER!!!"])
        #expect(try ImageInspector.inspect(path: out).entries.map(\.path) == ["etc", "etc/café.txt"])
    }
}
