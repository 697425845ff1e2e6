import AgentSupport

/// A file the master hands a node inside its session, to be laid into the node's RAM: what an
/// NFS-root node's shared root cannot give it because it is a secret (its own SSH host key, the
/// root's password hashes, the MUNGE key). Sent after the welcome as `file` messages of at most
/// `chunk` bytes each, since a frame holds 4 KiB and a shadow file may not fit in one.
public struct JoinFile: Sendable, Equatable {
    /// Relative to the node's root (`etc/shadow`): plain names, no `.` or `..`.
    public var path: String
    /// Permission bits (no setuid, setgid or sticky: a secret needs none).
    public var mode: UInt32
    /// Numeric owner and group, as in the shared root the node runs (the master reads them there).
    public var uid: UInt32
    public var gid: UInt32
    public var contents: [UInt8]

    public init(path: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, contents: [UInt8]) {
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.contents = contents
    }

    /// Bytes of contents per message: hex doubles them, and the frame keeps room for the rest.
    public static let chunk = 1536
    /// At most this much per file and this many files: what a node buffers is bounded.
    public static let maxSize = 256 << 10
    public static let maxFiles = 32

    /// Whether `path` names a file below a root and nothing else: 1 to 8 parts of printable
    /// characters other than `/`, none `.` or `..`, 255 characters at most.
    public static func isPlain(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return path.utf8.count <= 255 && (1...8).contains(parts.count)
            && parts.allSatisfy { part in
                !part.isEmpty && part != "." && part != ".." && part.utf8.allSatisfy { (0x21...0x7E).contains($0) }
            }
    }

    /// The file as messages: `file PATH` with its mode, owner, size, and one chunk each.
    public var messages: [JoinMessage] {
        stride(from: 0, to: max(contents.count, 1), by: Self.chunk).map { offset in
            JoinMessage(
                "file", path,
                fields: [
                    (name: "mode", value: String(mode, radix: 8)), (name: "uid", value: "\(uid)"), (name: "gid", value: "\(gid)"),
                    (name: "size", value: "\(contents.count)"), (name: "offset", value: "\(offset)"),
                    (name: "data", value: Hex.encode(Array(contents[offset..<min(offset + Self.chunk, contents.count)]))),
                ])
        }
    }

    /// Puts the files of a welcome back together from their messages, in order, refusing anything
    /// out of order, too large, or not a plain path.
    public struct Assembler: Sendable {
        /// Files whole so far.
        public private(set) var files: [JoinFile] = []
        private var current: JoinFile?
        private var size = 0

        public init() {}

        /// Whether no file is half received.
        public var between: Bool { current == nil }

        /// Adds one `file` message; throws for one that does not follow from the last.
        public mutating func add(_ message: JoinMessage) throws(JoinError) {
            guard message.kind == "file", Self.number(message.first("offset")) != nil else {
                throw JoinError("a '\(message.kind)' message where a file's part was due")
            }
            guard JoinFile.isPlain(message.value) else { throw JoinError("a file named '\(message.value)', which is not a plain path") }
            guard let mode = message.first("mode").flatMap({ UInt32($0, radix: 8) }), mode & ~0o777 == 0,
                let uid = Self.number(message.first("uid")), let gid = Self.number(message.first("gid")),
                let size = Self.number(message.first("size")), size <= JoinFile.maxSize,
                let offset = Self.number(message.first("offset")),
                let data = message.first("data").flatMap({ Hex.decode($0) })
            else { throw JoinError("the file \(message.value) came with a bad mode, owner, size or part") }
            if current == nil {
                guard offset == 0, files.count < JoinFile.maxFiles else {
                    throw JoinError("the file \(message.value) began at \(offset), or came after \(JoinFile.maxFiles) others")
                }
                current = JoinFile(path: message.value, mode: mode, uid: UInt32(uid), gid: UInt32(gid), contents: [])
                self.size = size
            }
            guard var file = current, file.path == message.value, file.mode == mode, file.uid == uid, file.gid == gid,
                self.size == size, offset == file.contents.count, offset + data.count <= size
            else { throw JoinError("a part of \(message.value) that does not follow the one before") }
            file.contents += data
            if file.contents.count == size {
                files.append(file)
                current = nil
            } else {
                guard !data.isEmpty else { throw JoinError("an empty part of \(message.value)") }
                current = file
            }
        }

        private static func number(_ text: String?) -> Int? {
            guard let text, text.utf8.count <= 10, let value = Int(text), value >= 0, value <= UInt32.max else { return nil }
            return value
        }
    }
}
