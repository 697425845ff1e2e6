import AgentSupport
import Glibc

/// The announcement keys a member holds: the current one, which it signs with, and the ones it
/// also accepts: the previous key while a rotation is under way, and the next one once the master
/// has handed it out (see `Authenticator`).
public enum ClusterKeys {
    public struct Set: Equatable, Sendable {
        public var current: [UInt8]
        public var previous: [UInt8]?
        public var next: [UInt8]?

        public init(current: [UInt8], previous: [UInt8]? = nil, next: [UInt8]? = nil) {
            self.current = current
            self.previous = previous
            self.next = next
        }
    }

    /// The current key from `path`, and the previous key from `previous` when that file exists.
    public static func load(_ path: String, previous: String? = nil) throws -> (current: [UInt8], previous: [UInt8]?) {
        var watch = Watch(path, previous: previous, next: .some(nil))
        let keys = try watch.load()
        return (keys.current, keys.previous)
    }

    /// The key files of a member, named by the one convention the drone's join and the master's
    /// serve both write: `cluster.key`, `cluster.key.previous`, `cluster.key.next`. Written by
    /// rename, in that order (see `JoinSession.deliver`), so a reader between two renames holds
    /// every key that is in use.
    public struct Watch: Sendable {
        public let current: String
        public let previous: String?
        public let next: String?
        /// The files as last read: inode, size and modification time of each (nil: absent).
        private var seen: [Stamp?] = []

        struct Stamp: Equatable, Sendable {
            var inode: UInt64
            var size: Int64
            var seconds: Int
            var nanoseconds: Int
        }

        /// `previous` by default `path.previous`; `next` by default `path.next`.
        public init(_ path: String, previous: String? = nil, next: String?? = .none) {
            current = path
            self.previous = previous ?? path + ".previous"
            switch next {
            case .none: self.next = path + ".next"
            case .some(let named): self.next = named
            }
        }

        /// Reads the keys; throws when the current one is missing or too short, or another file is there and too short.
        public mutating func load() throws -> Set {
            seen = stamps()
            guard let current = ClusterKeyFile.key(from: try SystemFile.read(current, limit: 4096)) else {
                throw ClusterStateError(
                    operation: "read the cluster key", path: current,
                    hint: "it needs 64 hex digits or at least 16 bytes; clumpbuild writes it into every image")
            }
            func optional(_ path: String?, _ what: String) throws -> [UInt8]? {
                guard let path, SystemFile.exists(path) else { return nil }
                guard let key = ClusterKeyFile.key(from: try SystemFile.read(path, limit: 4096)) else {
                    throw ClusterStateError(operation: "read the \(what) cluster key", path: path, hint: "too short")
                }
                return key
            }
            return Set(current: current, previous: try optional(previous, "previous"), next: try optional(next, "next"))
        }

        /// The keys when a file changed since the last read and they can be read; nil otherwise (a
        /// member keeps its keys rather than lose them to a file being replaced or gone).
        public mutating func changed() -> Set? {
            let now = stamps()
            guard now != seen else { return nil }
            var copy = self
            guard let keys = try? copy.load() else { return nil }
            self = copy
            return keys
        }

        private func stamps() -> [Stamp?] {
            [current, previous, next].map { path in
                var info = stat()
                guard let path, stat(path, &info) == 0 else { return nil }
                return Stamp(
                    inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: info.st_mtim.tv_sec,
                    nanoseconds: info.st_mtim.tv_nsec)
            }
        }
    }
}
