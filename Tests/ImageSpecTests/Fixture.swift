import Foundation
import Testing

/// Paths into `Fixtures/`, copied into the test bundle by SwiftPM.
enum Fixture {
    static func path(_ relative: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return url.appendingPathComponent(relative).path
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }
}
