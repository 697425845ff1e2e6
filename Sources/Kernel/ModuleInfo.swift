internal import ELF
internal import XZ

/// The `.modinfo` section of a kernel module: NUL-separated `key=value` strings
/// (include/linux/module.h, MODULE_INFO), the same data `modinfo(8)` prints.
public struct ModuleInfo: Equatable, Sendable {
    public struct Field: Equatable, Sendable {
        public let key: String
        public let value: String
    }

    public let fields: [Field]

    /// Parses the raw section bytes.
    public init(section: ArraySlice<UInt8>) {
        fields = section.split(separator: 0).compactMap { raw in
            guard let equals = raw.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            return Field(
                key: String(decoding: raw[raw.startIndex..<equals], as: UTF8.self),
                value: String(decoding: raw[(equals + 1)...], as: UTF8.self))
        }
    }

    /// Every value of `key`, in order (a module has one `firmware=` per file it may load).
    public func values(_ key: String) -> [String] {
        fields.filter { $0.key == key }.map(\.value)
    }

    /// Firmware files the module may request, relative to /lib/firmware.
    public var firmware: [String] { values("firmware") }

    /// Reads the `.modinfo` of the module file at `path` (a host path): plain `.ko`, or `.ko.xz`
    /// (recognised by content, whatever the name).
    public static func read(path: String) throws -> ModuleInfo {
        var bytes = try Files.readAll(path)
        if XZ.isXZ(bytes) {
            do {
                bytes = try XZ.decompress(bytes, file: path)
            } catch let error as XZError {
                throw KernelError(
                    .badModuleFile, "cannot decompress the module: \(error.message)", file: path, hint: error.hint)
            }
        } else if bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) || bytes.starts(with: [0x1F, 0x8B]) {
            throw KernelError(
                .badModuleFile, "the module is zstd- or gzip-compressed", file: path,
                hint: "clump reads .ko and .ko.xz modules; use a kernel packaged with those")
        }
        let file: ELFFile
        do {
            file = try ELFFile(bytes: bytes, path: path)
        } catch let error as ELFError {
            throw KernelError(.badModuleFile, "not a kernel module: \(error.message)", file: path, hint: error.hint)
        }
        guard let section = try? file.contents(ofSectionNamed: ".modinfo") else {
            throw KernelError(
                .badModuleFile, "the file has no readable .modinfo section", file: path,
                hint: "is it a kernel module (.ko)?")
        }
        return ModuleInfo(section: section)
    }
}
