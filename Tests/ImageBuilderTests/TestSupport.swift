import Foundation
import Testing

@testable import ImageBuilder

/// A scratch directory removed when the value goes away.
final class ScratchDirectory {
    let path: String

    init(_ name: String = #function) throws {
        let base = FileManager.default.temporaryDirectory.path
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = "\(base)/imagebuilder-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Names in the directory, hidden ones included.
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
}

struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a host tool; `stdinPath` feeds a file to it. Fails the test with a package hint if the
/// tool is missing: the CI installs these packages, so a missing tool is a broken setup.
func runTool(
    _ tool: String, _ arguments: [String], stdinPath: String? = nil, currentDirectory: String? = nil,
    package: String, sourceLocation: SourceLocation = #_sourceLocation
) throws -> ToolResult {
    guard FileManager.default.isExecutableFile(atPath: tool) else {
        Issue.record("\(tool) is missing: install the Debian package '\(package)'", sourceLocation: sourceLocation)
        throw ToolMissing(tool: tool)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    // Output goes to files, not pipes: a chatty tool can never block on a full pipe.
    let outPath = NSTemporaryDirectory() + "tool-out-\(UUID().uuidString)"
    let errPath = NSTemporaryDirectory() + "tool-err-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    if let stdinPath { process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinPath)) }
    try process.run()
    process.waitUntilExit()
    return ToolResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

struct ToolMissing: Error { var tool: String }

/// Runs a shell pipeline (for `zstd -dc X | cpio -t`).
func runShell(_ script: String, package: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult
{
    try runTool("/bin/sh", ["-c", script], package: package, sourceLocation: sourceLocation)
}

func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

/// A required file from a Debian package: fails (never skips) with the package to install.
func requiredFile(_ path: String, package: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else {
        Issue.record("\(path) is missing: install the Debian package '\(package)'", sourceLocation: sourceLocation)
        throw ToolMissing(tool: path)
    }
    return path
}

/// A fixed build time for tests: 2024-05-01 12:34:56 UTC.
let testMTime = 1_714_566_896

/// A file under Tests/ImageBuilderTests/Fixtures.
func fixture(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
        throw ToolMissing(tool: "Fixtures directory in the test bundle")
    }
    return url.appendingPathComponent(name).path
}

/// Boot files from Debian's isolinux and syslinux-common packages.
enum Syslinux {
    static func isolinuxBin() throws -> String {
        try requiredFile("/usr/lib/ISOLINUX/isolinux.bin", package: "isolinux")
    }
    static func isohdpfx() throws -> [UInt8] {
        try readBytes(try requiredFile("/usr/lib/ISOLINUX/isohdpfx.bin", package: "isolinux"))
    }
    static func ldlinux() throws -> String {
        try requiredFile("/usr/lib/syslinux/modules/bios/ldlinux.c32", package: "syslinux-common")
    }

    /// The smallest bootable ISO: isolinux, ldlinux.c32 and a config that prints a sentinel.
    static func bootEntries() throws -> [ImageEntry] {
        [
            .hostFile("isolinux/isolinux.bin", from: try isolinuxBin()),
            .hostFile("isolinux/ldlinux.c32", from: try ldlinux()),
            .hostFile("isolinux/isolinux.cfg", from: try fixture("isolinux.cfg")),
            .file("boot/initramfs-clump.img", text: "not really an initramfs\n"),
            .symlink("boot/initrd", to: "initramfs-clump.img"),
            .characterDevice("dev/console", major: 5, minor: 1),
        ]
    }
}

/// Reads the newc headers of an uncompressed cpio archive: (name, inode, mode, uid, gid, nlink,
/// mtime, rdevmajor, rdevminor) per record, trailer included. Layout: "070701" then 13 fields
/// of 8 hex digits, the NUL-terminated name padded to 4 bytes, the data padded to 4 bytes.
struct NewcRecord: Equatable {
    var name: String
    var inode: UInt32
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var nlink: UInt32
    var mtime: UInt32
    var fileSize: UInt32
    var rdevMajor: UInt32
    var rdevMinor: UInt32
}

func parseNewc(_ bytes: [UInt8]) throws -> [NewcRecord] {
    var records: [NewcRecord] = []
    var offset = 0
    func field(_ index: Int) -> UInt32 {
        let start = offset + 6 + index * 8
        return UInt32(String(decoding: bytes[start..<(start + 8)], as: UTF8.self), radix: 16) ?? .max
    }
    while offset + 110 <= bytes.count {
        guard String(decoding: bytes[offset..<(offset + 6)], as: UTF8.self) == "070701" else {
            throw ToolMissing(tool: "newc magic at \(offset)")
        }
        let nameSize = Int(field(11))
        let fileSize = field(6)
        let nameStart = offset + 110
        let name = String(decoding: bytes[nameStart..<(nameStart + nameSize - 1)], as: UTF8.self)
        records.append(
            NewcRecord(
                name: name, inode: field(0), mode: field(1), uid: field(2), gid: field(3), nlink: field(4),
                mtime: field(5), fileSize: fileSize, rdevMajor: field(9), rdevMinor: field(10)))
        offset = (nameStart + nameSize + 3) & ~3
        offset = (offset + Int(fileSize) + 3) & ~3
        if name == "TRAILER!!!" { break }
    }
    return records
}
