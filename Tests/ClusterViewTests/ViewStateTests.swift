import Testing

@testable import ClusterView

@Suite struct ViewStateTests {
    let limits = ViewState.ScrollLimits(page: 20, maximum: 50)

    func press(_ keys: [Key], _ state: inout ViewState, shown: ViewState.Layout = .list) -> [ViewAction] {
        keys.map { state.handle($0, limits: limits, layoutShown: shown) }
    }

    @Test func escapeOnADroneAsksThenYesShutsDown() {
        var state = ViewState(role: .drone)
        #expect(press([.escape], &state) == [.none])
        #expect(state.confirmsShutdown)
        #expect(press([.character(UInt8(ascii: "y"))], &state) == [.shutdown])
    }

    @Test func whileJobsRunAYesAsksASecondTime() {
        var state = ViewState(role: .drone)
        state.jobsRunning = 2
        let yes = Key.character(UInt8(ascii: "y"))
        #expect(press([.escape, yes], &state) == [.none, .none])
        #expect(state.confirmsShutdown && state.confirmsJobs)
        #expect(press([yes], &state) == [.shutdown])
        #expect(!state.confirmsJobs)
        // A no to the second question cancels both.
        #expect(press([.escape, yes, .character(UInt8(ascii: "n"))], &state) == [.none, .none, .none])
        #expect(!state.confirmsShutdown && !state.confirmsJobs)
    }

    @Test(arguments: [Key.character(UInt8(ascii: "n")), .escape, .character(UInt8(ascii: "q")), .enter, .down])
    func anythingButYesCancelsTheShutdown(_ key: Key) {
        var state = ViewState(role: .drone, confirmsShutdown: true)
        #expect(press([key], &state) == [.none])
        #expect(!state.confirmsShutdown)
    }

    @Test func escapeAndQOnTheMasterQuit() {
        var state = ViewState(role: .master)
        #expect(press([.escape], &state) == [.quit])
        #expect(press([.character(UInt8(ascii: "q"))], &state) == [.quit])
        var drone = ViewState(role: .drone)
        #expect(press([.character(UInt8(ascii: "q"))], &drone) == [.quit])
    }

    @Test func escapeLeavesHelpBeforeAnythingElse() {
        var state = ViewState(role: .drone)
        _ = press([.character(UInt8(ascii: "h"))], &state)
        #expect(state.showsHelp)
        _ = press([.escape], &state)
        #expect(!state.showsHelp && !state.confirmsShutdown)
        _ = press([.character(UInt8(ascii: "?")), .character(UInt8(ascii: "?"))], &state)
        #expect(!state.showsHelp)
    }

    @Test func sortCyclesAndResetsTheScroll() {
        var state = ViewState(role: .master, scroll: 10)
        _ = press([.character(UInt8(ascii: "s"))], &state)
        #expect(state.sortKey == .load && state.scroll == 0)
        _ = press([.character(UInt8(ascii: "s"))], &state)
        #expect(state.sortKey == .id)
    }

    @Test func gridTogglesFromWhatIsShown() {
        var state = ViewState(role: .master)
        _ = press([.character(UInt8(ascii: "g"))], &state, shown: .grid)
        #expect(state.chosenLayout == .list)
        _ = press([.character(UInt8(ascii: "g"))], &state, shown: .list)
        #expect(state.chosenLayout == .grid)
    }

    @Test func scrollingStaysWithinLimits() {
        var state = ViewState(role: .master)
        _ = press([.up], &state)
        #expect(state.scroll == 0)
        _ = press([.down, .down, .pageDown], &state)
        #expect(state.scroll == 22)
        _ = press([.pageDown, .pageDown], &state)
        #expect(state.scroll == 50)
        _ = press([.home], &state)
        #expect(state.scroll == 0)
        _ = press([.end], &state)
        #expect(state.scroll == 50)
        _ = press([.pageUp], &state)
        #expect(state.scroll == 30)
    }
}
