internal import CBlkid

/// What libblkid sees in an image, as `blkid -p` shows it.
public struct BlkidReport: Sendable, Equatable, Encodable {
    /// Filesystem type ("iso9660").
    public var type: String?
    public var label: String?
    /// Partition table type ("dos" for a hybrid ISO).
    public var partitionTableType: String?
    public var uuid: String?
    /// Every NAME=value libblkid reported, in its order.
    public var values: [Value]

    public struct Value: Sendable, Equatable, Encodable {
        public var name: String
        public var value: String
    }
}

/// A libblkid low-level probe of one file (superblocks and partition tables). Owns the
/// `blkid_probe`; `deinit` frees it.
final class BlkidProbe {
    private let probe: blkid_probe
    let path: String

    init(path: String) throws {
        guard let probe = blkid_new_probe_from_filename(path) else {
            throw ImageBuilderError.system("blkid_new_probe_from_filename", operation: "probe image", path: path)
        }
        self.probe = probe
        self.path = path
    }

    deinit { blkid_free_probe(probe) }

    /// Runs the probe as `blkid -p` does: superblocks with LABEL/UUID/TYPE, plus partitions.
    func run() throws -> BlkidReport {
        // BLKID_SUBLKS_LABEL | UUID | TYPE (blkid.h: 1 << 1, 1 << 3, 1 << 5).
        let superblockFlags: Int32 = (1 << 1) | (1 << 3) | (1 << 5)
        guard blkid_probe_enable_superblocks(probe, 1) == 0,
            blkid_probe_set_superblocks_flags(probe, superblockFlags) == 0,
            blkid_probe_enable_partitions(probe, 1) == 0
        else {
            throw ImageBuilderError(operation: "probe image", path: path, reason: "could not configure the blkid probe")
        }
        let result = blkid_do_safeprobe(probe)
        // 0: found; 1: nothing found; -2: ambivalent (several filesystems); -1: error.
        if result == -1 {
            throw ImageBuilderError(
                operation: "probe image", path: path, reason: "blkid_do_safeprobe failed",
                function: "blkid_do_safeprobe")
        }
        if result == -2 {
            throw ImageBuilderError(
                operation: "probe image", path: path, reason: "libblkid found more than one filesystem signature",
                hint: "the image is ambivalent; `wipefs` lists the signatures")
        }
        var values: [BlkidReport.Value] = []
        let count = blkid_probe_numof_values(probe)
        if count > 0 {
            for index in 0..<count {
                var name: UnsafePointer<CChar>?
                var data: UnsafePointer<CChar>?
                var length = 0
                guard blkid_probe_get_value(probe, index, &name, &data, &length) == 0, let name, let data else {
                    continue
                }
                values.append(.init(name: String(cString: name), value: String(cString: data)))
            }
        }
        func lookup(_ key: String) -> String? { values.first(where: { $0.name == key })?.value }
        return BlkidReport(
            type: lookup("TYPE"), label: lookup("LABEL"), partitionTableType: lookup("PTTYPE"), uuid: lookup("UUID"),
            values: values)
    }
}
