internal import CLzma

/// xz compression with a CRC32 integrity check, in front of another sink.
///
/// The kernel's XZ decoder (XZ Embedded, lib/xz) accepts only CRC32 or no check
/// (Documentation/staging/xz.rst); libarchive's xz filter hard-codes CRC64, so an initramfs
/// written by it would fail to unpack at boot. Owns its `lzma_stream`; `deinit` ends it.
final class XZCompressor: ArchiveSink {
    private let stream: UnsafeMutablePointer<lzma_stream>
    private let next: ArchiveSink
    private let operation: String
    private let path: String
    private var output: [UInt8]

    /// Preset 6: an 8 MiB dictionary, which the kernel's decoder allocates without trouble.
    static let preset: UInt32 = 6

    init(next: ArchiveSink, operation: String, path: String) throws {
        self.next = next
        self.operation = operation
        self.path = path
        self.output = [UInt8](repeating: 0, count: 1 << 16)
        stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
        // All-zero is LZMA_STREAM_INIT.
        stream.initialize(to: lzma_stream())
        let result = lzma_easy_encoder(stream, Self.preset, LZMA_CHECK_CRC32)
        guard result == LZMA_OK else {
            lzma_end(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw ImageBuilderError(
                operation: operation, path: path, reason: "lzma_easy_encoder failed (lzma_ret \(result.rawValue))",
                function: "lzma_easy_encoder")
        }
    }

    deinit {
        lzma_end(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        stream.pointee.next_in = base.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = bytes.count
        while stream.pointee.avail_in > 0 {
            try step(LZMA_RUN)
        }
        stream.pointee.next_in = nil
    }

    func finish() throws {
        while try !step(LZMA_FINISH) {}
        try next.finish()
    }

    /// One `lzma_code` call; hands produced bytes on. Returns true at the end of the stream.
    @discardableResult
    private func step(_ action: lzma_action) throws -> Bool {
        let capacity = output.count
        let (result, produced) = output.withUnsafeMutableBufferPointer { buffer -> (lzma_ret, Int) in
            stream.pointee.next_out = buffer.baseAddress
            stream.pointee.avail_out = capacity
            let result = lzma_code(stream, action)
            return (result, capacity - stream.pointee.avail_out)
        }
        stream.pointee.next_out = nil
        if produced > 0 {
            try output.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        }
        switch result {
        case LZMA_OK: return false
        case LZMA_STREAM_END: return true
        default:
            throw ImageBuilderError(
                operation: operation, path: path, reason: "xz compression failed (lzma_ret \(result.rawValue))",
                function: "lzma_code")
        }
    }
}
