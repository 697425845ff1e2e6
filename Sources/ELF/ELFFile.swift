/// A parsed ELF64 little-endian file: headers, sections, interpreter and dynamic section.
///
/// Pure over `[UInt8]` (the System V gABI, "ELF-64 Object File Format" 1.5); `read(path:)` is
/// the only edge. Kernel modules (`.ko`) are ET_REL with sections but no program headers;
/// executables and shared objects are ET_EXEC / ET_DYN with PT_INTERP and PT_DYNAMIC.
public struct ELFFile: Sendable {
    /// e_type.
    public enum FileType: Equatable, Sendable, CustomStringConvertible {
        case relocatable, executable, sharedObject, core
        case other(UInt16)

        init(_ raw: UInt16) {
            switch raw {
            case 1: self = .relocatable
            case 2: self = .executable
            case 3: self = .sharedObject
            case 4: self = .core
            default: self = .other(raw)
            }
        }

        public var description: String {
            switch self {
            case .relocatable: return "ET_REL"
            case .executable: return "ET_EXEC"
            case .sharedObject: return "ET_DYN"
            case .core: return "ET_CORE"
            case .other(let raw): return "e_type \(raw)"
            }
        }
    }

    /// One Elf64_Phdr.
    public struct ProgramHeader: Equatable, Sendable {
        public static let load: UInt32 = 1  // PT_LOAD
        public static let dynamic: UInt32 = 2  // PT_DYNAMIC
        public static let interpreter: UInt32 = 3  // PT_INTERP

        public var type: UInt32
        public var flags: UInt32
        public var offset: UInt64
        public var virtualAddress: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
    }

    /// One Elf64_Shdr, with its name looked up in the section header string table.
    public struct Section: Equatable, Sendable {
        public static let noBits: UInt32 = 8  // SHT_NOBITS: occupies no file space (.bss)
        public static let dynamic: UInt32 = 6  // SHT_DYNAMIC

        public var name: String
        public var type: UInt32
        public var flags: UInt64
        public var address: UInt64
        public var offset: UInt64
        public var size: UInt64
        public var link: UInt32
        public var info: UInt32
        public var entrySize: UInt64
    }

    /// What the dynamic section asks of the dynamic linker.
    public struct Dynamic: Equatable, Sendable {
        /// DT_NEEDED, in order.
        public var needed: [String] = []
        public var soname: String?
        /// DT_RPATH split at ':' (deprecated; ignored by ld.so when DT_RUNPATH is present).
        public var rpath: [String]?
        /// DT_RUNPATH split at ':'.
        public var runpath: [String]?
    }

    /// EM_X86_64, the e_machine of x86-64 files.
    public static let amd64Machine: UInt16 = 62

    /// Where the bytes came from, for error messages.
    public let path: String
    public let type: FileType
    public let machine: UInt16
    public let programHeaders: [ProgramHeader]
    public let sections: [Section]
    /// PT_INTERP: the dynamic linker; nil for a static binary or an object file.
    public let interpreter: String?
    /// The parsed PT_DYNAMIC (or SHT_DYNAMIC) contents; nil when there is none.
    public let dynamic: Dynamic?
    /// The whole file.
    public let bytes: [UInt8]

    /// A file is static when it asks for no interpreter: nothing to copy besides itself.
    public var isStatic: Bool { interpreter == nil }

    /// Parses `bytes`; `path` is only used in errors.
    public init(bytes: [UInt8], path: String = "<memory>") throws {
        self.bytes = bytes
        self.path = path
        let reader = ByteReader(bytes: bytes, path: path)
        try Self.checkIdentification(reader)

        type = FileType(try reader.u16(16))
        machine = try reader.u16(18)
        let phoff = try reader.u64(32)
        let shoff = try reader.u64(40)
        let phentsize = Int(try reader.u16(54))
        var phnum = Int(try reader.u16(56))
        let shentsize = Int(try reader.u16(58))
        var shnum = Int(try reader.u16(60))
        var shstrndx = Int(try reader.u16(62))

        // Extended numbering (gABI "Sections"): when the real counts do not fit in 16 bits they
        // live in section header 0: sh_size = shnum, sh_link = shstrndx, sh_info = phnum.
        if shoff != 0 && (shnum == 0 || shstrndx == 0xFFFF || phnum == 0xFFFF) {
            let zero = try reader.offset(shoff, "e_shoff")
            if shnum == 0 { shnum = Int(clamping: try reader.u64(zero + 32)) }
            if shstrndx == 0xFFFF { shstrndx = Int(try reader.u32(zero + 40)) }
            if phnum == 0xFFFF { phnum = Int(try reader.u32(zero + 44)) }
        }

        var programHeaders: [ProgramHeader] = []
        if phnum > 0 {
            guard phentsize == 56 else {
                throw ELFError(.malformed, "e_phentsize is \(phentsize), expected 56", file: path, offset: 54)
            }
            let base = try reader.offset(phoff, "e_phoff")
            try reader.require(base, count: phnum * 56, "the program header table")
            for index in 0..<phnum {
                let at = base + index * 56
                programHeaders.append(
                    ProgramHeader(
                        type: try reader.u32(at), flags: try reader.u32(at + 4), offset: try reader.u64(at + 8),
                        virtualAddress: try reader.u64(at + 16), fileSize: try reader.u64(at + 32),
                        memorySize: try reader.u64(at + 40)))
            }
        }
        self.programHeaders = programHeaders

        var sections: [Section] = []
        if shnum > 0 && shoff != 0 {
            guard shentsize == 64 else {
                throw ELFError(.malformed, "e_shentsize is \(shentsize), expected 64", file: path, offset: 58)
            }
            let base = try reader.offset(shoff, "e_shoff")
            try reader.require(base, count: shnum * 64, "the section header table")
            var nameOffsets: [UInt32] = []
            for index in 0..<shnum {
                let at = base + index * 64
                nameOffsets.append(try reader.u32(at))
                sections.append(
                    Section(
                        name: "", type: try reader.u32(at + 4), flags: try reader.u64(at + 8),
                        address: try reader.u64(at + 16), offset: try reader.u64(at + 24),
                        size: try reader.u64(at + 32),
                        link: try reader.u32(at + 40), info: try reader.u32(at + 44), entrySize: try reader.u64(at + 56)
                    ))
            }
            if shstrndx != 0 {
                guard shstrndx < sections.count else {
                    throw ELFError(
                        .malformed, "e_shstrndx \(shstrndx) is past the \(sections.count) sections", file: path,
                        offset: 62)
                }
                let table = sections[shstrndx]
                let tableStart = try reader.offset(table.offset, "the section name table")
                let tableSize = Int(clamping: table.size)
                try reader.require(tableStart, count: tableSize, "the section name table")
                for index in sections.indices {
                    sections[index].name = try reader.string(
                        at: tableStart, offset: UInt64(nameOffsets[index]), limit: tableSize, "a section name")
                }
            }
        }
        self.sections = sections

        if let interp = programHeaders.first(where: { $0.type == ProgramHeader.interpreter }) {
            let start = try reader.offset(interp.offset, "PT_INTERP")
            let size = Int(clamping: interp.fileSize)
            try reader.require(start, count: size, "PT_INTERP")
            interpreter = try reader.string(at: start, offset: 0, limit: size, "PT_INTERP")
        } else {
            interpreter = nil
        }

        dynamic = try Self.parseDynamic(reader, programHeaders: programHeaders, sections: sections)
    }

    /// Reads and parses the file at `path` (a host path).
    public static func read(path: String) throws -> ELFFile {
        try ELFFile(bytes: FileSystem.readFile(path), path: path)
    }

    /// The first section called `name` (e.g. ".modinfo", ".dynstr"), if any.
    public func section(named name: String) -> Section? {
        sections.first { $0.name == name }
    }

    /// The bytes of `section` (empty for SHT_NOBITS).
    public func contents(of section: Section) throws -> ArraySlice<UInt8> {
        if section.type == Section.noBits { return [] }
        let reader = ByteReader(bytes: bytes, path: path)
        let start = try reader.offset(section.offset, "section \(section.name)")
        let size = Int(clamping: section.size)
        try reader.require(start, count: size, "section \(section.name)")
        return bytes[start..<(start + size)]
    }

    /// The bytes of the section called `name`, nil if there is no such section.
    public func contents(ofSectionNamed name: String) throws -> ArraySlice<UInt8>? {
        guard let section = section(named: name) else { return nil }
        return try contents(of: section)
    }

    // MARK: - Identification

    /// The first 64 bytes are enough to tell whether a file is ELF64 LE and for which machine:
    /// ld.so skips libraries of the wrong class or machine, and so do we.
    static func identify(header: [UInt8], path: String) throws -> (type: FileType, machine: UInt16) {
        let reader = ByteReader(bytes: header, path: path)
        try checkIdentification(reader)
        return (FileType(try reader.u16(16)), try reader.u16(18))
    }

    private static func checkIdentification(_ reader: ByteReader) throws {
        let bytes = reader.bytes
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw ELFError(.notELF, "not an ELF file (no \\x7fELF magic)", file: reader.path)
        }
        guard bytes.count >= 64 else {
            throw ELFError(
                .malformed, "the ELF header is cut short (\(bytes.count) bytes, 64 needed)", file: reader.path)
        }
        switch bytes[4] {  // EI_CLASS
        case 2: break
        case 1:
            throw ELFError(
                .unsupported, "32-bit ELF (ELFCLASS32) is not supported", file: reader.path, offset: 4,
                hint: "clump images are x86-64; use 64-bit binaries and libraries")
        default:
            throw ELFError(.malformed, "unknown ELF class \(bytes[4])", file: reader.path, offset: 4)
        }
        switch bytes[5] {  // EI_DATA
        case 1: break
        case 2:
            throw ELFError(
                .unsupported, "big-endian ELF (ELFDATA2MSB) is not supported", file: reader.path, offset: 5,
                hint: "clump images are x86-64, which is little-endian")
        default:
            throw ELFError(.malformed, "unknown ELF data encoding \(bytes[5])", file: reader.path, offset: 5)
        }
        guard bytes[6] == 1 else {  // EI_VERSION
            throw ELFError(.unsupported, "unknown ELF version \(bytes[6])", file: reader.path, offset: 6)
        }
    }

    // MARK: - Dynamic section

    private static let tagNull: UInt64 = 0
    private static let tagNeeded: UInt64 = 1
    private static let tagStrtab: UInt64 = 5
    private static let tagStrsz: UInt64 = 10
    private static let tagSoname: UInt64 = 14
    private static let tagRpath: UInt64 = 15
    private static let tagRunpath: UInt64 = 29

    private static func parseDynamic(_ reader: ByteReader, programHeaders: [ProgramHeader], sections: [Section])
        throws -> Dynamic?
    {
        let start: Int
        let size: Int
        if let segment = programHeaders.first(where: { $0.type == ProgramHeader.dynamic }) {
            start = try reader.offset(segment.offset, "PT_DYNAMIC")
            size = Int(clamping: segment.fileSize)
        } else if let section = sections.first(where: { $0.type == Section.dynamic }) {
            start = try reader.offset(section.offset, "SHT_DYNAMIC")
            size = Int(clamping: section.size)
        } else {
            return nil
        }
        try reader.require(start, count: size, "the dynamic section")

        var entries: [(tag: UInt64, value: UInt64)] = []
        var at = start
        while at + 16 <= start + size {
            let tag = try reader.u64(at)
            if tag == tagNull { break }
            entries.append((tag, try reader.u64(at + 8)))
            at += 16
        }
        let strings = entries.filter { [tagNeeded, tagSoname, tagRpath, tagRunpath].contains($0.tag) }
        if strings.isEmpty { return Dynamic() }

        guard let strtab = entries.first(where: { $0.tag == tagStrtab })?.value else {
            throw ELFError(
                .malformed, "the dynamic section has strings but no DT_STRTAB", file: reader.path, offset: start)
        }
        // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segment
        // that contains it. Files without program headers fall back to the section with that address.
        var tableStart: Int?
        var tableLimit = Int.max
        for segment in programHeaders where segment.type == ProgramHeader.load {
            if strtab >= segment.virtualAddress && strtab < segment.virtualAddress &+ segment.fileSize {
                let fileOffset = strtab - segment.virtualAddress + segment.offset
                tableStart = try reader.offset(fileOffset, "DT_STRTAB")
                tableLimit = Int(clamping: segment.fileSize - (strtab - segment.virtualAddress))
                break
            }
        }
        if tableStart == nil, let section = sections.first(where: { $0.address == strtab && $0.type != Section.noBits })
        {
            tableStart = try reader.offset(section.offset, "DT_STRTAB")
            tableLimit = Int(clamping: section.size)
        }
        guard let base = tableStart else {
            throw ELFError(
                .malformed, "DT_STRTAB 0x\(String(strtab, radix: 16)) is in no loadable segment", file: reader.path)
        }
        if let strsz = entries.first(where: { $0.tag == tagStrsz })?.value {
            tableLimit = min(tableLimit, Int(clamping: strsz))
        }
        tableLimit = min(tableLimit, reader.bytes.count - base)

        var dynamic = Dynamic()
        for entry in strings {
            let text = try reader.string(at: base, offset: entry.value, limit: tableLimit, "a dynamic string")
            switch entry.tag {
            case tagNeeded: dynamic.needed.append(text)
            case tagSoname: dynamic.soname = text
            case tagRpath: dynamic.rpath = (dynamic.rpath ?? []) + splitPath(text)
            case tagRunpath: dynamic.runpath = (dynamic.runpath ?? []) + splitPath(text)
            default: break
            }
        }
        return dynamic
    }

    private static func splitPath(_ text: String) -> [String] {
        text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    }
}

/// Bounds-checked little-endian reads; every failure names the file and offset.
struct ByteReader {
    let bytes: [UInt8]
    let path: String

    func require(_ offset: Int, count: Int, _ what: String) throws {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw ELFError(
                .malformed, "\(what) (\(count) bytes) runs past the end of the file (\(bytes.count) bytes)", file: path,
                offset: offset)
        }
    }

    func offset(_ value: UInt64, _ what: String) throws -> Int {
        guard value <= UInt64(bytes.count) else {
            throw ELFError(
                .malformed, "\(what) points at 0x\(String(value, radix: 16)), past the end of the file", file: path)
        }
        return Int(value)
    }

    func u16(_ at: Int) throws -> UInt16 {
        try require(at, count: 2, "a 16-bit field")
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        try require(at, count: 4, "a 32-bit field")
        var value: UInt32 = 0
        for index in (0..<4).reversed() { value = value << 8 | UInt32(bytes[at + index]) }
        return value
    }

    func u64(_ at: Int) throws -> UInt64 {
        try require(at, count: 8, "a 64-bit field")
        var value: UInt64 = 0
        for index in (0..<8).reversed() { value = value << 8 | UInt64(bytes[at + index]) }
        return value
    }

    /// The NUL-terminated string at `base + offset`, which must end before `base + limit`.
    func string(at base: Int, offset: UInt64, limit: Int, _ what: String) throws -> String {
        guard offset < UInt64(max(limit, 0)) else {
            throw ELFError(
                .malformed, "\(what) at string offset \(offset) is outside its table (\(limit) bytes)", file: path,
                offset: base)
        }
        let start = base + Int(offset)
        let end = min(base + limit, bytes.count)
        var index = start
        while index < end && bytes[index] != 0 { index += 1 }
        guard index < end else {
            throw ELFError(.malformed, "\(what) is not NUL-terminated", file: path, offset: start)
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }
}
