import Testing

@testable import ClusterView

/// Frames as snapshot files (Snapshots/*.txt: text, then one style code per cell).
/// Regenerate with `CLUMP_UPDATE_SNAPSHOTS=1 swift test --filter ClusterViewTests` and review the diff.
@Suite struct ClusterRendererTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let snapshot: ClusterSnapshot
        let state: ViewState
        var testDescription: String { name }
    }

    static let sizes = [(80, 24), (132, 43)]

    static let cases: [Case] = [
        Case(name: "list", snapshot: Clusters.small, state: ViewState(role: .drone)),
        Case(name: "list-by-load", snapshot: Clusters.small, state: ViewState(role: .master, sortKey: .load)),
        Case(name: "grid-small", snapshot: Clusters.small, state: ViewState(role: .drone, chosenLayout: .grid)),
        Case(name: "grid-254", snapshot: Clusters.full(), state: ViewState(role: .master)),
        Case(
            name: "list-254-scrolled", snapshot: Clusters.full(),
            state: ViewState(role: .master, chosenLayout: .list, scroll: 30)),
        Case(name: "help-drone", snapshot: Clusters.small, state: ViewState(role: .drone, showsHelp: true)),
        Case(name: "help-master", snapshot: Clusters.small, state: ViewState(role: .master, showsHelp: true)),
        Case(
            name: "confirm-shutdown", snapshot: Clusters.small, state: ViewState(role: .drone, confirmsShutdown: true)),
        Case(name: "no-card", snapshot: Clusters.notConfigured(.noCard), state: ViewState(role: .drone)),
        Case(name: "no-carrier", snapshot: Clusters.notConfigured(.noCarrier), state: ViewState(role: .drone)),
        Case(name: "waiting-dhcp", snapshot: Clusters.notConfigured(.waitingForDHCP), state: ViewState(role: .drone)),
        Case(
            name: "safe-mode", snapshot: Clusters.notConfigured(.notAttempted, mode: .safe),
            state: ViewState(role: .drone)),
        Case(
            name: "source-problem",
            snapshot: ClusterSnapshot(
                local: LocalNode(configuration: .notAttempted, mode: .auto),
                problem: "no cluster data: open /run/clump/cluster: No such file or directory"),
            state: ViewState(role: .master)),
        Case(
            name: "demo",
            snapshot: ClusterSnapshot(local: Clusters.configured, nodes: Clusters.small.nodes, isDemo: true),
            state: ViewState(role: .master)),
    ]

    @Test(arguments: cases)
    func frames(_ testCase: Case) throws {
        for (width, height) in Self.sizes {
            let frame = ClusterRenderer.render(testCase.snapshot, width: width, height: height, state: testCase.state)
            try assertSnapshot(frame.snapshot, named: "\(testCase.name)-\(width)x\(height)")
        }
    }

    @Test func fullClassCFitsOn80x24AsGrid() {
        let snapshot = Clusters.full()
        let state = ViewState(role: .master)
        #expect(ClusterRenderer.layout(snapshot, width: 80, height: 24, state: state) == .grid)
        #expect(ClusterRenderer.scrollLimits(snapshot, width: 80, height: 24, state: state).maximum == 0)
        let text = ClusterRenderer.render(snapshot, width: 80, height: 24, state: state).lines.joined(separator: "\n")
        for id in [1, 100, 254] { #expect(text.contains(" \(id)"), "node \(id) not on screen") }
    }

    @Test func listWhenEveryNodeFitsGridWhenNot() {
        #expect(ClusterRenderer.layout(Clusters.small, width: 80, height: 24, state: ViewState(role: .master)) == .list)
        #expect(ClusterRenderer.layout(Clusters.small, width: 80, height: 10, state: ViewState(role: .master)) == .grid)
        let chosen = ViewState(role: .master, chosenLayout: .list)
        #expect(ClusterRenderer.layout(Clusters.full(), width: 80, height: 24, state: chosen) == .list)
    }

    @Test func sortByLoadPutsBusiestFirstAndDownNodesLast() {
        let ids = ClusterRenderer.sorted(Clusters.small.nodes, by: .load).map(\.id)
        #expect(ids.first == 3)  // 3.9 on 4 CPUs
        #expect(Array(ids.suffix(2)) == [4, 201])
        #expect(
            ClusterRenderer.sorted(Clusters.small.nodes, by: .id).map(\.id) == Clusters.small.nodes.map(\.id).sorted())
    }

    @Test(arguments: [(0.69, Style.Colour.green), (0.7, .yellow), (0.99, .yellow), (1.0, .red), (3, .red)])
    func loadThresholdsArePerCPU(perCPU: Double, colour: Style.Colour) {
        let node = NodeRow(id: 1, address: "a", state: .up, load: perCPU * 4, cpus: 4)
        #expect(ClusterRenderer.loadColour(node) == colour)
    }

    @Test func tinyAndSerialSizesDoNotCrash() {
        for (width, height) in [(0, 0), (1, 1), (19, 4), (20, 5), (40, 10), (300, 100)] {
            let frame = ClusterRenderer.render(
                Clusters.full(), width: width, height: height, state: ViewState(role: .drone))
            #expect(frame.width == width && frame.height == height)
        }
    }

    @Test func hostileAddressesReachTheScreenAsPlainASCII() {
        var snapshot = Clusters.small
        snapshot.nodes[0].address = "\u{1B}[2Jevil\u{7}é"
        let frame = ClusterRenderer.render(snapshot, width: 80, height: 24, state: ViewState(role: .master))
        #expect(frame.characters.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        #expect(frame.lines[3].contains("?[2Jevil??"))
    }
}
