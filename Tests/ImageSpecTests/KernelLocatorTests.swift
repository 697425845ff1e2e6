import Testing

@testable import ImageSpec

@Suite struct KernelLocatorTests {
    /// A spec whose relative paths resolve inside the fixture tree `tree`.
    func spec(_ yaml: String = "", in tree: String) throws -> Spec {
        try SpecLoader.parse(yaml: yaml, file: "clump.yaml", baseDirectory: Fixture.path("kernels/\(tree)"))
    }

    func locate(_ yaml: String = "", in tree: String) throws -> Result<ResolvedKernel, SpecError> {
        let root = try Fixture.path("kernels/\(tree)")
        let spec = try spec(yaml, in: tree)
        do {
            return .success(try KernelLocator(root: root).locate(spec))
        } catch {
            return .failure(error)
        }
    }

    @Test func picksTheNewestVersionThatHasModules() throws {
        let root = try Fixture.path("kernels/newest")
        let kernel = try locate(in: "newest").get()
        #expect(
            kernel
                == ResolvedKernel(
                    image: root + "/boot/vmlinuz-6.10.0-1-amd64",
                    modulesDir: root + "/lib/modules/6.10.0-1-amd64",
                    config: root + "/boot/config-6.10.0-1-amd64",
                    version: "6.10.0-1-amd64"))
        #expect(KernelLocator(root: root).installedVersions() == ["6.10.0-1-amd64", "6.9.0-1-amd64", "6.1.0-28-amd64"])
    }

    @Test func skipsAKernelWithoutModules() throws {
        let root = try Fixture.path("kernels/skips-orphan")
        let kernel = try locate(in: "skips-orphan").get()
        #expect(kernel.version == "6.1.0-28-amd64")
        #expect(kernel.image == root + "/boot/vmlinuz-6.1.0-28-amd64")
        #expect(kernel.config == nil)
    }

    @Test(arguments: [
        ("orphans-only", "found vmlinuz-6.12.0-1-amd64, but no"),
        ("empty", "no kernel found"),
    ])
    func reportsNoKernel(_ tree: String, _ message: String) throws {
        let error = try #require(locate(in: tree).failure)
        let diagnostic = try #require(error.diagnostics.first)
        #expect(error.diagnostics.count == 1)
        #expect(diagnostic.keyPath == "kernel.image")
        #expect(diagnostic.location == nil)
        #expect(diagnostic.message.contains(message), "\(diagnostic)")
        #expect(diagnostic.hint?.contains("apt-get install linux-image-amd64") == true)
    }

    @Test func pointsAtTheKernelSectionWhenItWasWritten() throws {
        let error = try #require(locate("label: X\nkernel:\n  config:\n", in: "empty").failure)
        // kernel.image was left out, so the error points at the `kernel:` mapping it belongs to.
        #expect(error.diagnostics.first?.location == SourceLocation(line: 3, column: 3))
    }

    @Test func derivesTheVersionFromTheImageName() throws {
        let root = try Fixture.path("kernels/newest")
        let kernel = try locate("kernel:\n  image: boot/vmlinuz-6.9.0-1-amd64\n", in: "newest").get()
        #expect(kernel.version == "6.9.0-1-amd64")
        #expect(kernel.image == root + "/boot/vmlinuz-6.9.0-1-amd64")
        #expect(kernel.modulesDir == root + "/lib/modules/6.9.0-1-amd64")
        #expect(kernel.config == nil)
    }

    @Test func takesTheVersionFromTheModulesDirectory() throws {
        let root = try Fixture.path("kernels/newest")
        let kernel = try locate("kernel:\n  modules: lib/modules/6.1.0-28-amd64/\n", in: "newest").get()
        #expect(kernel.version == "6.1.0-28-amd64")
        #expect(kernel.image == root + "/boot/vmlinuz-6.1.0-28-amd64")
    }

    @Test func findsTheConfigBesideAnUnpackedImage() throws {
        let unpacked = try Fixture.path("kernels/unpacked")
        let yaml =
            "kernel:\n  image: \(unpacked)/vmlinuz-6.10.0-1-amd64\n  modules: ../newest/lib/modules/6.10.0-1-amd64\n"
        let kernel = try locate(yaml, in: "unpacked").get()
        #expect(kernel.config == unpacked + "/config-6.10.0-1-amd64")
        #expect(kernel.modulesDir == (try Fixture.path("kernels/newest/lib/modules/6.10.0-1-amd64")))
    }

    @Test(arguments: [
        ("kernel:\n  image: boot/vmlinuz-9.9\n", "kernel.image", "2:10", "no such file: "),
        ("kernel:\n  modules: lib/modules/9.9\n", "kernel.modules", "2:12", "no such directory: "),
        ("kernel:\n  config: ../newest/boot\n", "kernel.config", "2:11", "is a directory, not a file"),
        ("kernel:\n  image: bzImage\n", "kernel.image", "2:10", "cannot tell the kernel version"),
        ("kernel:\n  image: vmlinuz-6.10.0-1-amd64\n", "kernel.image", "2:10", "no modules for kernel 6.10.0-1-amd64"),
    ])
    func reportsBadKernelPaths(_ yaml: String, _ keyPath: String, _ at: String, _ message: String) throws {
        let error = try #require(locate(yaml, in: "unpacked").failure)
        let diagnostic = try #require(error.diagnostics.first)
        #expect(diagnostic.keyPath == keyPath)
        #expect(diagnostic.location?.description == at)
        #expect(diagnostic.message.contains(message), "\(diagnostic)")
        #expect(diagnostic.hint != nil)
    }

    @Test func reportsEveryMissingPathAtOnce() throws {
        let error = try #require(locate("kernel:\n  image: nope\n  config: nope.config\n", in: "empty").failure)
        #expect(error.diagnostics.map(\.keyPath) == ["kernel.image", "kernel.config"])
    }

    @Test func modulesWithoutImage() throws {
        let yaml = "kernel:\n  modules: ../newest/lib/modules/6.9.0-1-amd64\n"
        let error = try #require(locate(yaml, in: "empty").failure)
        #expect(error.diagnostics.first?.message.contains("no kernel image for the modules of 6.9.0-1-amd64") == true)
        #expect(error.diagnostics.first?.keyPath == "kernel.image")
        #expect(error.diagnostics.first?.location == SourceLocation(line: 2, column: 3))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
