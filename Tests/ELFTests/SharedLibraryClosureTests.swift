import Foundation
import Testing

@testable import ELF

/// A throw-away root laid out like a merged-/usr Debian system, built from the fixtures.
final class FixtureRoot {
    let path: String
    private let fm = FileManager.default

    init() throws {
        path = NSTemporaryDirectory() + "elf-root-" + UUID().uuidString
        try dir("usr/bin")
        try dir("usr/lib/x86_64-linux-gnu")
        try dir("usr/lib64")
        try dir("usr/local/lib")
        try dir("opt/baz/lib")
        try dir("etc/ld.so.conf.d")
        try link("bin", "usr/bin")
        try link("lib", "usr/lib")
        try link("lib64", "usr/lib64")
        try copy("prog", to: "usr/bin/prog")
        try copy("ld.so", to: "usr/lib/x86_64-linux-gnu/ld-2.36.so")
        try link("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-2.36.so")
        try copy("libfoo.so.1.0", to: "usr/lib/libfoo.so.1.0")
        try link("usr/lib/libfoo.so.1", "libfoo.so.1.0")
        try copy("libbar.so.2", to: "usr/lib/x86_64-linux-gnu/libbar.so.2")
        try copy("libbaz32.so.3", to: "usr/local/lib/libbaz.so.3")  // a 32-bit decoy, earlier in the path
        try copy("libbaz.so.3", to: "opt/baz/lib/libbaz.so.3")
        try copy("static", to: "usr/bin/static")
        try write("etc/ld.so.conf", "# test root\ninclude /etc/ld.so.conf.d/*.conf\n")
        try write("etc/ld.so.conf.d/00-local.conf", "/usr/local/lib\n")
        try write("etc/ld.so.conf.d/baz.conf", "/opt/baz/lib   # the baz SDK\n")
        try write("etc/ld.so.conf.d/not-included.txt", "/nonexistent\n")
    }

    deinit { try? fm.removeItem(atPath: path) }

    func dir(_ relative: String) throws {
        try fm.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }

    func link(_ relative: String, _ target: String) throws {
        try fm.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: target)
    }

    func copy(_ fixture: String, to relative: String) throws {
        try fm.copyItem(atPath: try elfFixturePath(fixture), toPath: path + "/" + relative)
    }

    func write(_ relative: String, _ text: String) throws {
        try text.write(toFile: path + "/" + relative, atomically: false, encoding: .utf8)
    }

    func remove(_ relative: String) throws {
        try fm.removeItem(atPath: path + "/" + relative)
    }
}

@Suite struct SharedLibraryClosureTests {
    typealias Entry = SharedLibraryClosure.Entry

    @Test func resolvesLikeLdSo() throws {
        let root = try FixtureRoot()
        let r = root.path
        let closure = try SharedLibraryClosure.resolve(binary: "/bin/prog", root: r)
        #expect(
            closure == [
                Entry(
                    pathInImage: "/lib64/ld-linux-x86-64.so.2", hostPath: r + "/usr/lib64/ld-linux-x86-64.so.2",
                    symlinkTarget: "/lib/x86_64-linux-gnu/ld-2.36.so"),
                Entry(
                    pathInImage: "/lib/x86_64-linux-gnu/ld-2.36.so",
                    hostPath: r + "/usr/lib/x86_64-linux-gnu/ld-2.36.so"),
                // DT_RUNPATH $ORIGIN/../lib, with $ORIGIN the real directory of the executable.
                Entry(
                    pathInImage: "/usr/lib/libfoo.so.1", hostPath: r + "/usr/lib/libfoo.so.1",
                    symlinkTarget: "libfoo.so.1.0"),
                Entry(pathInImage: "/usr/lib/libfoo.so.1.0", hostPath: r + "/usr/lib/libfoo.so.1.0"),
                // Found in the first system directory; /lib is a symlink on the host only.
                Entry(
                    pathInImage: "/lib/x86_64-linux-gnu/libbar.so.2",
                    hostPath: r + "/usr/lib/x86_64-linux-gnu/libbar.so.2"),
                // Through ld.so.conf's include, after skipping the 32-bit /usr/local/lib copy.
                Entry(pathInImage: "/opt/baz/lib/libbaz.so.3", hostPath: r + "/opt/baz/lib/libbaz.so.3"),
            ])
    }

    @Test func everySymlinkTargetIsInTheClosure() throws {
        let root = try FixtureRoot()
        let closure = try SharedLibraryClosure.resolve(binary: "/usr/bin/prog", root: root.path)
        let paths = Set(closure.map(\.pathInImage))
        for entry in closure {
            if let target = entry.symlinkTarget {
                let resolved =
                    target.hasPrefix("/") ? target : Paths.join(Paths.directory(of: entry.pathInImage), target)
                #expect(paths.contains(resolved), "\(entry) points outside the closure")
            }
        }
    }

    @Test func staticBinaryNeedsNothing() throws {
        let root = try FixtureRoot()
        #expect(try SharedLibraryClosure.resolve(binary: "/bin/static", root: root.path).isEmpty)
    }

    @Test func unionOfBinariesHasEachPathOnce() throws {
        let root = try FixtureRoot()
        let one = try SharedLibraryClosure.resolve(binary: "/bin/prog", root: root.path)
        let both = try SharedLibraryClosure.resolve(
            binaries: ["/bin/prog", "/bin/static", "/usr/bin/prog"], root: root.path)
        #expect(both == one)
    }

    /// A dlopen()ed plugin brings itself and what it needs beyond the binary: Slurm's cgroup_v2.so needs
    /// libdbus-1, which slurmd does not (Debian's slurmd, which scripts/lib.sh installs).
    @Test func pluginsBringWhatTheyNeedBeyondTheBinary() throws {
        let plugin = "/usr/lib/x86_64-linux-gnu/slurm-wlm/cgroup_v2.so"
        let alone = try SharedLibraryClosure.resolve(binary: "/usr/sbin/slurmd")
        let loaded = try SharedLibraryClosure.resolve(binary: "/usr/sbin/slurmd", plugins: [plugin])
        let added = Set(loaded.map(\.pathInImage)).subtracting(alone.map(\.pathInImage))
        #expect(added.contains(plugin))
        #expect(added.contains { $0.hasSuffix("/libdbus-1.so.3") }, "\(added.sorted())")
        #expect(!alone.contains { $0.pathInImage.hasSuffix("/libdbus-1.so.3") })
        #expect(Set(alone.map(\.pathInImage)).isSubset(of: loaded.map(\.pathInImage)))
    }

    @Test func missingLibraryNamesBinaryAndLibrary() throws {
        let root = try FixtureRoot()
        try root.remove("opt/baz/lib/libbaz.so.3")
        let error = expectELFError(.libraryNotFound) {
            _ = try SharedLibraryClosure.resolve(binary: "/bin/prog", root: root.path)
        }
        let text = error?.description ?? ""
        #expect(text.contains("/bin/prog needs libbaz.so.3 (needed by /usr/lib/libfoo.so.1)"), "\(text)")
        #expect(text.contains("/usr/local/lib, /opt/baz/lib, /lib/x86_64-linux-gnu"), "\(text)")
        #expect(error?.hint != nil)
    }

    @Test func missingInterpreterIsAnError() throws {
        let root = try FixtureRoot()
        try root.remove("usr/lib/x86_64-linux-gnu/ld-2.36.so")
        let error = expectELFError(.libraryNotFound) {
            _ = try SharedLibraryClosure.resolve(binary: "/bin/prog", root: root.path)
        }
        #expect(error?.description.contains("symlink chain from /lib64/ld-linux-x86-64.so.2") == true)
    }

    @Test func missingBinaryIsAnIOError() throws {
        let root = try FixtureRoot()
        _ = expectELFError(.io) { _ = try SharedLibraryClosure.resolve(binary: "/bin/nothing", root: root.path) }
    }

    @Test func symlinkLoopsAreCaught() throws {
        let root = try FixtureRoot()
        try root.remove("usr/lib/libfoo.so.1")
        try root.link("usr/lib/libfoo.so.1", "libfoo.so.1.loop")
        try root.link("usr/lib/libfoo.so.1.loop", "libfoo.so.1")
        // realPath gives up on the loop; the search goes on and finds nothing else.
        _ = expectELFError(.symlinkLoop) { _ = try SharedLibraryClosure.resolve(binary: "/bin/prog", root: root.path) }
    }

    @Test(arguments: [
        ("$ORIGIN/../lib", "/opt/app/bin", "/opt/app/bin/../lib"),
        ("${ORIGIN}/lib", "/x", "/x/lib"),
        ("/usr/$LIB/tls", "/x", "/usr/lib/x86_64-linux-gnu/tls"),
        ("/opt/${PLATFORM}", "/x", "/opt/x86_64"),
        ("/plain", "/x", "/plain"),
    ])
    func tokenExpansion(_ entry: String, _ origin: String, _ expected: String) {
        #expect(SharedLibraryClosure.expand(entry, origin: origin) == expected)
    }

    @Test(arguments: [
        ("/lib\n/usr/lib # comment\n", [LdSoConf.Line.directory("/lib"), .directory("/usr/lib")]),
        ("include /etc/ld.so.conf.d/*.conf\n", [.include("/etc/ld.so.conf.d/*.conf")]),
        ("include a.conf b.conf", [.include("a.conf"), .include("b.conf")]),
        ("/a:/b,/c\t/d", [.directory("/a"), .directory("/b"), .directory("/c"), .directory("/d")]),
        ("/usr/X11R6/lib=libc5\nhwcap 0 nosegneg\n# only comments\n\n", [.directory("/usr/X11R6/lib")]),
    ])
    func ldSoConfLines(_ text: String, _ expected: [LdSoConf.Line]) {
        #expect(LdSoConf.parse(text) == expected)
    }

    @Test func ldSoConfFollowsIncludesInOrder() throws {
        let root = try FixtureRoot()
        #expect(try LdSoConf.directories(root: root.path) == ["/usr/local/lib", "/opt/baz/lib"])
        try root.remove("etc/ld.so.conf")
        #expect(try LdSoConf.directories(root: root.path) == [])
    }

    @Test(arguments: [
        ("/a/./b//c/", "/a/b/c"), ("/a/b/../c", "/a/c"), ("/../..", "/"), ("", "/"), ("x/y", "/x/y"),
    ])
    func pathNormalisation(_ path: String, _ expected: String) {
        #expect(Paths.normalize(path) == expected)
    }

    /// Cross-check with ldd (test only: the library never runs ldd).
    @Test func hostLsMatchesLdd() throws {
        let closure = try SharedLibraryClosure.resolve(binary: "/bin/ls")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = ["/bin/ls"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
        var lddPaths: Set<String> = []
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") {
                lddPaths.insert(words[arrow + 1])
            } else if let first = words.first, first.hasPrefix("/") {
                lddPaths.insert(first)
            }
        }
        #expect(!lddPaths.isEmpty)
        let requested = Set(closure.map(\.pathInImage))
        #expect(lddPaths.isSubset(of: requested), "ldd: \(lddPaths.sorted()), closure: \(requested.sorted())")
        // Everything else in the closure is what those paths' symlinks point at.
        let targets = Set(
            closure.compactMap { entry in
                entry.symlinkTarget.map {
                    $0.hasPrefix("/") ? $0 : Paths.join(Paths.directory(of: entry.pathInImage), $0)
                }
            })
        #expect(requested.subtracting(lddPaths).isSubset(of: targets))
        #expect(closure.contains { $0.pathInImage == "/lib64/ld-linux-x86-64.so.2" && $0.isSymlink })
        for entry in closure where !entry.isSymlink {
            #expect(FileManager.default.fileExists(atPath: entry.hostPath))
        }
    }
}
