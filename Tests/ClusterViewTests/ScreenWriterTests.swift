import Testing

@testable import ClusterView

@Suite struct ScreenWriterTests {
    /// Frames a session goes through: start, ages tick, loads change, layout flips, help, back.
    static func session(width: Int, height: Int) -> [Frame] {
        let states = [
            ViewState(role: .drone), ViewState(role: .drone), ViewState(role: .drone, sortKey: .load),
            ViewState(role: .drone, chosenLayout: .list), ViewState(role: .drone, showsHelp: true),
            ViewState(role: .drone, confirmsShutdown: true), ViewState(role: .drone),
        ]
        return states.enumerated().map { step, state in
            ClusterRenderer.render(Clusters.full(step: step), width: width, height: height, state: state)
        }
    }

    @Test(arguments: [(80, 24), (132, 43), (40, 12)])
    func theTerminalEndsUpShowingEveryFrame(width: Int, height: Int) throws {
        var writer = ScreenWriter()
        var terminal = VirtualTerminal(width: width, height: height)
        for frame in Self.session(width: width, height: height) {
            try terminal.apply(writer.update(to: frame))
            #expect(terminal.shows(frame))
        }
    }

    @Test func anUnchangedFrameCostsNothing() {
        var writer = ScreenWriter()
        let frame = ClusterRenderer.render(Clusters.full(), width: 80, height: 24, state: ViewState(role: .master))
        _ = writer.update(to: frame)
        #expect(writer.update(to: frame).isEmpty)
    }

    @Test func invalidateAndResizeRepaintEverything() throws {
        var writer = ScreenWriter()
        let small = ClusterRenderer.render(Clusters.small, width: 80, height: 24, state: ViewState(role: .master))
        _ = writer.update(to: small)
        writer.invalidate()
        let repaint = writer.update(to: small)
        #expect(repaint.starts(with: Array("\u{1B}[0m\u{1B}[H\u{1B}[2J".utf8)))
        let wide = ClusterRenderer.render(Clusters.small, width: 132, height: 43, state: ViewState(role: .master))
        var terminal = VirtualTerminal(width: 132, height: 43)
        try terminal.apply(writer.update(to: wide))
        #expect(terminal.shows(wide))
    }

    /// Bytes per refresh against a 115200-baud serial console (~11,520 bytes/s at 8N1): a
    /// refresh a second must fit in a second of line time with room for keys.
    @Test func bytesPerRefreshFitASerialConsole() {
        let budget = 11_520
        func cost(_ before: ClusterSnapshot, _ after: ClusterSnapshot, width: Int, height: Int, state: ViewState) -> Int
        {
            var writer = ScreenWriter()
            _ = writer.update(to: ClusterRenderer.render(before, width: width, height: height, state: state))
            return writer.update(to: ClusterRenderer.render(after, width: width, height: height, state: state)).count
        }
        let grid = ViewState(role: .master)
        var first = ScreenWriter()
        let fullRepaint = first.update(to: ClusterRenderer.render(Clusters.full(), width: 80, height: 24, state: grid))
            .count
        // Idle: the same cluster a second later; in the grid ages do not show, so nothing changes.
        var later = Clusters.full()
        for index in later.nodes.indices { later.nodes[index].age += 1 }
        let idleGrid = cost(Clusters.full(), later, width: 80, height: 24, state: grid)
        // Busy: every node's load moves one colour band (the worst case, every cell changes).
        let changingGrid = cost(Clusters.full(), Clusters.full(step: 1), width: 80, height: 24, state: grid)
        let list = ViewState(role: .master, chosenLayout: .list)
        let idleList = cost(Clusters.full(), later, width: 132, height: 43, state: list)
        let changingList = cost(Clusters.full(), Clusters.full(step: 1), width: 132, height: 43, state: list)
        print(
            "clumpview bytes per refresh: 254-node grid 80x24 full repaint \(fullRepaint), idle \(idleGrid), "
                + "every cell changing \(changingGrid); 132x43 list idle ages \(idleList), all changing \(changingList)"
        )
        #expect(idleGrid == 0)
        #expect(fullRepaint < budget)
        #expect(changingGrid < budget)
        #expect(changingList < budget)
        #expect(idleList < changingList)
    }
}
