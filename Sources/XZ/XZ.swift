internal import CLzma

/// `.xz` compression over liblzma, for kernel modules (`.ko.xz`) and firmware.
///
/// The drone's kernel has no CONFIG_MODULE_DECOMPRESS, so the image ships `.ko.xz` and the
/// agent decompresses in userspace before `finit_module`. Everything here works from memory
/// buffers, and links fully static (`liblzma.a`).
public enum XZ {
    /// The six magic bytes that open every .xz stream (xz file format 1.0.4, section 2.1.1.1).
    public static let magic: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]

    /// The default decoder memory limit: far above what our own streams need (their dictionary
    /// is never larger than their data) and small enough for a 64 MB drone.
    public static let defaultMemoryLimit: UInt64 = 64 << 20

    /// The default cap on decompressed size: the largest Debian module is ~8 MB.
    public static let defaultMaxOutputSize: Int = 512 << 20

    /// liblzma's version string, e.g. "5.4.1".
    public static var version: String { String(cString: lzma_version_string()) }

    /// True if `bytes` starts with the .xz magic.
    public static func isXZ(_ bytes: [UInt8]) -> Bool {
        bytes.count >= magic.count && bytes[0..<magic.count].elementsEqual(magic)
    }

    /// Compresses `bytes` into one .xz stream with a CRC32 check, like kernel modules'
    /// `.ko.xz` (the kernel's own decompressors only know CRC32 and none).
    ///
    /// `preset` is xz's 0...9. The LZMA2 dictionary is shrunk to the input size (rounded up
    /// to a power of two) so a decoder never needs more memory than the data: preset 9 would
    /// otherwise announce a 64 MiB dictionary for a 20 KiB module.
    public static func compress(_ bytes: [UInt8], preset: Int = 9) throws -> [UInt8] {
        guard (0...9).contains(preset) else {
            throw XZError(.unsupported, "preset \(preset) is out of range", hint: "use 0 (fastest) ... 9 (smallest)")
        }
        var options = lzma_options_lzma()
        if lzma_lzma_preset(&options, UInt32(preset)) != 0 {
            throw XZError(.unsupported, "liblzma does not know preset \(preset)", function: "lzma_lzma_preset")
        }
        options.dict_size = dictionarySize(for: bytes.count, presetSize: options.dict_size)

        let bound = lzma_stream_buffer_bound(bytes.count)
        guard bound > 0 else {
            throw XZError(.outputTooLarge, "\(bytes.count) bytes are too many to compress in one buffer")
        }
        var output = [UInt8](repeating: 0, count: bound)
        var written = 0
        let ret: lzma_ret = withUnsafeMutablePointer(to: &options) { optionsPointer in
            var filters = [
                lzma_filter(id: filterLZMA2, options: UnsafeMutableRawPointer(optionsPointer)),
                lzma_filter(id: vliUnknown, options: nil),
            ]
            return bytes.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    lzma_stream_buffer_encode(
                        &filters, LZMA_CHECK_CRC32, nil, input.baseAddress, input.count, out.baseAddress, &written,
                        out.count)
                }
            }
        }
        guard ret == LZMA_OK else { throw error(ret, function: "lzma_stream_buffer_encode", file: nil) }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one or more concatenated .xz streams.
    ///
    /// - Parameters:
    ///   - limit: the most memory the decoder may use (the stream header announces it).
    ///   - maxOutputSize: refuse to produce more than this many bytes (protects against bombs).
    ///   - file: what is being decompressed, for error messages.
    public static func decompress(
        _ bytes: [UInt8], limit: UInt64 = defaultMemoryLimit, maxOutputSize: Int = defaultMaxOutputSize,
        file: String? = nil
    ) throws -> [UInt8] {
        guard isXZ(bytes) else {
            throw XZError(
                .notXZ, "not .xz data (the first bytes are not FD 37 7A 58 5A 00)", file: file,
                hint: bytes.isEmpty ? "the input is empty" : "is it compressed with another tool (gzip, zstd)?")
        }
        var stream = lzma_stream()  // all zero: the same as LZMA_STREAM_INIT
        defer { lzma_end(&stream) }
        let initRet = lzma_stream_decoder(&stream, limit, concatenated)
        guard initRet == LZMA_OK else { throw error(initRet, function: "lzma_stream_decoder", file: file) }

        var output: [UInt8] = []
        output.reserveCapacity(min(maxOutputSize, max(4096, bytes.count * 4)))
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var tooLarge = false
        let ret: lzma_ret = bytes.withUnsafeBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = input.count
            return chunk.withUnsafeMutableBufferPointer { buffer in
                while true {
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = buffer.count
                    // Everything is in memory, so we always LZMA_FINISH: a stream that is not
                    // complete when the input runs out then reports LZMA_BUF_ERROR.
                    let ret = lzma_code(&stream, LZMA_FINISH)
                    let produced = buffer.count - stream.avail_out
                    if produced > 0 {
                        if output.count + produced > maxOutputSize {
                            tooLarge = true
                            return ret
                        }
                        output.append(contentsOf: buffer[0..<produced])
                    }
                    if ret != LZMA_OK { return ret }
                }
            }
        }
        if tooLarge {
            throw XZError(
                .outputTooLarge, "decompressed data exceeds \(maxOutputSize) bytes", file: file,
                hint: "raise maxOutputSize if this file is genuine")
        }
        switch ret {
        case LZMA_STREAM_END:
            return output
        case LZMA_MEMLIMIT_ERROR:
            let needed = lzma_memusage(&stream)
            throw XZError(
                .memoryLimit,
                "decoding needs \(mebibytes(needed)) of memory, the limit is \(mebibytes(limit))",
                file: file, function: "lzma_code", code: Int32(bitPattern: ret.rawValue),
                hint:
                    "the stream was compressed with a large dictionary; recompress with a smaller one"
                    + " (xz --lzma2=dict=1MiB)"
            )
        default:
            throw error(ret, function: "lzma_code", file: file)
        }
    }

    // MARK: - Internals

    /// LZMA_FILTER_LZMA2 and LZMA_VLI_UNKNOWN are function-like macros Swift cannot import.
    private static let filterLZMA2: lzma_vli = 0x21
    private static let vliUnknown: lzma_vli = UInt64.max
    /// LZMA_CONCATENATED (container.h): decode `cat a.xz b.xz` like xz does.
    private static let concatenated: UInt32 = 0x08

    static func dictionarySize(for count: Int, presetSize: UInt32) -> UInt32 {
        let minimum: UInt32 = 4096  // LZMA_DICT_SIZE_MIN
        var size = minimum
        while Int(size) < count && size < presetSize { size <<= 1 }
        return min(size, max(presetSize, minimum))
    }

    private static func mebibytes(_ bytes: UInt64) -> String {
        let tenths = (bytes * 10 + (1 << 19)) >> 20
        return "\(tenths / 10).\(tenths % 10) MiB"
    }

    private static func error(_ ret: lzma_ret, function: String, file: String?) -> XZError {
        let code = Int32(bitPattern: ret.rawValue)
        switch ret {
        case LZMA_FORMAT_ERROR:
            return XZError(.corrupt, "the .xz stream header is not valid", file: file, function: function, code: code)
        case LZMA_DATA_ERROR:
            return XZError(
                .corrupt, "the compressed data is corrupt", file: file, function: function, code: code,
                hint: "the file was damaged in transit or on disk; rebuild the image")
        case LZMA_BUF_ERROR:
            return XZError(
                .truncated, "the .xz data ends before the stream does", file: file, function: function, code: code,
                hint: "the file was cut short (an interrupted copy or download?)")
        case LZMA_OPTIONS_ERROR:
            return XZError(
                .unsupported, "the stream uses options this liblzma does not support", file: file,
                function: function, code: code)
        case LZMA_UNSUPPORTED_CHECK:
            return XZError(
                .unsupported, "the stream's integrity check type is not supported", file: file, function: function,
                code: code)
        case LZMA_MEM_ERROR:
            return XZError(
                .outOfMemory, "liblzma could not allocate memory", file: file, function: function, code: code)
        case LZMA_MEMLIMIT_ERROR:
            return XZError(.memoryLimit, "the memory limit was reached", file: file, function: function, code: code)
        default:
            return XZError(.internal, "liblzma failed unexpectedly", file: file, function: function, code: code)
        }
    }
}
