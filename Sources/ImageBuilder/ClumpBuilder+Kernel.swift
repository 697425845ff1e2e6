import Foundation
import ImageSpec
import KernelBuild

extension ClumpBuilder {
    /// `clumpbuild kernel`: the spec's `kernel.build` (or the drone-minimal default), with the
    /// command line's source, jobs and profiles over it.
    public static func buildKernel(
        specPath: String?, source: String?, jobs: Int?, profiles: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment, log: @escaping (String) -> Void
    ) throws -> KernelBuildResult {
        let spec = try loadSpec(specPath)
        var build = resolvedBuild(spec) ?? Spec.KernelBuild()
        if let source { build.source = spec.resolve(source) }
        if !profiles.isEmpty { build.fragments = profiles.map { $0.contains("/") ? spec.resolve($0) : $0 } }
        return try kernel(build, spec: spec, jobs: jobs, environment: environment, log: log)
    }

    /// The spec with `kernel.image/modules/config` pointing at the built (or cached) kernel
    /// when it has a `kernel.build:` section; unchanged otherwise.
    static func withBuiltKernel(
        _ spec: Spec, environment: [String: String], log: @escaping (String) -> Void
    ) throws -> Spec {
        guard let build = resolvedBuild(spec) else { return spec }
        let result = try kernel(build, spec: spec, jobs: nil, environment: environment, log: log)
        var built = spec
        built.kernel.image = result.entry.image
        built.kernel.modules = result.entry.modules
        built.kernel.config = result.entry.config
        return built
    }

    private static func resolvedBuild(_ spec: Spec) -> Spec.KernelBuild? {
        guard var build = spec.kernel.build else { return nil }
        build.source = build.source.map(spec.resolve)
        build.patches = build.patches.map(spec.resolve)
        build.base = build.base.map { KernelBuilder.namedBases.contains($0) ? $0 : spec.resolve($0) }
        build.fragments = build.fragments.map { $0.contains("/") || $0.hasSuffix(".config") ? spec.resolve($0) : $0 }
        return build
    }

    private static func kernel(
        _ build: Spec.KernelBuild, spec: Spec, jobs: Int?, environment: [String: String],
        log: @escaping (String) -> Void
    ) throws -> KernelBuildResult {
        let resources = try Resources.locate(environment: environment)
        let epoch = spec.sourceDateEpoch ?? environment["SOURCE_DATE_EPOCH"].flatMap { Int($0) }
        let request = KernelBuildRequest(
            build: build, epoch: epoch, jobs: jobs, kernelConfig: resources.kernelConfig,
            cache: KernelCache(environment: environment))
        return try KernelBuilder.build(request, log: log)
    }
}
