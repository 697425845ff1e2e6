/// A calendar time in UTC computed from seconds since 1970 without the C library's time zone
/// (pure: same input, same fields on every host and in every TZ).
struct ISOTimestamp: Equatable {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    /// 0 Sunday ... 6 Saturday.
    var weekday: Int

    init(unixSeconds: Int) {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondsOfDay = unixSeconds - days * 86_400
        hour = secondsOfDay / 3600
        minute = secondsOfDay % 3600 / 60
        second = secondsOfDay % 60
        weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// ECMA-119 9.1.5: seven bytes, years since 1900, month, day, hour, minute, second,
    /// offset from GMT in 15-minute units (0: UTC).
    var directoryRecordDate: [UInt8] {
        [UInt8(clamping: year - 1900), UInt8(month), UInt8(day), UInt8(hour), UInt8(minute), UInt8(second), 0]
    }

    /// ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" in ASCII digits, then the GMT offset byte.
    var volumeDescriptorDate: [UInt8] {
        func digits(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let text =
            digits(year, 4) + digits(month, 2) + digits(day, 2) + digits(hour, 2) + digits(minute, 2)
            + digits(second, 2) + "00"
        return Array(text.utf8) + [0]
    }

    /// C `ctime()` layout, "Thu Jan  1 00:00:00 1970\n" (25 bytes), in UTC.
    var ctimeText: String {
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let dayText = day < 10 ? " \(day)" : "\(day)"
        return "\(days[weekday]) \(months[month - 1]) \(dayText) \(two(hour)):\(two(minute)):\(two(second)) \(year)\n"
    }
}

/// Makes an ISO 9660 image written by libarchive independent of when, where and by whom it was
/// written, by patching the bytes libarchive derives from the clock, the time zone or the
/// writing user (archive_write_set_format_iso9660.c):
///   - volume descriptor dates (creation, modification, effective) come from `time()`;
///   - directory record dates and Rock Ridge TF stamps use `localtime()` offsets, and the
///     root directory (and any directory libarchive synthesises) gets the current time;
///   - the "Non-ISO File System Information" block starts "INFO <ctime()>libarchive ...";
///   - the root directory, the boot catalog and "rr_moved" (where Rock Ridge relocates
///     directories nested deeper than 8) get the writer's uid/gid in Rock Ridge PX.
/// Every date becomes `mtime` in UTC; those owners become 0:0.
struct ISO9660Normaliser {
    let storage: ImageStorage
    let mtime: Int
    static let sector = 2048

    /// What the pass found (used by callers and tests).
    struct Summary: Equatable {
        var volumeDescriptors = 0
        var directoryRecords = 0
        var rockRidgeStamps = 0
        var ownersReset = 0
        var infoBlockPatched = false
        var bootCatalogLBA: UInt32?
    }

    private struct Tree {
        var rootLBA: UInt32
        var rootLength: UInt32
        var rockRidge: Bool
    }

    func normalise() throws -> Summary {
        var summary = Summary()
        let time = ISOTimestamp(unixSeconds: mtime)
        var trees: [Tree] = []
        var terminator: Int?
        // Volume descriptors start at sector 16 and end with a terminator (type 255).
        for index in 16..<(16 + 64) {
            var descriptor = try storage.read(at: index * Self.sector, count: Self.sector)
            guard descriptor.diskASCII(1..<6) == "CD001" else {
                throw normaliseError("sector \(index) is not an ISO 9660 volume descriptor")
            }
            let type = descriptor[0]
            if type == 255 {
                terminator = index
                break
            }
            if type == 0 {
                summary.bootCatalogLBA = try? ElTorito.catalogLBA(bootRecord: descriptor)
            }
            if type == 1 || type == 2 {
                // BP 814/831/866 (1-based): creation, modification, effective date; the
                // expiration date (BP 848) is left as libarchive writes it (unset).
                let stamp = time.volumeDescriptorDate
                for offset in [813, 830, 864] { descriptor.replaceSubrange(offset..<(offset + 17), with: stamp) }
                // The root directory record (BP 157-190) carries a date too.
                descriptor.replaceSubrange((156 + 18)..<(156 + 25), with: time.directoryRecordDate)
                try storage.write(descriptor, at: index * Self.sector)
                summary.volumeDescriptors += 1
                // Only the primary tree carries Rock Ridge; the supplementary one is Joliet.
                trees.append(
                    Tree(
                        rootLBA: descriptor.diskLE32(156 + 2), rootLength: descriptor.diskLE32(156 + 10),
                        rockRidge: type == 1)
                )
            }
        }
        guard let terminator else { throw normaliseError("no volume descriptor set terminator in sectors 16-79") }
        summary.infoBlockPatched = try patchInfoBlock(after: terminator, time: time)
        // Directories libarchive made up itself: their records (".", "..", the entry in the
        // parent) all point at the same extent.
        var madeUpDirectories = Set(trees.map(\.rootLBA))
        for tree in trees {
            try walk(
                tree, time: time, madeUpDirectories: &madeUpDirectories, catalogLBA: summary.bootCatalogLBA,
                summary: &summary)
        }
        return summary
    }

    /// libarchive writes "INFO " + ctime(birth time) + version + options into one block after
    /// the descriptor set; the ctime part (25 bytes) becomes `mtime` in UTC.
    private func patchInfoBlock(after terminator: Int, time: ISOTimestamp) throws -> Bool {
        for index in (terminator + 1)..<(terminator + 4) {
            var block = try storage.read(at: index * Self.sector, count: Self.sector)
            guard Array(block[0..<5]) == Array("INFO ".utf8), block[29] == 0x0A else { continue }
            block.replaceSubrange(5..<30, with: Array(time.ctimeText.utf8))
            try storage.write(block, at: index * Self.sector)
            return true
        }
        return false
    }

    private func walk(
        _ tree: Tree, time: ISOTimestamp, madeUpDirectories: inout Set<UInt32>, catalogLBA: UInt32?,
        summary: inout Summary
    ) throws {
        var pending: [(lba: UInt32, length: UInt32)] = [(tree.rootLBA, tree.rootLength)]
        var visited = Set<UInt32>()
        while let (lba, length) = pending.popLast() {
            guard visited.insert(lba).inserted else { continue }
            let sectors = (Int(length) + Self.sector - 1) / Self.sector
            var extent = try storage.read(at: Int(lba) * Self.sector, count: sectors * Self.sector)
            var offset = 0
            var changed = false
            while offset < extent.count {
                let recordLength = Int(extent[offset])
                if recordLength == 0 {
                    // Records never cross a sector boundary: zero means "next sector".
                    offset = (offset / Self.sector + 1) * Self.sector
                    continue
                }
                guard recordLength >= 34, offset + recordLength <= extent.count else {
                    throw normaliseError("bad directory record (length \(recordLength)) in extent at LBA \(lba)")
                }
                let recordLBA = extent.diskLE32(offset + 2)
                let recordSize = extent.diskLE32(offset + 10)
                let isDirectory = extent[offset + 25] & 0x02 != 0
                let nameLength = Int(extent[offset + 32])
                guard 33 + nameLength <= recordLength else {
                    throw normaliseError("directory record name overruns its record in extent at LBA \(lba)")
                }
                extent.replaceSubrange((offset + 18)..<(offset + 25), with: time.directoryRecordDate)
                summary.directoryRecords += 1
                changed = true
                let name = extent[offset + 33]
                let identifier = String(decoding: extent[(offset + 33)..<(offset + 33 + nameLength)], as: UTF8.self)
                // (A directory of the spec's own named "rr_moved" at the top would be treated alike.)
                if tree.rockRidge && isDirectory && lba == tree.rootLBA && identifier == "RR_MOVED" {
                    madeUpDirectories.insert(recordLBA)
                }
                if tree.rockRidge {
                    // System Use area follows the name, padded to an even offset (ECMA-119 9.1.12).
                    var suspStart = 33 + nameLength
                    if nameLength % 2 == 0 { suspStart += 1 }
                    let resetOwner =
                        (isDirectory && madeUpDirectories.contains(recordLBA))
                        || (!isDirectory && recordSize > 0 && recordLBA == catalogLBA)
                    try patchSystemUse(
                        &extent, range: (offset + suspStart)..<(offset + recordLength), time: time,
                        resetOwner: resetOwner, summary: &summary)
                }
                if isDirectory && !(nameLength == 1 && (name == 0 || name == 1)) {
                    pending.append((recordLBA, recordSize))
                }
                offset += recordLength
            }
            if changed { try storage.write(extent, at: Int(lba) * Self.sector) }
        }
    }

    /// Walks SUSP entries (IEEE P1281): TF time stamps become `mtime`; PX owners become 0:0
    /// where asked; a CE entry continues the area in another block, patched the same way.
    private func patchSystemUse(
        _ bytes: inout [UInt8], range: Range<Int>, time: ISOTimestamp, resetOwner: Bool, summary: inout Summary
    ) throws {
        var offset = range.lowerBound
        while offset + 4 <= range.upperBound {
            let signature = String(decoding: bytes[offset..<(offset + 2)], as: UTF8.self)
            let length = Int(bytes[offset + 2])
            guard length >= 4, offset + length <= range.upperBound else { break }
            switch signature {
            case "TF":
                // RRIP 4.1.6: flags byte, then one stamp per set bit 0-6; bit 7 = 17-byte form.
                let flags = bytes[offset + 4]
                let long = flags & 0x80 != 0
                let stamp = long ? time.volumeDescriptorDate : time.directoryRecordDate
                var position = offset + 5
                for bit in 0..<7 where flags & (1 << bit) != 0 {
                    guard position + stamp.count <= offset + length else { break }
                    bytes.replaceSubrange(position..<(position + stamp.count), with: stamp)
                    position += stamp.count
                    summary.rockRidgeStamps += 1
                }
            case "PX" where resetOwner && length >= 36:
                // RRIP 4.1.1: mode, links, uid, gid as both-byte-order 32-bit fields.
                bytes.putDiskBoth32(0, at: offset + 20)
                bytes.putDiskBoth32(0, at: offset + 28)
                summary.ownersReset += 1
            case "CE" where length >= 28:
                // SUSP 5.1: block, offset, length of the continuation area (both-byte order).
                let block = Int(bytes.diskLE32(offset + 4))
                let areaOffset = Int(bytes.diskLE32(offset + 12))
                let areaLength = Int(bytes.diskLE32(offset + 20))
                let start = block * Self.sector + areaOffset
                var area = try storage.read(at: start, count: areaLength)
                try patchSystemUse(&area, range: 0..<areaLength, time: time, resetOwner: resetOwner, summary: &summary)
                try storage.write(area, at: start)
            case "ST":
                return
            default:
                break
            }
            offset += length
        }
    }

    private func normaliseError(_ reason: String) -> ImageBuilderError {
        ImageBuilderError(operation: "normalise ISO 9660 image", reason: reason)
    }
}

/// Image bytes in memory, for patching and parsing without a file (tests, small images).
final class InMemoryImage: ImageStorage {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var size: Int { bytes.count }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, offset + count <= bytes.count else {
            throw ImageBuilderError(
                operation: "read image", reason: "range \(offset)..<\(offset + count) is outside \(bytes.count) bytes")
        }
        return Array(bytes[offset..<(offset + count)])
    }

    func write(_ newBytes: [UInt8], at offset: Int) throws {
        if offset + newBytes.count > bytes.count {
            bytes.append(contentsOf: [UInt8](repeating: 0, count: offset + newBytes.count - bytes.count))
        }
        bytes.replaceSubrange(offset..<(offset + newBytes.count), with: newBytes)
    }
}
