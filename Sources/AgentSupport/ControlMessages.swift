/// The ancillary data `recvmsg` fills in (`msg_control`): a run of control messages, each
/// `struct cmsghdr { size_t len; int level; int type; }` followed by its data, 8-aligned.
/// The packet sockets read PACKET_AUXDATA from it, the announcement socket IP_PKTINFO.
public enum ControlMessages {
    /// The data of the first message with `level` and `type` among the first `length` bytes of
    /// `control` (the `msg_controllen` recvmsg returned); nil when there is none or the run is
    /// malformed.
    public static func data(level: Int32, type: Int32, in control: [UInt8], length: Int) -> ArraySlice<UInt8>? {
        var offset = 0
        let end = min(length, control.count)
        while offset + 16 <= end {
            let messageLength = Int(native(control, offset, as: UInt64.self))
            guard messageLength >= 16, offset + messageLength <= end else { return nil }
            if Int32(bitPattern: native(control, offset + 8, as: UInt32.self)) == level
                && Int32(bitPattern: native(control, offset + 12, as: UInt32.self)) == type
            {
                return control[(offset + 16)..<(offset + messageLength)]
            }
            offset += (messageLength + 7) & ~7
        }
        return nil
    }

    private static func native<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as type: T.Type) -> T {
        bytes[offset..<offset + MemoryLayout<T>.size].withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
