import Foundation
import Testing

@testable import ClusterView

/// A drone that has not joined has no announcer yet: its view says what it waits for, from the
/// join's state file beside the announcer's table, rather than "is the cluster daemon running?".
@Suite struct JoinStateTests {
    @Test("waiting, joined and refused read as words; no state file, or another line, is the daemon question")
    func joinState() throws {
        let directory = NSTemporaryDirectory() + "clump-joinstate-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = directory + "/cluster"
        #expect(throws: ClusterViewError.self) { try FileSource.read(table) }
        #expect(FileSource.joinState(beside: table) == nil)
        for (state, words) in [
            ("waiting 482-913 10.66.0.1", "waiting for approval by 10.66.0.1, code 482-913"),
            ("joined 10.66.0.1 operator", "joined 10.66.0.1 (approved by operator); the announcer is starting"),
            ("refused 10.66.0.1", "refused by 10.66.0.1; asking again"),
        ] {
            try (state + "\n").write(toFile: directory + "/join", atomically: true, encoding: .utf8)
            #expect(FileSource.joinState(beside: table) == words)
            do {
                _ = try FileSource.read(table)
                Issue.record("read a table that is not there")
            } catch {
                #expect("\(error)" == words)
            }
        }
        try "garbage\n".write(toFile: directory + "/join", atomically: true, encoding: .utf8)
        #expect(FileSource.joinState(beside: table) == nil)
    }
}
