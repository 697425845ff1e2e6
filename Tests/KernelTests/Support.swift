import Foundation
import Testing

@testable import Kernel

/// The fixture tree: lib/modules/6.1.0-test (and an older release), lib/firmware, boot.
func fixtureRoot() throws -> String {
    try #require(Bundle.module.url(forResource: "Fixtures/root", withExtension: nil)).path
}

func fixtureIndex() throws -> ModuleIndex {
    try ModuleIndex.load(root: fixtureRoot(), release: "6.1.0-test")
}

/// The kernel-config/ fragments of the package.
func fragmentDirectory() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("kernel-config").path
}

@discardableResult
func expectKernelError(_ kind: KernelError.Kind, _ body: () throws -> Void) -> KernelError? {
    do {
        try body()
        Issue.record("expected a KernelError \(kind), nothing was thrown")
    } catch let error as KernelError {
        #expect(error.kind == kind, "\(error)")
        return error
    } catch {
        Issue.record("expected a KernelError, got \(error)")
    }
    return nil
}

/// The newest kernel installed on the host; the host tier fails (never skips) without one.
func hostRelease() throws -> String {
    do {
        return try ModuleIndex.newestRelease()
    } catch {
        Issue.record("no kernel under /lib/modules: install linux-image-amd64 (\(error))")
        throw error
    }
}
