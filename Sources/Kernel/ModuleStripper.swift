internal import ELF

/// Makes a kernel module smaller for the RAM disk without changing what it does.
///
/// Debian builds modules with CONFIG_DEBUG_INFO_BTF_MODULES: a `.BTF` section of type
/// information for BPF tracing, ~14 % of a module after xz, which a drone never uses. The
/// section is blanked in place rather than removed, so no offset, relocation or symbol
/// moves: its bytes become zeros (which xz stores in almost nothing) and its sh_size 0,
/// which the kernel's BTF notifier skips (kernel/bpf/btf.c, `btf_data_size == 0`).
/// Local symbols that no relocation uses go too, as `strip --strip-unneeded` does for the
/// modules of OpenWrt and Buildroot images: the loader only resolves globals and the
/// targets of relocations; what is lost is names in oops traces inside the module (the
/// nearest global is shown instead). The symbol and string tables are rewritten in place
/// and the tails zeroed, so again no other section moves.
/// Editing the file voids the appended signature, so that goes too: the kernel then loads
/// the module unsigned, which taints it unless CONFIG_MODULE_SIG_FORCE forbids it.
public enum ModuleStripper {
    /// Bumped whenever the output changes, so caches of stripped modules are not reused.
    public static let revision = 3

    /// Sections a drone never reads: BTF, and the ORC unwind tables with their relocations
    /// (~8 % of the compressed modules). Without ORC data the kernel's unwinder falls back
    /// for frames inside these modules, so an oops there prints a shorter backtrace; loading
    /// is unaffected (module_finalize skips empty tables).
    public static let unneededSections: Set<String> = [".BTF", ".orc_unwind", ".orc_unwind_ip", ".rela.orc_unwind_ip"]

    /// scripts/sign-file appends: signature, `struct module_signature` (12 bytes), this marker.
    static let signatureMarker = Array("~Module signature appended~\n".utf8)
    static let signatureInfoSize = 12

    /// The module without its signature and with its unneeded sections blanked.
    public static func strip(_ bytes: [UInt8], path: String = "<module>") throws -> [UInt8] {
        var out = try removingSignature(bytes, path: path)
        let elf = try ELFFile(bytes: out, path: path)
        let shoff = Int(littleEndian: out, at: 40)
        for (index, section) in elf.sections.enumerated()
        where unneededSections.contains(section.name) && section.type != ELFFile.Section.noBits {
            let start = Int(section.offset)
            let end = start + Int(section.size)
            guard start >= 0, end <= out.count, start <= end else {
                throw KernelError(.badModuleFile, "section \(section.name) lies outside the file", file: path)
            }
            out.replaceSubrange(start..<end, with: repeatElement(0, count: end - start))
            let sizeField = shoff + index * 64 + 32
            out.replaceSubrange(sizeField..<(sizeField + 8), with: repeatElement(0, count: 8))
        }
        // Read again: blanked relocation sections must no longer count as references.
        try pruneLocalSymbols(&out, elf: try ELFFile(bytes: out, path: path), path: path)
        return out
    }

    // ELF64 constants (elf(5)).
    static let symtabType: UInt32 = 2, relaType: UInt32 = 4, relType: UInt32 = 9
    static let groupType: UInt32 = 17, symtabIndexType: UInt32 = 18
    static let localBinding: UInt8 = 0, symbolSize = 24, sectionHeaderSize = 64

    /// Drops local symbols no relocation or section group refers to, renumbering the
    /// references to the kept ones. Leaves the module alone when its layout is unusual
    /// (no or several symbol tables, extended section indexes, a string table shared with
    /// another section): smaller is nice, loadable is required.
    static func pruneLocalSymbols(_ out: inout [UInt8], elf: ELFFile, path: String) throws {
        let sections = elf.sections
        let symtabs = sections.indices.filter { sections[$0].type == symtabType }
        guard symtabs.count == 1, !sections.contains(where: { $0.type == symtabIndexType }) else { return }
        let symtabIndex = symtabs[0]
        let symtab = sections[symtabIndex]
        let strtabIndex = Int(symtab.link)
        guard strtabIndex > 0, strtabIndex < sections.count, strtabIndex != symtabIndex,
            sections.indices.allSatisfy({ $0 == symtabIndex || Int(sections[$0].link) != strtabIndex }),
            symtab.entrySize == UInt64(symbolSize)
        else { return }
        let strtab = sections[strtabIndex]
        let symStart = Int(symtab.offset), symCount = Int(symtab.size) / symbolSize
        let strStart = Int(strtab.offset), strSize = Int(strtab.size)
        guard symStart + symCount * symbolSize <= out.count, strStart + strSize <= out.count, symCount > 0 else {
            throw KernelError(.badModuleFile, "the symbol table lies outside the file", file: path)
        }

        // Which symbols are referenced, and where each reference sits (to renumber it).
        var referenced = [Bool](repeating: false, count: symCount)
        var relocationFields: [Int] = []  // offsets of r_info fields
        var groupFields: [Int] = []  // sh_info of SHT_GROUP headers (32-bit)
        let shoff = Int(littleEndian: out, at: 40)
        for (index, section) in sections.enumerated() where Int(section.link) == symtabIndex {
            if section.type == relaType || section.type == relType {
                let entry = section.type == relaType ? 24 : 16
                let start = Int(section.offset), count = Int(section.size) / entry
                guard start + count * entry <= out.count else {
                    throw KernelError(.badModuleFile, "relocation section \(section.name) lies outside the file", file: path)
                }
                for r in 0..<count {
                    let field = start + r * entry + 8
                    let symbol = Int(UInt64(littleEndian: out, at: field) >> 32)
                    guard symbol < symCount else {
                        throw KernelError(.badModuleFile, "\(section.name) names symbol \(symbol) of \(symCount)", file: path)
                    }
                    referenced[symbol] = true
                    relocationFields.append(field)
                }
            } else if section.type == groupType {
                let field = shoff + index * sectionHeaderSize + 44
                let symbol = Int(section.info)
                guard symbol < symCount else { return }
                referenced[symbol] = true
                groupFields.append(field)
            }
        }

        // Keep the null symbol, every global and weak symbol, and referenced locals, in order.
        var newIndex = [Int](repeating: -1, count: symCount)
        var symbols: [UInt8] = []
        var strings: [UInt8] = [0]
        var firstGlobal = 0
        for i in 0..<symCount {
            let entry = symStart + i * symbolSize
            let isLocal = out[entry + 4] >> 4 == localBinding
            guard i == 0 || !isLocal || referenced[i] else { continue }
            newIndex[i] = symbols.count / symbolSize
            if isLocal { firstGlobal = newIndex[i] + 1 }
            var record = Array(out[entry..<(entry + symbolSize)])
            let nameOffset = Int(UInt32(littleEndian: out, at: entry))
            if nameOffset != 0, nameOffset < strSize {
                let name = out[(strStart + nameOffset)..<(strStart + strSize)].prefix { $0 != 0 }
                record.replaceSubrange(0..<4, with: UInt32(strings.count).littleEndianBytes)
                strings += name
                strings.append(0)
            }
            symbols += record
        }
        guard symbols.count < symCount * symbolSize else { return }

        for field in relocationFields {
            let info = UInt64(littleEndian: out, at: field)
            let renumbered = UInt64(newIndex[Int(info >> 32)]) << 32 | (info & 0xFFFF_FFFF)
            out.replaceSubrange(field..<(field + 8), with: renumbered.littleEndianBytes)
        }
        for field in groupFields {
            let renumbered = UInt32(newIndex[Int(UInt32(littleEndian: out, at: field))])
            out.replaceSubrange(field..<(field + 4), with: renumbered.littleEndianBytes)
        }
        out.replaceSubrange(symStart..<(symStart + symCount * symbolSize),
            with: symbols + [UInt8](repeating: 0, count: symCount * symbolSize - symbols.count))
        out.replaceSubrange(strStart..<(strStart + strSize),
            with: strings + [UInt8](repeating: 0, count: strSize - strings.count))
        let symHeader = shoff + symtabIndex * sectionHeaderSize
        out.replaceSubrange((symHeader + 32)..<(symHeader + 40), with: UInt64(symbols.count).littleEndianBytes)
        out.replaceSubrange((symHeader + 44)..<(symHeader + 48), with: UInt32(firstGlobal).littleEndianBytes)
        let strHeader = shoff + strtabIndex * sectionHeaderSize
        out.replaceSubrange((strHeader + 32)..<(strHeader + 40), with: UInt64(strings.count).littleEndianBytes)
    }

    /// The module as it was before sign-file, or unchanged when it carries no signature.
    static func removingSignature(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        guard bytes.count > signatureMarker.count + signatureInfoSize,
            bytes.suffix(signatureMarker.count).elementsEqual(signatureMarker)
        else { return bytes }
        let info = bytes.count - signatureMarker.count - signatureInfoSize
        // struct module_signature: algo, hash, id_type, signer_len, key_id_len, pad[3], __be32 sig_len
        let signerLength = Int(bytes[info + 3])
        let keyIDLength = Int(bytes[info + 4])
        let signatureLength = (8..<12).reduce(0) { $0 << 8 | Int(bytes[info + $1]) }
        let start = info - signatureLength - signerLength - keyIDLength
        guard start > 0 else {
            throw KernelError(.badModuleFile, "the appended signature claims more bytes than the module has", file: path)
        }
        return Array(bytes[..<start])
    }
}

extension Int {
    fileprivate init(littleEndian bytes: [UInt8], at offset: Int) {
        self = (0..<8).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }
}

extension UInt64 {
    fileprivate init(littleEndian bytes: [UInt8], at offset: Int) {
        self = (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
    fileprivate var littleEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (8 * UInt64($0))) } }
}

extension UInt32 {
    fileprivate init(littleEndian bytes: [UInt8], at offset: Int) {
        self = (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
    fileprivate var littleEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: self >> (8 * UInt32($0))) } }
}
