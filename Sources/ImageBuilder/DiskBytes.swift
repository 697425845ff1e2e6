/// Little helpers for reading fixed-layout on-disk structures from byte arrays (pure).
extension Array where Element == UInt8 {
    func diskLE16(_ offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }

    func diskLE32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16
            | UInt32(self[offset + 3]) << 24
    }

    func diskLE64(_ offset: Int) -> UInt64 { UInt64(diskLE32(offset)) | UInt64(diskLE32(offset + 4)) << 32 }

    mutating func putDiskLE64(_ value: UInt64, at offset: Int) {
        putDiskLE32(UInt32(truncatingIfNeeded: value), at: offset)
        putDiskLE32(UInt32(truncatingIfNeeded: value >> 32), at: offset + 4)
    }

    mutating func putDiskLE16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }

    mutating func putDiskLE32(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
    }

    /// ECMA-119 7.3.3 "both-byte order": little-endian then big-endian copy.
    mutating func putDiskBoth32(_ value: UInt32, at offset: Int) {
        putDiskLE32(value, at: offset)
        for index in 0..<4 { self[offset + 4 + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(3 - index))) }
    }

    /// ASCII text of a fixed field, trailing spaces and NULs removed.
    func diskASCII(_ range: Range<Int>) -> String {
        var bytes = Array(self[range])
        while let last = bytes.last, last == 0 || last == 0x20 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
