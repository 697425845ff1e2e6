import Glibc

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

    /// One non-blocking `recvmsg(2)` into `buffer`, with the sender's address in `name` and the
    /// control messages in `control`: the byte count (-1 with errno set, as recvmsg) and the
    /// `msg_controllen` to hand to `data(level:type:in:length:)`.
    public static func receive(
        _ fd: Int32, into buffer: inout [UInt8], name: inout [UInt8], control: inout [UInt8]
    ) -> (count: Int, controlLength: Int) {
        buffer.withUnsafeMutableBytes { data in
            name.withUnsafeMutableBytes { nameBytes in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_name = nameBytes.baseAddress
                        header.msg_namelen = socklen_t(nameBytes.count)
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBytes.baseAddress
                        header.msg_controllen = controlBytes.count
                        let count = recvmsg(fd, &header, Int32(MSG_DONTWAIT))
                        return (count, Int(header.msg_controllen))
                    }
                }
            }
        }
    }

    private static func native<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as type: T.Type) -> T {
        bytes[offset..<offset + MemoryLayout<T>.size].withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
