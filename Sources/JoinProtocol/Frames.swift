/// Messages on the join's TCP stream: a 2-byte big-endian length, then that many bytes (Noise's
/// own framing). `maximum` bounds what a peer can make us buffer.
public struct FrameReader: Sendable {
    /// The largest frame either side sends; a join message is a few hundred bytes.
    public static let maximum = 4096

    private var buffer: [UInt8] = []

    public init() {}

    /// Bytes waiting that are not a whole frame yet.
    public var pending: Int { buffer.count }

    /// Adds bytes read from the socket.
    public mutating func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 { buffer += bytes }

    /// The next whole frame; nil until one has arrived; throws for a frame over `maximum`.
    public mutating func next() throws(JoinError) -> [UInt8]? {
        guard buffer.count >= 2 else { return nil }
        let length = Int(buffer[0]) << 8 | Int(buffer[1])
        guard length <= Self.maximum else {
            throw JoinError("a join frame of \(length) bytes (at most \(Self.maximum))")
        }
        guard buffer.count >= 2 + length else { return nil }
        let frame = Array(buffer[2..<(2 + length)])
        buffer.removeFirst(2 + length)
        return frame
    }

    /// `bytes` as a frame.
    public static func frame(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count <= maximum)
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }
}
