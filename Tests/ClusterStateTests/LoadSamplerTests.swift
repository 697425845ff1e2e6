import AutoMap
import Foundation
import Testing

@testable import ClusterState

struct LoadSamplerTests {
    static let fixtures = Bundle.module.resourcePath.map { $0 + "/Fixtures" } ?? "Fixtures"

    @Test func samplesAFixtureTree() throws {
        let root = Self.fixtures + "/drone"
        var sampler = LoadSampler(root: root)
        let status = try #require(NodeStatus.read(root: root))
        #expect(status.configuration == .configured)
        #expect(status.node == 15)
        #expect(status.map == "1 10.0.0.1 254")
        let first = sampler.sample(status: status)
        #expect(first.load100 == 152)
        #expect(first.cpus == 4)
        #expect(first.cpuPercent == nil)
        #expect(first.memoryTotalMiB == 3906)
        // (4000000 - 3000000) / 4000000 of 255
        #expect(first.memoryUsed255 == 63)
        #expect(first.uptimeMinutes == 61)
        #expect(first.mosix == true)
        #expect(first.mode == .auto)
        #expect(first.configuration == .configured)
    }

    @Test func cpuShareBetweenTwoSamples() {
        let before = LoadSampler.cpu("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
        let after = LoadSampler.cpu("cpu  150 0 150 750 150 0 0 0 0 0\ncpu0 1 2 3 4\n")
        #expect(before.1 == 1)
        #expect(LoadSampler.percent(from: before.0!, to: after.0!) == 50)
        #expect(LoadSampler.percent(from: after.0!, to: before.0!) == nil)
    }

    @Test(arguments: [("0.00 0.01 0.05 1/100 5", 0), ("12.5 1 1 1/1 1", 1250), ("700.00 1 1", 65535), ("x", 0)])
    func loadAverage(text: String, expected: Int) {
        #expect(Int(LoadSampler.loadAverage100(text)) == expected)
    }

    @Test func missingFilesGiveAnEmptySample() {
        var sampler = LoadSampler(root: "/nonexistent-\(UInt32.random(in: 0...UInt32.max))")
        #expect(NodeStatus.read(root: sampler.root) == nil)
        #expect(sampler.sample(status: nil) == NodeLoad())
    }
}
