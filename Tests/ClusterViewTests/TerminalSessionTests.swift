import Foundation
import Testing

@testable import ClusterView

/// clumpview in a real terminal: tmux runs it, `send-keys` types, `capture-pane` reads the
/// screen. Each test has its own tmux server (`-L`), killed at the end whatever happens.
@Suite(.serialized) struct TerminalSessionTests {
    @Test func listSortGridHelpAndQuitOnTheMaster() throws {
        let session = try TmuxSession(cluster: Clusters.small, arguments: ["--role", "master"])
        try session.waitFor("the list") { $0.contains("NODE ADDRESS") && $0.contains("192.168.1.254") }
        #expect(try session.rows().first { $0.hasPrefix("   1 ") } != nil)

        try session.send("s")
        let byLoad = try session.waitFor("sorted by load") { $0.contains("sort:load") }
        // Node 3 (3.9 on 4 CPUs) is the busiest: first row under the column titles.
        #expect(byLoad.split(separator: "\n", omittingEmptySubsequences: false)[3].hasPrefix("   3 192.168.1.3"))

        try session.send("g")
        let grid = try session.waitFor("the grid") { $0.contains("load/CPU:") }
        #expect(grid.contains("201x"))  // down nodes carry an x

        try session.send("h")
        try session.waitFor("the help") { $0.contains("Keys") && $0.contains("q or ESC") }
        try session.send("h")
        try session.waitFor("back to the grid") { $0.contains("load/CPU:") }

        try session.send("q")
        #expect(try session.waitForExit() == 0)
    }

    @Test func scrollingAFullClassC() throws {
        let session = try TmuxSession(cluster: Clusters.full(), arguments: [])
        // 254 nodes do not fit 20 rows: the grid comes first, every node on one screen.
        try session.waitFor("the grid") { $0.contains("load/CPU:") && $0.contains(" 254") }
        try session.send("g")
        try session.waitFor("the list") { $0.contains("1-20/254") }
        try session.send("PageDown")
        try session.waitFor("the second page") { $0.contains("21-40/254") && $0.contains("  21 192.168.1.21 ") }
        try session.send("Down")
        try session.waitFor("one row on") { $0.contains("22-41/254") }
        try session.send("End")
        try session.waitFor("the end") { $0.contains("235-254/254") && $0.contains(" 254 192.168.1.254 ") }
        try session.send("Home")
        try session.waitFor("the start") { $0.contains("1-20/254") }
        try session.send("Escape")  // on the master ESC quits
        #expect(try session.waitForExit() == 0)
    }

    @Test func escapeOnADroneAsksAndYesRunsTheShutdown() throws {
        let directory = try TmuxSession.scratch()
        let marker = directory + "/shut-down"
        let session = try TmuxSession(
            cluster: Clusters.small, arguments: ["--role", "drone", "--on-shutdown", "echo confirmed > \(marker)"],
            directory: directory)
        try session.waitFor("the list") { $0.contains("ESC shutdown") }

        try session.send("Escape")
        try session.waitFor("the question") { $0.contains("Shut down this node? y/n") }
        try session.send("n")
        try session.waitFor("the question gone") { !$0.contains("Shut down this node?") && $0.contains("NODE") }
        #expect(!FileManager.default.fileExists(atPath: marker))

        try session.send("Escape")
        try session.waitFor("the question again") { $0.contains("Shut down this node? y/n") }
        try session.send("y")
        #expect(try session.waitForExit() == 0)
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "confirmed\n")
    }

    @Test func aZeroSizedTerminalIsAskedForItsSize() throws {
        // Serial consoles report 0x0 (TIOCGWINSZ): the view asks the terminal (cursor position
        // after moving to 999;999) and lays out for the answer, here 100 columns, not 80.
        let session = try TmuxSession(
            cluster: Clusters.small, arguments: [], width: 100, height: 30, before: "stty rows 0 cols 0; ")
        // The first frame may be the 80x24 fallback, drawn before the answer arrives (under
        // load it comes late); the view lays out again when it does.
        func counts(_ screen: String) -> Substring { screen.split(separator: "\n").first { $0.contains("10 up  2 down") } ?? "" }
        let screen = try session.waitFor("a 100-column layout") { counts($0).count == 99 }
        #expect(counts(screen).count == 99)  // right-aligned to column 100, one blank kept at the edge
        #expect(screen.split(separator: "\n").count <= 30)
        try session.send("q")
        #expect(try session.waitForExit() == 0)
    }

    @Test func arrowKeysAreNotMistakenForEscape() throws {
        // On a drone a lone ESC asks to shut down; the ESC that starts an arrow key must not.
        let session = try TmuxSession(cluster: Clusters.full(), arguments: ["--role", "drone"])
        try session.waitFor("the grid") { $0.contains("load/CPU:") }
        try session.send("g")
        try session.waitFor("the list") { $0.contains("1-20/254") }
        for _ in 0..<5 { try session.send("Down") }
        try session.waitFor("five rows on") { $0.contains("6-25/254") }
        #expect(try !session.screen().contains("Shut down"))
        try session.send("q")
        #expect(try session.waitForExit() == 0)
    }
}

/// One clumpview under its own tmux server, reading a snapshot file written for the test.
final class TmuxSession {
    let socket: String
    let directory: String

    /// `directory` (removed at the end) defaults to a new scratch directory.
    /// `before` is shell run first in the pane (to make the pty look like a serial console).
    init(
        cluster: ClusterSnapshot, arguments: [String], directory: String? = nil, width: Int = 80, height: Int = 24,
        before: String = ""
    ) throws {
        self.directory = try directory ?? Self.scratch()
        socket = "clumpview-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        let file = self.directory + "/cluster"
        try SnapshotFile.encode(cluster).write(toFile: file, atomically: true, encoding: .utf8)
        let command = ([try Self.binary(), "--file", file] + arguments).map(Self.shellQuoted).joined(separator: " ")
        // The shell records the exit status in a file (tmux's own #{pane_dead_status} is not
        // always filled in when the pane closes); remain-on-exit keeps the pane for a last look.
        let record = "echo $? > " + Self.shellQuoted(self.directory + "/status")
        try tmux([
            "-f", "/dev/null", "new-session", "-d", "-x", "\(width)", "-y", "\(height)", "-s", "view",
            before + "env -u COLUMNS -u LINES TERM=xterm " + command + "; " + record, ";", "set-option", "-t", "view",
            "remain-on-exit", "on",
        ])
    }

    deinit {
        _ = try? tmux(["kill-server"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The clumpview the tests run: `$CLUMP_BIN/clumpview` (scripts/test builds release), else
    /// the one built beside this test binary. Missing is a failure, never a skip.
    static func binary() throws -> String {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let directory =
            ProcessInfo.processInfo.environment["CLUMP_BIN"]
            ?? URL(fileURLWithPath: executable).deletingLastPathComponent().path
        let path = directory + "/clumpview"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: build it (swift build --product clumpview) or set CLUMP_BIN")
        }
        return path
    }

    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "clumpview-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func shellQuoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let (status, output) = try spawn(
            ["/usr/bin/env", "tmux", "-L", socket] + arguments, outputPath: directory + "/tmux.out")
        guard status == 0 else {
            throw TestFailure("tmux \(arguments.joined(separator: " ")) failed (is tmux installed?): \(output)")
        }
        return output
    }

    func send(_ key: String) throws { try tmux(["send-keys", "-t", "view", key]) }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "view"]) }

    func rows() throws -> [String] { try screen().split(separator: "\n").map(String.init) }

    /// Polls the screen until `condition` holds; fails with the last screen after 10 s. The
    /// limit only bounds a hang: a passing run takes as long as clumpview needs, no longer.
    @discardableResult
    func waitFor(_ what: String, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(10)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            usleep(20_000)
        }
        throw TestFailure("timed out waiting for \(what); the screen:\n\(last)")
    }

    /// Waits for clumpview to end and returns its exit status.
    func waitForExit() throws -> Int32 {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let recorded = try? String(contentsOfFile: directory + "/status", encoding: .utf8)
            if let recorded, let status = Int32(recorded.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return status
            }
            usleep(20_000)
        }
        throw TestFailure("clumpview did not exit; the screen:\n\(try screen())")
    }
}
