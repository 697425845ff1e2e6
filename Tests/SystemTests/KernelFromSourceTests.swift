import Foundation
import Testing

/// The drone kernel built from Debian's linux-source with a patch series, booted in 64 MB.
///
/// One drone-minimal build serves every test of the run (`SharedKernel`), in the kernel cache
/// the environment names (CLUMP_KERNEL_CACHE, else ~/.cache/clump/kernels), so a second run
/// reuses it. The failure tests stop before compiling; the reproducibility test compiles the
/// same inputs once more into a cache of its own.
@Suite("drone kernel from source", .serialized)
struct KernelFromSourceTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/kernel"
    /// Limits, not expectations: a cold drone-minimal build is about 6 min on 2 idle cores.
    static let buildSeconds = 3600.0
    static let bootSeconds = 240.0

    @Test("the patched drone-minimal ISO boots in 64 MB to `clump: node 15`, its banner line on the console")
    func isoBoots() async throws {
        let kernel = try await SharedKernel.shared.built()
        let console = try Console(
            "kernel-iso", bootArguments: [kernel.out + "/clump.iso", "--memory", "64", "--timeout", "900"])
        try console.expect("clump: patched drone kernel", within: Self.bootSeconds)
        try console.expect(#"clump: nic eth0 52:54:00:12:34:56 driver e1000\r?\n"#, within: Self.bootSeconds)
        try console.expect(#"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254\r?\n"#, within: 120)
        #expect(!console.transcript.contains("module"), "drone-minimal loads no module:\n\(console.transcript)")
    }

    @Test("the same kernel PXE-boots in 64 MB with a virtio-net card to `clump: node 15`")
    func pxeBoots() async throws {
        let kernel = try await SharedKernel.shared.built()
        let console = try Console(
            "kernel-pxe",
            bootArguments: [kernel.out + "/tftpboot", "--nic", "virtio-net-pci", "--memory", "64", "--timeout", "900"])
        try console.expect("clump: patched drone kernel", within: Self.bootSeconds)
        try console.expect(#"clump: nic eth0 52:54:00:12:34:56 driver virtio_net\r?\n"#, within: Self.bootSeconds)
        try console.expect(#"clump: node 15 network 10\.0\.2\.0/24 map 1 10\.0\.2\.1 254\r?\n"#, within: 120)
    }

    @Test("the image carries the built kernel and its empty module indexes, not the host's kernel")
    func imageUsesBuiltKernel() async throws {
        let kernel = try await SharedKernel.shared.built()
        let image = try Data(contentsOf: URL(fileURLWithPath: kernel.entry + "/bzImage"))
        let pxeKernel = try FileManager.default.contentsOfDirectory(atPath: kernel.out + "/tftpboot")
            .map { kernel.out + "/tftpboot/" + $0 }
            .first { (try? Data(contentsOf: URL(fileURLWithPath: $0))) == image }
        #expect(pxeKernel != nil, "the PXE tree holds the cache entry's bzImage")
        #expect(kernel.buildLog.contains("clump: kernel 6.1"), "\(kernel.buildLog)")
        #expect(kernel.buildLog.contains(", 0 modules,"), "\(kernel.buildLog)")
        let log = try String(contentsOfFile: kernel.entry + "/build.log", encoding: .utf8)
        #expect(log.contains("patch -p1"), "the build log is kept beside the entry")
    }

    @Test("two builds of the same inputs give byte-identical bzImages")
    func reproducible() async throws {
        let kernel = try await SharedKernel.shared.built()
        let cache = try Harness.scratch("kernel-cache-again")
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let again = try SharedKernel.buildKernel(spec: kernel.spec, cache: cache)
        #expect(again != kernel.entry, "the second build has its own entry")
        let first = try Data(contentsOf: URL(fileURLWithPath: kernel.entry + "/bzImage"))
        let second = try Data(contentsOf: URL(fileURLWithPath: again + "/bzImage"))
        #expect(first == second, "bzImage differs between two builds of the same inputs")
        // Same inputs, same key: the second run of `clumpbuild kernel` is a cache hit.
        let (status, output) = try Harness.run(
            [try Harness.clumpbuild, "kernel", "--spec", kernel.spec], environment: ["CLUMP_KERNEL_CACHE": cache])
        #expect(status == 0 && output.contains("from the cache"), "\(output)")
    }

    @Test("a patch that does not apply stops the build naming the patch and the hunk; the cache is unchanged")
    func stalePatch() throws {
        let work = try Harness.scratch("kernel-stale")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let cache = work + "/cache"
        try FileManager.default.createDirectory(atPath: cache + "/an-older-entry", withIntermediateDirectories: true)
        let spec = try SharedKernel.writeSpec(
            in: work, patches: [Self.fixtures + "/banner.patch", Self.fixtures + "/stale.patch"])
        let (status, output) = try Harness.run(
            [try Harness.clumpbuild, "kernel", "--spec", spec], environment: ["CLUMP_KERNEL_CACHE": cache])
        #expect(status == 1, "\(output)")
        #expect(output.contains("stale.patch: does not apply: init/main.c hunk #2 (@@ -1500,6 +1501,7 @@"), "\(output)")
        #expect(!output.contains("compiling"), "\(output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache) == ["an-older-entry"])
    }

    @Test("Ctrl-C while it compiles stops make and leaves nothing in the cache")
    func interrupted() throws {
        let work = try Harness.scratch("kernel-interrupted")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let cache = work + "/cache"
        // Its own inputs (another user name), so no cached entry short-cuts it.
        let spec = try SharedKernel.writeSpec(in: work, user: "interrupted")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Harness.clumpbuild)
        process.arguments = ["kernel", "--spec", spec, "--jobs", "1"]
        process.environment = ProcessInfo.processInfo.environment.merging(["CLUMP_KERNEL_CACHE": cache]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let transcript = Transcript()
        output.fileHandleForReading.readabilityHandler = { handle in transcript.append(handle.availableData) }
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let deadline = Date().addingTimeInterval(900)
        while !transcript.text.contains("kernel: compiling"), process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
        }
        try #require(transcript.text.contains("kernel: compiling"), "\(transcript.text)")
        Thread.sleep(forTimeInterval: 5)  // make and the compilers are running now
        kill(process.processIdentifier, SIGINT)
        // A limit, not a target: removing the unpacked tree takes a while on a busy disk.
        let stop = Date().addingTimeInterval(600)
        while process.isRunning, Date() < stop { Thread.sleep(forTimeInterval: 0.2) }
        try #require(!process.isRunning, "clumpbuild kernel still runs 600 s after SIGINT")
        #expect(process.terminationStatus == 130, "\(transcript.text)")
        #expect(transcript.text.contains("interrupted"), "\(transcript.text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
    }

    @Test("a fragment asking for an option whose dependency is off fails before compiling, naming both")
    func droppedOption() throws {
        let work = try Harness.scratch("kernel-dropped")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let fragment = work + "/dhcp.config"
        try "# The kernel's own DHCP client (nfsroot's ip=dhcp), without IP_PNP it depends on.\nCONFIG_IP_PNP_DHCP=y\n"
            .write(toFile: fragment, atomically: true, encoding: .utf8)
        let spec = try SharedKernel.writeSpec(in: work, fragments: ["drone-minimal", fragment])
        let (status, output) = try Harness.run(
            [try Harness.clumpbuild, "kernel", "--spec", spec], environment: ["CLUMP_KERNEL_CACHE": work + "/cache"])
        #expect(status == 1, "\(output)")
        #expect(output.contains("CONFIG_IP_PNP_DHCP=y (\(fragment):2) is not set in the merged config"), "\(output)")
        #expect(output.contains("it depends on IP_PNP, and IP_PNP is not set"), "\(output)")
        #expect(!output.contains("compiling"), "\(output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/cache").isEmpty)
    }
}

/// The patched drone-minimal kernel and an image built on it, once per test run.
actor SharedKernel {
    static let shared = SharedKernel()

    struct Built: Sendable {
        var spec: String
        /// The kernel cache entry.
        var entry: String
        /// The image's out directory.
        var out: String
        /// What `clumpbuild build` printed.
        var buildLog: String
    }

    private var result: Result<Built, Error>?

    func built() throws -> Built {
        if let result { return try result.get() }
        let made = Result { () throws -> Built in
            let work = try Harness.scratch("kernel-image")
            let spec = try Self.writeSpec(in: work, patches: [KernelFromSourceTests.fixtures + "/banner.patch"])
            let entry = try Self.buildKernel(spec: spec, cache: nil)
            let (status, output) = try Harness.run(
                [try Harness.clumpbuild, "build", "--spec", spec, "--out", work + "/out"], cwd: work,
                environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            guard status == 0 else { throw HarnessError("clumpbuild build failed (\(status)):\n\(output)") }
            guard output.contains("kernel: 6.1") && output.contains("from the cache, \(entry)") else {
                throw HarnessError("clumpbuild build did not take the kernel from the cache:\n\(output)")
            }
            return Built(spec: spec, entry: entry, out: work + "/out", buildLog: output)
        }
        result = made
        return try made.get()
    }

    /// `clumpbuild kernel --spec SPEC`, in `cache` or the environment's; the entry's directory.
    static func buildKernel(spec: String, cache: String?) throws -> String {
        let (status, output) = try Harness.run(
            ["nice", "-n", "10", try Harness.clumpbuild, "kernel", "--spec", spec],
            environment: cache.map { ["CLUMP_KERNEL_CACHE": $0] } ?? [:])
        guard status == 0, let entry = output.split(separator: "\n").last.map(String.init), entry.hasPrefix("/") else {
            throw HarnessError("clumpbuild kernel failed (\(status)):\n\(output.suffix(6000))")
        }
        return entry
    }

    /// A spec building drone-minimal (or `fragments`) with `patches`, kernel messages on the console.
    static func writeSpec(
        in work: String, fragments: [String] = ["drone-minimal"], patches: [String] = [], user: String = "clump"
    ) throws -> String {
        let list = { (items: [String]) in "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        let text = """
            kernel:
              build:
                fragments: \(list(fragments))
                patches: \(list(patches))
                user: \(user)
            boot:
              quiet: false
            """
        let path = work + "/clump.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Output collected from a pipe's handler thread.
final class Transcript: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
