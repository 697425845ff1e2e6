import Foundation
import Testing

@testable import ClusterView

/// Clusters the tests draw: fixed, so snapshots are stable.
enum Clusters {
    static let configured = LocalNode(
        configuration: .configured, id: 15, address: "192.168.1.15", network: "192.168.1.0/24",
        mapLine: "1 192.168.1.1 254", mode: .auto)

    /// Twelve nodes with every state and every colour band, this node (15) among them.
    static var small: ClusterSnapshot {
        let gib: UInt64 = 1 << 20
        let nodes = [
            NodeRow(
                id: 1, address: "192.168.1.1", state: .up, load: 0.12, cpus: 4, cpuPercent: 3, memoryUsedKiB: gib,
                memoryTotalKiB: 8 * gib, age: 0.4),
            NodeRow(
                id: 2, address: "192.168.1.2", state: .up, load: 2.6, cpus: 4, cpuPercent: 64, memoryUsedKiB: 6 * gib,
                memoryTotalKiB: 8 * gib, age: 0.9),
            NodeRow(
                id: 3, address: "192.168.1.3", state: .up, load: 3.9, cpus: 4, cpuPercent: 97,
                memoryUsedKiB: 15 * gib / 2, memoryTotalKiB: 8 * gib, age: 1.2),
            NodeRow(
                id: 4, address: "192.168.1.4", state: .down, load: 1, cpus: 2, cpuPercent: 50, memoryUsedKiB: gib,
                memoryTotalKiB: 2 * gib, age: 17),
            NodeRow(
                id: 7, address: "192.168.1.7", state: .expert, load: 0.0, cpus: 1, cpuPercent: 0,
                memoryUsedKiB: 300 << 10, memoryTotalKiB: 512 << 10, age: 0.2),
            NodeRow(
                id: 9, address: "192.168.1.9", state: .safe, load: 0.5, cpus: 2, cpuPercent: 20, memoryUsedKiB: gib,
                memoryTotalKiB: 4 * gib, age: 4.2),
            NodeRow(
                id: 15, address: "192.168.1.15", state: .up, load: 0.31, cpus: 8, cpuPercent: 5, memoryUsedKiB: 2 * gib,
                memoryTotalKiB: 16 * gib, age: 0),
            NodeRow(
                id: 20, address: "192.168.1.20", state: .up, load: 15.5, cpus: 16, cpuPercent: 88,
                memoryUsedKiB: 60 * gib, memoryTotalKiB: 64 * gib, age: 0.7),
            NodeRow(
                id: 31, address: "192.168.1.31", state: .up, load: 0.75, cpus: 1, cpuPercent: 74,
                memoryUsedKiB: 900 << 10, memoryTotalKiB: gib, age: 1.9),
            NodeRow(
                id: 100, address: "192.168.1.100", state: .up, load: 1.01, cpus: 2, cpuPercent: 51,
                memoryUsedKiB: 3 * gib, memoryTotalKiB: 4 * gib, age: 0.3),
            NodeRow(
                id: 201, address: "192.168.1.201", state: .down, load: 0, cpus: 4, cpuPercent: 0, memoryUsedKiB: 0,
                memoryTotalKiB: 8 * gib, age: 3725),
            NodeRow(
                id: 254, address: "192.168.1.254", state: .up, load: 0.02, cpus: 64, cpuPercent: 1,
                memoryUsedKiB: 12 * gib, memoryTotalKiB: 256 * gib, age: 2.5),
        ]
        return ClusterSnapshot(
            local: configured, nodes: nodes, drops: [DropCounter("bad-mac", 3), DropCounter("replay", 1)])
    }

    /// A full class-C cluster: nodes 1 to 254, a few down, loads spread over every band.
    static func full(step: Int = 0) -> ClusterSnapshot {
        var nodes: [NodeRow] = []
        for id in 1...254 {
            let cpus = [1, 2, 4, 8][id % 4]
            let state: NodeState = id % 37 == 0 ? .down : id % 53 == 0 ? .expert : id % 61 == 0 ? .safe : .up
            // Load per CPU cycles through the bands; `step` moves every node one band on.
            let perCPU = [0.05, 0.4, 0.8, 1.5][(id + step) % 4]
            nodes.append(
                NodeRow(
                    id: id, address: "192.168.1.\(id)", state: state, load: perCPU * Double(cpus), cpus: cpus,
                    cpuPercent: Double((id * 7 + step * 13) % 100), memoryUsedKiB: UInt64(id % 8 + 1) << 19,
                    memoryTotalKiB: 4 << 20, age: Double((id + step) % 3)))
        }
        return ClusterSnapshot(local: configured, nodes: nodes, drops: [DropCounter("bad-mac", 12)])
    }

    static func notConfigured(_ configuration: Configuration, mode: NodeMode = .auto) -> ClusterSnapshot {
        ClusterSnapshot(local: LocalNode(configuration: configuration, mode: mode))
    }
}

/// Compares `text` with `Snapshots/<name>.txt`; with CLUMP_UPDATE_SNAPSHOTS=1 writes it instead.
/// A missing snapshot fails (with the way to create it): a snapshot test never passes vacuously.
func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    let file = directory.appendingPathComponent(name + ".txt")
    if ProcessInfo.processInfo.environment["CLUMP_UPDATE_SNAPSHOTS"] == "1" {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record(
            "no snapshot \(file.path): run `CLUMP_UPDATE_SNAPSHOTS=1 swift test --filter ClusterViewTests`",
            sourceLocation: sourceLocation)
        return
    }
    if expected != text {
        let got = file.deletingPathExtension().appendingPathExtension("actual.txt")
        try? text.write(to: got, atomically: true, encoding: .utf8)
        Issue.record(
            "frame differs from \(file.lastPathComponent); got \(got.path) (diff them; CLUMP_UPDATE_SNAPSHOTS=1 accepts)",
            sourceLocation: sourceLocation)
    }
}

/// A minimal terminal for checking `ScreenWriter`: it understands exactly what the writer may
/// send (CUP, ED 2, SGR 0/1/7/3x/39, printable ASCII) and fails on anything else.
struct VirtualTerminal {
    var frame: Frame
    var row = 0
    var column = 0
    var style = Style.plain
    var characters: [[UInt8]]
    var styles: [[Style]]

    init(width: Int, height: Int) {
        frame = Frame(width: width, height: height)
        characters = Array(repeating: Array(repeating: 0x20, count: width), count: height)
        styles = Array(repeating: Array(repeating: .plain, count: width), count: height)
    }

    mutating func apply(_ bytes: [UInt8]) throws {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x1B {
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "[") else {
                    throw TestFailure("bare ESC at \(index)")
                }
                var end = index + 2
                while end < bytes.count, !(bytes[end] >= 0x40 && bytes[end] <= 0x7E) { end += 1 }
                guard end < bytes.count else { throw TestFailure("unterminated CSI at \(index)") }
                let parameters = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                    .split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
                switch bytes[end] {
                case UInt8(ascii: "H"):
                    row = max((parameters.first ?? 1) - 1, 0)
                    column = max((parameters.count > 1 ? parameters[1] : 1) - 1, 0)
                case UInt8(ascii: "J"):
                    characters = characters.map { $0.map { _ in 0x20 } }
                    styles = styles.map { $0.map { _ in .plain } }
                case UInt8(ascii: "m"):
                    var colour = Style.Colour.normal
                    var bold = false
                    var reverse = false
                    for parameter in parameters {
                        switch parameter {
                        case 0: (colour, bold, reverse) = (.normal, false, false)
                        case 1: bold = true
                        case 7: reverse = true
                        case 39: colour = .normal
                        case 30...37: colour = Style.Colour(rawValue: UInt8(parameter - 30)) ?? .normal
                        default: throw TestFailure("unexpected SGR \(parameter)")
                        }
                    }
                    style = Style(colour, bold: bold, reverse: reverse)
                default: throw TestFailure("unexpected CSI final \(bytes[end])")
                }
                index = end + 1
                continue
            }
            guard byte >= 0x20 && byte < 0x7F else { throw TestFailure("control byte \(byte)") }
            guard row < characters.count, column < characters[row].count else {
                throw TestFailure("write outside the screen at \(row),\(column)")
            }
            characters[row][column] = byte
            styles[row][column] = style
            // Autowrap is off (?7l): the cursor sticks at the last column.
            column = min(column + 1, characters[row].count - 1)
            index += 1
        }
    }

    /// True when the screen shows `frame` exactly, text and attributes.
    func shows(_ frame: Frame) -> Bool {
        for row in 0..<frame.height {
            for column in 0..<frame.width {
                let index = row * frame.width + column
                if characters[row][column] != frame.characters[index] || styles[row][column] != frame.styles[index] {
                    return false
                }
            }
        }
        return true
    }
}

/// Runs a program to its end, output to a file. Not Foundation's Process: the tmux server
/// the first call starts inherits the descriptors (a pipe would never reach end of file)
/// and the signal mask, which must be clean so tmux and clumpview react to signals.
func spawn(_ argv: [String], outputPath: String) throws -> (status: Int32, output: String) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
    cArguments.append(nil)
    defer { for pointer in cArguments { free(pointer) } }
    var pid: pid_t = 0
    let error = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
    guard error == 0 else { throw TestFailure("posix_spawn \(argv[0]): \(String(cString: strerror(error)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return (status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), output)
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
