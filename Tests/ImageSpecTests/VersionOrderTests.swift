import ImageSpec
import Testing

@Suite struct VersionOrderTests {
    @Test(arguments: [
        ("6.10.0-1-amd64", "6.9.0-1-amd64", 1),
        ("6.1.0-28-amd64", "6.1.0-9-amd64", 1),
        ("6.1.0-28-amd64", "6.1.0-28-amd64", 0),
        ("5.10.0", "6.1.0", -1),
        ("6.1", "6.1.0", -1),
        ("6.1.0-rc1", "6.1.0", 1),
        ("6.1.0~rc1", "6.1.0", -1),
        ("6.01", "6.1", 0),
        ("2.6.32-5-686", "2.6.9", 1),
        ("6.1.0-28-amd64", "6.1.0-28-cloud-amd64", -1),
    ])
    func ordersLikeSortV(_ a: String, _ b: String, _ sign: Int) {
        #expect(VersionOrder.compare(a, b).signum() == sign)
        #expect(VersionOrder.compare(b, a).signum() == -sign)
    }

    @Test func sortsKernelReleases() {
        let sorted = ["6.9.0-1-amd64", "6.10.0-1-amd64", "6.1.0-28-amd64", "6.1.0-9-amd64"]
            .sorted(by: VersionOrder.isOlder)
        #expect(sorted == ["6.1.0-9-amd64", "6.1.0-28-amd64", "6.9.0-1-amd64", "6.10.0-1-amd64"])
    }
}
