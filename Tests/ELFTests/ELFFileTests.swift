import Foundation
import Testing

@testable import ELF

func elfFixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return [UInt8](try Data(contentsOf: url))
}

func elfFixturePath(_ name: String) throws -> String {
    try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)).path
}

func expectELFError(_ kind: ELFError.Kind, _ body: () throws -> Void) -> ELFError? {
    do {
        try body()
        Issue.record("expected an ELFError \(kind), nothing was thrown")
    } catch let error as ELFError {
        #expect(error.kind == kind, "\(error)")
        return error
    } catch {
        Issue.record("expected an ELFError, got \(error)")
    }
    return nil
}

@Suite struct ELFFileTests {
    @Test func parsesAnExecutable() throws {
        let file = try ELFFile(bytes: elfFixture("prog"), path: "prog")
        #expect(file.type == .sharedObject)  // a PIE
        #expect(file.machine == ELFFile.amd64Machine)
        #expect(file.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(!file.isStatic)
        #expect(file.programHeaders.contains { $0.type == ELFFile.ProgramHeader.dynamic })
        let dynamic = try #require(file.dynamic)
        #expect(dynamic.needed == ["libfoo.so.1", "libbar.so.2"])
        #expect(dynamic.runpath == ["$ORIGIN/../lib"])
        #expect(dynamic.rpath == nil)
        #expect(dynamic.soname == nil)
    }

    @Test(arguments: [
        ("libfoo.so.1.0", "libfoo.so.1", ["libbaz.so.3"], nil as [String]?),
        ("libbar.so.2", "libbar.so.2", ["libfoo.so.1"], nil),
        ("libbaz.so.3", "libbaz.so.3", [], ["/nonexistent/rpath"]),
        ("ld.so", "ld-linux-x86-64.so.2", [], nil),
    ])
    func parsesSharedObjects(_ name: String, _ soname: String, _ needed: [String], _ rpath: [String]?) throws {
        let file = try ELFFile(bytes: elfFixture(name), path: name)
        #expect(file.type == .sharedObject)
        #expect(file.interpreter == nil)
        #expect(file.dynamic?.soname == soname)
        #expect(file.dynamic?.needed == needed)
        #expect(file.dynamic?.rpath == rpath)
    }

    @Test func staticExecutableHasNoInterpreter() throws {
        let file = try ELFFile(bytes: elfFixture("static"))
        #expect(file.type == .executable)
        #expect(file.isStatic)
        #expect(file.dynamic == nil)
    }

    @Test func kernelModuleSections() throws {
        let file = try ELFFile(bytes: elfFixture("tiny.ko"), path: "tiny.ko")
        #expect(file.type == .relocatable)
        #expect(file.programHeaders.isEmpty)
        #expect(file.interpreter == nil)
        let modinfo = try #require(try file.contents(ofSectionNamed: ".modinfo"))
        let fields = modinfo.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(fields.contains("firmware=tiny/one.bin"))
        #expect(fields.contains("name=tiny"))
        #expect(file.section(named: ".text") != nil)
        #expect(file.section(named: ".nope") == nil)
        #expect(try file.contents(ofSectionNamed: ".nope") == nil)
    }

    @Test func rejectsWhatItCannotRead() throws {
        _ = expectELFError(.notELF) { _ = try ELFFile(bytes: Array("#!/bin/sh\necho hi\n".utf8)) }
        _ = expectELFError(.notELF) { _ = try ELFFile(bytes: []) }
        let error = expectELFError(.unsupported) { _ = try ELFFile(bytes: elfFixture("libbaz32.so.3"), path: "x") }
        #expect(error?.description.contains("32-bit") == true)

        var bigEndian = try elfFixture("prog")
        bigEndian[5] = 2
        _ = expectELFError(.unsupported) { _ = try ELFFile(bytes: bigEndian) }
        var badClass = try elfFixture("prog")
        badClass[4] = 9
        _ = expectELFError(.malformed) { _ = try ELFFile(bytes: badClass) }
    }

    @Test(arguments: [20, 63, 100, 300, 600])
    func truncatedFilesAreMalformed(_ length: Int) throws {
        let bytes = Array(try elfFixture("prog").prefix(length))
        let error = expectELFError(.malformed) { _ = try ELFFile(bytes: bytes, path: "prog") }
        #expect(error?.description.hasPrefix("prog: ") == true)
    }

    @Test func outOfRangeTablesAreMalformed() throws {
        var bytes = try elfFixture("prog")
        // e_shoff (offset 40) far past the end of the file.
        for index in 40..<48 { bytes[index] = 0 }
        bytes[46] = 0x10
        _ = expectELFError(.malformed) { _ = try ELFFile(bytes: bytes) }
        var phentsize = try elfFixture("prog")
        phentsize[54] = 32
        _ = expectELFError(.malformed) { _ = try ELFFile(bytes: phentsize) }
    }

    @Test func readReportsMissingFilesWithErrno() {
        let error = expectELFError(.io) { _ = try ELFFile.read(path: "/nonexistent/file") }
        #expect(error?.errno == ENOENT)
        #expect(error?.syscall == "open")
        #expect(error?.description.contains("No such file or directory") == true)
    }

    // MARK: - Real binaries from the host

    @Test func hostLs() throws {
        let file = try ELFFile.read(path: "/bin/ls")
        #expect(file.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(file.dynamic?.needed.contains("libc.so.6") == true)
        #expect(file.section(named: ".dynstr") != nil)
    }

    @Test func hostLibc() throws {
        let file = try ELFFile.read(path: "/lib/x86_64-linux-gnu/libc.so.6")
        #expect(file.dynamic?.soname == "libc.so.6")
        #expect(file.dynamic?.needed == ["ld-linux-x86-64.so.2"])
    }

    @Test func hostStaticBusybox() throws {
        let path = "/bin/busybox"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) is missing: install busybox-static")
            return
        }
        let file = try ELFFile.read(path: path)
        #expect(file.isStatic, "install busybox-static, not busybox")
        #expect(try SharedLibraryClosure.resolve(binary: path).isEmpty)
    }
}
