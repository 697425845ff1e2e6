/// How to write the boot ISO.
public struct ISOOptions: Sendable {
    /// ISO 9660 volume identifier (what `blkid` shows as LABEL): up to 32 of A-Z 0-9 _.
    public var volumeID: String
    /// The El Torito no-emulation boot image; must be one of the entries.
    public var bootImage: String = "isolinux/isolinux.bin"
    /// Where the generated boot catalog goes; must not be one of the entries.
    public var bootCatalog: String = "isolinux/boot.cat"
    /// Contents of syslinux's isohdpfx.bin: when given, the image gets an isohybrid MBR and
    /// boots from a disk or USB stick too.
    public var hybridMBR: [UInt8]?
    /// Every time stamp in the image, seconds since 1970 (e.g. SOURCE_DATE_EPOCH).
    public var mtime: Int
    /// The EFI system partition image among the entries (a FAT file system holding the UEFI
    /// boot loader): when given, the catalog gets a UEFI entry for it and a hybrid image an
    /// MBR partition and a GPT partition on it.
    public var efiImage: String?

    public init(
        volumeID: String, bootImage: String = "isolinux/isolinux.bin", bootCatalog: String = "isolinux/boot.cat",
        hybridMBR: [UInt8]? = nil, mtime: Int, efiImage: String? = nil
    ) {
        self.efiImage = efiImage
        self.volumeID = volumeID
        self.bootImage = bootImage
        self.bootCatalog = bootCatalog
        self.hybridMBR = hybridMBR
        self.mtime = mtime
    }
}

/// Writes the bootable ISO: ISO 9660 with Rock Ridge and Joliet through libarchive, El Torito
/// BIOS boot of isolinux, then normalised for reproducibility and (optionally) made hybrid.
public enum ISOWriter {
    @discardableResult
    public static func write(_ entries: [ImageEntry], to path: String, options: ISOOptions) throws -> ArchiveStats {
        try UTF8Locale.run { try writeImage(entries, to: path, options: options) }
    }

    private static func writeImage(_ entries: [ImageEntry], to path: String, options: ISOOptions) throws -> ArchiveStats
    {
        let operation = "write ISO"
        try InitramfsWriter.checkTimestamp(options.mtime, operation: operation, path: path)
        try validate(options, entries: entries, path: path)
        // The catalog's directory must exist as a real entry too: a directory libarchive had to
        // invent would get the current time and the writer's uid.
        let plan = try ImageEntryPlan.normalise(entries, operation: operation, extraParents: [options.bootCatalog])
        if options.hybridMBR != nil { try checkHybridSignature(plan, options: options, path: path) }

        let output = try AtomicOutputFile(path: path, operation: operation)
        let writer = try ArchiveWriter(operation: operation, path: path)
        try writer.setFormatISO9660()
        let module = "iso9660"
        try writer.setOption(module: module, key: "volume-id", value: options.volumeID)
        // Level 3: 30-character ISO 9660 names, files over 4 GiB as multi-extent; the real names
        // are in Rock Ridge (and Joliet), which isolinux reads. Not level 4: libarchive 3.6.2
        // crashes writing a level-4 image with directories nested deeper than 8.
        try writer.setOption(module: module, key: "iso-level", value: "3")
        // Rock Ridge "strict" (mkisofs -R) keeps the entries' modes; "useful" (-r) would rewrite them.
        try writer.setOption(module: module, key: "rockridge", value: "strict")
        try writer.setOption(module: module, key: "joliet", value: "1")
        try writer.setOption(module: module, key: "boot", value: options.bootImage)
        try writer.setOption(module: module, key: "boot-catalog", value: options.bootCatalog)
        try writer.setOption(module: module, key: "boot-type", value: "no-emulation")
        // isolinux: the BIOS loads 4 virtual sectors (2 KiB); isolinux loads the rest itself
        // using the boot info table libarchive writes at bytes 8-63 of the image.
        try writer.setOption(module: module, key: "boot-load-size", value: "4")
        try writer.setOption(module: module, key: "boot-info-table", value: "1")
        try writer.disablePadding()
        try writer.open(sink: output)
        let unpacked = try ImageEntryWriting.write(plan, with: writer, mtime: options.mtime, operation: operation)
        try writer.close()

        let summary = try ISO9660Normaliser(storage: output, mtime: options.mtime).normalise()
        let efi = try options.efiImage.map { image in
            try addEFIEntry(output, image: image, catalogLBA: summary.bootCatalogLBA, path: path)
        }
        if let template = options.hybridMBR {
            try makeHybrid(
                output, template: template, options: options, catalogLBA: summary.bootCatalogLBA, efi: efi, path: path)
        }
        let written = try output.size
        try output.commit()
        return ArchiveStats(entries: plan.count, unpackedBytes: unpacked, writtenBytes: written)
    }

    static func validate(_ options: ISOOptions, entries: [ImageEntry], path: String) throws {
        let operation = "write ISO"
        let id = options.volumeID
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
        }
        guard !id.isEmpty, id.utf8.count <= 32, allowed else {
            throw ImageBuilderError(
                operation: operation, path: path, reason: "volume ID '\(id)' is not 1-32 of A-Z 0-9 _",
                hint: "ISO 9660 volume identifiers are d-characters (ECMA-119 7.4.1), e.g. CLUMP_2024")
        }
        try ImageEntryPlan.validate(path: options.bootImage, operation: operation)
        try ImageEntryPlan.validate(path: options.bootCatalog, operation: operation)
        guard let boot = entries.first(where: { $0.path == options.bootImage }), case .file = boot.content else {
            throw ImageBuilderError(
                operation: operation, path: path, reason: "boot image '\(options.bootImage)' is not among the files",
                hint: "add isolinux.bin (Debian package isolinux, /usr/lib/ISOLINUX/isolinux.bin) at that path")
        }
        if entries.contains(where: { $0.path == options.bootCatalog }) {
            throw ImageBuilderError(
                operation: operation, path: path,
                reason: "boot catalog '\(options.bootCatalog)' is also an entry",
                hint: "the catalog is generated; drop the entry or choose another bootCatalog path")
        }
    }

    /// isohybrid refuses an isolinux.bin without the hybrid signature, and so do we: such a
    /// loader (isolinux-debug.bin, old versions) cannot boot from a disk.
    static func checkHybridSignature(_ plan: [ImageEntry], options: ISOOptions, path: String) throws {
        guard let boot = plan.first(where: { $0.path == options.bootImage }), case .file(let data) = boot.content else {
            return
        }
        let offset = HybridMBR.isolinuxSignatureOffset
        var head: [UInt8] = []
        switch data {
        case .bytes(let bytes): head = Array(bytes.prefix(offset + 4))
        case .host(let hostPath):
            let file = try ImageSourceFile(path: hostPath, operation: "write ISO", entryPath: boot.path)
            try file.forEachChunk(operation: "write ISO") { chunk in
                if head.count < offset + 4 { head.append(contentsOf: chunk.prefix(offset + 4 - head.count)) }
            }
        }
        guard head.count >= offset + 4, Array(head[offset..<(offset + 4)]) == HybridMBR.isolinuxSignature else {
            throw ImageBuilderError(
                operation: "write ISO", path: path,
                reason: "boot image '\(options.bootImage)' has no isohybrid signature 0x7078c0fb at byte 0x40",
                hint:
                    "use isolinux.bin from the Debian package isolinux (not isolinux-debug.bin), "
                    + "or write without hybridMBR"
            )
        }
    }

    /// Appends the UEFI section to the boot catalog; returns where the image lies, in disk sectors.
    static func addEFIEntry(_ output: AtomicOutputFile, image: String, catalogLBA: UInt32?, path: String) throws
        -> EFIPartitionPlacement
    {
        guard let catalogLBA else {
            throw ImageBuilderError(
                operation: "write UEFI boot entry", path: path, reason: "the image has no El Torito boot record")
        }
        let extent = try ISO9660Lookup.extent(of: image, in: output)
        let sectors = (Int(extent.size) + 511) / 512
        let offset = Int(catalogLBA) * ElTorito.sectorSize
        let catalog = try output.read(at: offset, count: ElTorito.sectorSize)
        try output.write(try ElTorito.addingEFISection(catalog, loadRBA: extent.lba, sectors: sectors), at: offset)
        return EFIPartitionPlacement(startSector: extent.lba * 4, sectors: UInt32(sectors))
    }

    /// Sector 0 as isohybrid writes it, then zero padding to whole 1 MiB cylinders. With an EFI
    /// image, the MBR also gets its partition and the GPT's protective entry, and the GPT goes in
    /// sectors 1-33 with its backup in the last 33 (the padding keeps them free).
    static func makeHybrid(
        _ output: AtomicOutputFile, template: [UInt8], options: ISOOptions, catalogLBA: UInt32?,
        efi: EFIPartitionPlacement? = nil, path: String
    ) throws {
        guard let catalogLBA else {
            throw ImageBuilderError(
                operation: "write hybrid MBR", path: path, reason: "the image has no El Torito boot record")
        }
        let catalog = try ElTorito.parseCatalog(
            try output.read(at: Int(catalogLBA) * ElTorito.sectorSize, count: ElTorito.sectorSize))
        guard let entry = catalog.defaultEntry, entry.bootable, entry.mediaType == 0, entry.sectorCount == 4 else {
            throw ImageBuilderError(
                operation: "write hybrid MBR", path: path,
                reason: "the default boot entry is not a bootable no-emulation entry loading 4 sectors")
        }
        let signature = try output.read(
            at: Int(entry.loadRBA) * ElTorito.sectorSize + HybridMBR.isolinuxSignatureOffset, count: 4)
        guard signature == HybridMBR.isolinuxSignature else {
            throw ImageBuilderError(
                operation: "write hybrid MBR", path: path,
                reason: "the boot image in the written ISO has no isohybrid signature at byte 0x40")
        }
        let backupBytes = efi == nil ? 0 : (1 + GUIDPartitionTable.entrySectors) * 512
        let padded = HybridMBR.paddedSize(try output.size + backupBytes)
        let diskSectors = UInt32(padded / 512)
        let mbr = try HybridMBR.make(
            template: template, bootImageLBA: entry.loadRBA,
            diskID: HybridMBR.diskID(volumeID: options.volumeID, mtime: options.mtime), imageSize: padded,
            extra: efi?.mbrEntries(diskSectors: diskSectors) ?? [])
        try output.truncate(to: padded)
        try output.write(mbr, at: 0)
        if let efi {
            let gpt = efi.gpt(diskSectors: UInt64(diskSectors), seed: "\(options.volumeID)/\(options.mtime)")
            try output.write(gpt.primary, at: 512)
            try output.write(gpt.backup, at: padded - gpt.backup.count)
        }
    }
}
