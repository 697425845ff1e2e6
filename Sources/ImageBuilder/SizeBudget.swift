import BootMenus
import Foundation

/// Where the bytes of an image go: what a node loads over the wire or from the CD, and
/// what it keeps in RAM.
public struct SizeBudget: Sendable, Codable {
    public struct Line: Sendable, Codable {
        public var name: String
        public var count: Int
        /// Bytes in the RAM disk (files as stored; modules stay xz-compressed there).
        public var ramdisk: Int
        /// Bytes once loaded: a module's decompressed size, the kernel's init_size.
        public var loaded: Int?
    }

    public var lines: [Line]
    public var kernelImage: Int
    /// The kernel's memory footprint while it runs (bzImage `init_size`), when known.
    public var kernelLoaded: Int?
    public var initramfsCompressed: Int
    public var initramfsUnpacked: Int
    /// What UEFI boot adds to the ISO: the EFI system partition image (nil without an ISO).
    public var efiImage: Int?
    /// Whether that image holds the Secure Boot chain (shim and Debian's signed GRUB).
    public var secureBoot = false
    /// NFS-root nodes' second RAM disk (`nfsroot.img`), which drones never load.
    public struct AddOn: Sendable, Codable {
        public var count: Int
        public var compressed: Int
        public var unpacked: Int
    }
    public var nfsrootAddOn: AddOn?

    /// Clump/OS ran from a ~16 MB RAM disk (HOWTO 7.3); we hold ourselves to the same, in MiB.
    public static let ramdiskTarget = 16 << 20
    /// What UEFI boot may add to the ISO (our own GRUB; the signed Secure Boot chain is larger).
    public static let efiTarget = 3 << 20

    init(
        entries: [ImageEntry], kernelImage: String, ramdisk: ArchiveStats, modulesLoaded: Int,
        enginePaths: Set<String> = []
    ) {
        var lines: [BudgetCategory: Line] = [:]
        for category in BudgetCategory.allCases {
            lines[category] = Line(name: category.rawValue, count: 0, ramdisk: 0, loaded: category == .modules ? 0 : nil)
        }
        for entry in entries {
            guard case .file(let data) = entry.content else { continue }
            let category = enginePaths.contains(entry.path) ? .engine : InitramfsPlan.category(of: entry.path)
            let size: Int
            switch data {
            case .bytes(let bytes): size = bytes.count
            case .host(let path): size = fileSize(path)
            }
            lines[category]?.count += 1
            lines[category]?.ramdisk += size
        }
        lines[.modules]?.loaded = modulesLoaded
        self.lines = BudgetCategory.allCases.compactMap { lines[$0] }.filter { $0.name != "engine" || $0.count > 0 }
        self.kernelImage = fileSize(kernelImage)
        self.kernelLoaded = BzImage.initSize(kernelImage)
        self.initramfsCompressed = ramdisk.writtenBytes
        self.initramfsUnpacked = ramdisk.unpackedBytes
    }

    public func render() -> String {
        var out = ["size budget          files   in RAM disk   loaded"]
        out.append(row("kernel (vmlinuz)", "", kernelImage, kernelLoaded))
        for line in lines {
            out.append(row(line.name, "\(line.count)", line.ramdisk, line.loaded))
        }
        // The target is the drone's own; an engine (engine.slurm) is the user's choice, reported apart.
        let engine = lines.first { $0.name == BudgetCategory.engine.rawValue }?.ramdisk ?? 0
        let verdict = initramfsUnpacked - engine <= Self.ramdiskTarget ? "within" : "OVER"
        let base = engine > 0 ? ", \(mb(initramfsUnpacked - engine)) without the engine" : ""
        out.append(
            "initramfs: \(mb(initramfsCompressed)) compressed, \(mb(initramfsUnpacked)) unpacked\(base) "
                + "(\(verdict) the \(mb(Self.ramdiskTarget)) RAM disk target)")
        if engine > 0 {
            out.append(
                "engine: slurmd, munged, their plugins and libraries and the MUNGE key add \(mb(engine)) to the RAM disk")
        }
        if let addOn = nfsrootAddOn {
            out.append(
                "nfsroot add-on: \(addOn.count) modules (NFS client, overlayfs), \(mb(addOn.compressed)) compressed, "
                    + "\(mb(addOn.unpacked)) unpacked, loaded only by NFS-root nodes (\(BootMenu.nfsrootAddOnName))")
        }
        if let efiImage {
            let within = efiImage <= Self.efiTarget ? "within" : "over"
            let note = secureBoot ? "; shim and Debian's signed GRUB for Secure Boot" : ""
            out.append(
                "UEFI boot: \(mb(efiImage)) EFI system partition image in the ISO (\(within) the "
                    + "\(mb(Self.efiTarget)) UEFI budget\(note))")
        }
        return out.joined(separator: "\n")
    }

    private func row(_ name: String, _ count: String, _ ramdisk: Int, _ loaded: Int?) -> String {
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        return "  " + pad(name, 17, left: true) + pad(count, 6) + pad(mb(ramdisk), 14) + pad(loaded.map(mb) ?? "-", 9)
    }
}

func mb(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
}

/// The x86 boot protocol header of a bzImage (Documentation/arch/x86/boot.rst).
enum BzImage {
    /// `init_size` (offset 0x260, protocol 2.10+): the memory the kernel needs to run.
    static func initSize(_ path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 0x264), header.count == 0x264 else { return nil }
        let bytes = [UInt8](header)
        guard bytes[0x202..<0x206].elementsEqual(Array("HdrS".utf8)) else { return nil }
        let version = Int(bytes[0x206]) | Int(bytes[0x207]) << 8
        guard version >= 0x020a else { return nil }
        return (0..<4).reduce(0) { $0 | Int(bytes[0x260 + $1]) << (8 * $1) }
    }
}

/// What `clumpbuild build` reports.
public struct BuildReport: Sendable {
    public var outDir: String
    public var outputs: [String]
    public var budget: SizeBudget
    public var seconds: Double

    public func render() -> String {
        let files = outputs.map { "\(outDir)/\($0)" }.joined(separator: ", ")
        return budget.render() + "\n" + String(format: "built %@ in %.1f s", files, seconds)
    }
}
