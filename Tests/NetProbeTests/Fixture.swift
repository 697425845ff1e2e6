import Foundation
import Testing

@testable import NetProbe

/// Annotated hex fixtures: `hex bytes  # comment`, one field per line; `#` lines are comments.
enum Fixture {
    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    }

    static func hex(_ name: String) throws -> [UInt8] {
        try parseHex(String(contentsOf: url(name), encoding: .utf8))
    }

    static func parseHex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for line in text.split(separator: "\n") {
            let data = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for token in data.split(separator: " ") {
                guard let byte = UInt8(token, radix: 16) else {
                    Issue.record("bad hex token '\(token)' in line '\(line)'")
                    continue
                }
                bytes.append(byte)
            }
        }
        return bytes
    }
}

let droneMAC = MACAddress("52:54:00:12:34:56")!
