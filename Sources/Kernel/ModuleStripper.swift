internal import ELF

/// Makes a kernel module smaller for the RAM disk without changing what it does.
///
/// Debian builds modules with CONFIG_DEBUG_INFO_BTF_MODULES: a `.BTF` section of type
/// information for BPF tracing, ~14 % of a module after xz, which a drone never uses. The
/// section is blanked in place rather than removed, so no offset, relocation or symbol
/// moves: its bytes become zeros (which xz stores in almost nothing) and its sh_size 0,
/// which the kernel's BTF notifier skips (kernel/bpf/btf.c, `btf_data_size == 0`).
/// Editing the file voids the appended signature, so that goes too: the kernel then loads
/// the module unsigned, which taints it unless CONFIG_MODULE_SIG_FORCE forbids it.
public enum ModuleStripper {
    /// Sections a drone never reads.
    public static let unneededSections: Set<String> = [".BTF"]

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
        return out
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
