import Foundation

/// Debian's UEFI boot loaders and the tools that package them.
///
/// Without Secure Boot the CD/USB carries a GRUB we assemble with `grub-mkimage` from
/// `grub-efi-amd64-bin` (0.6 MiB, only the modules a drone's boot needs, byte-reproducible;
/// `grub-mkstandalone` is not). With Secure Boot it carries the chain firmware trusts: Debian's
/// shim, signed by Microsoft's UEFI CA, then Debian's signed GRUB for CDs (gcdx64), about
/// 5 MiB together. The PXE tree always serves the signed network chain (shim, then grubnetx64):
/// size does not matter there, and the same files boot machines with Secure Boot on or off.
struct UEFILoaders {
    var grubModules: String
    var shim: String
    var shimManager: String
    var grubCD: String
    var grubNet: String

    /// Where Debian puts them under `root`; each checked, naming the package that has it.
    static func locate(root: String) throws -> UEFILoaders {
        let loaders = UEFILoaders(
            grubModules: root + "usr/lib/grub/x86_64-efi",
            shim: root + "usr/lib/shim/shimx64.efi.signed",
            shimManager: root + "usr/lib/shim/mmx64.efi.signed",
            grubCD: root + "usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed",
            grubNet: root + "usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed")
        try requireInstalled(
            [
                (loaders.grubModules + "/linux.mod", "grub-efi-amd64-bin"), (loaders.shim, "shim-signed"),
                (loaders.shimManager, "shim-signed"), (loaders.grubCD, "grub-efi-amd64-signed"),
                (loaders.grubNet, "grub-efi-amd64-signed"),
            ], what: "UEFI boot loader missing")
        return loaders
    }

    /// GRUB modules the CD/USB GRUB needs: partition maps and file systems to find the ISO on a
    /// CD or a stick, the Linux loader, the menu and the few commands its script uses.
    static let grubModuleNames = [
        "part_gpt", "part_msdos", "fat", "iso9660", "search", "configfile", "normal", "linux", "echo",
        "test", "efi_gop",
    ]

    /// GRUB's built-in script, as Debian's signed GRUB has it: the ISO is the file system with
    /// `/.disk/info` (on a USB stick GRUB starts from the EFI partition, not from it), and normal
    /// mode then reads the menu from `$prefix/grub.cfg`, the ISO's `/boot/grub/grub.cfg`.
    static let embeddedConfig = """
        search --no-floppy --file --set=root /.disk/info
        set prefix=($root)/boot/grub

        """

    /// The files of the EFI system partition (path in the FAT, host file), for the removable
    /// media path the firmware boots without any boot entry (UEFI 2.10, 3.5.1.1: \EFI\BOOT\BOOTX64.EFI).
    func espFiles(secureBoot: Bool, grubImage: String) -> [(String, String)] {
        if secureBoot {
            // shim loads grubx64.efi from its own directory, and MokManager when a key is to be enrolled.
            return [
                ("EFI/BOOT/BOOTX64.EFI", shim), ("EFI/BOOT/grubx64.efi", grubCD), ("EFI/BOOT/mmx64.efi", shimManager),
            ]
        }
        return [("EFI/BOOT/BOOTX64.EFI", grubImage)]
    }

    /// The PXE tree's UEFI files: shim as `bootx64.efi` (the file DHCP names for client
    /// architectures 7 and 9), and the signed network GRUB beside it under the name shim loads.
    func pxeFiles() -> [(String, String)] {
        [("bootx64.efi", shim), ("grubx64.efi", grubNet), ("mmx64.efi", shimManager)]
    }

    /// Builds the CD/USB GRUB with `grub-mkimage`.
    func makeGrubImage(at path: String, scratch: String) throws {
        let config = scratch + "/grub-embedded.cfg"
        try writeAtomically(Array(Self.embeddedConfig.utf8), to: config)
        try HostTool.run(
            "grub-mkimage",
            ["-O", "x86_64-efi", "-d", grubModules, "-p", "/boot/grub", "-c", config, "-o", path] + Self.grubModuleNames,
            hint: "apt-get install grub-efi-amd64-bin grub-common")
    }
}

/// The EFI system partition image: a FAT file system made by `mkfs.vfat --invariant` and filled
/// by mtools, both taking their time stamps from SOURCE_DATE_EPOCH, so the same files give the
/// same bytes.
enum ESPImage {
    /// The FAT volume label.
    static let label = "CLUMP_EFI"

    /// Size in KiB for `files` of the given sizes: each file rounded up to 4 KiB clusters, plus
    /// room for the boot sector, two FATs and the directories, to a whole 64 KiB.
    static func sizeKiB(fileSizes: [Int]) -> Int {
        let data = fileSizes.reduce(0) { $0 + ($1 + 4095) / 4096 * 4 }
        let total = data + data / 32 + 96
        return (total + 63) / 64 * 64
    }

    /// A FAT volume ID derived from the build (FNV-1a), so it is the same every time.
    static func volumeID(seed: String) -> String {
        var hash: UInt32 = 0x811C_9DC5
        for byte in seed.utf8 {
            hash ^= UInt32(byte)
            hash &*= 0x0100_0193
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    static func write(_ files: [(String, String)], to path: String, epoch: Int, seed: String) throws {
        let size = sizeKiB(fileSizes: files.map { fileSize($0.1) })
        let environment = ["SOURCE_DATE_EPOCH": String(epoch), "MTOOLS_SKIP_CHECK": "1"]
        let hint = "apt-get install dosfstools mtools"
        try? FileManager.default.removeItem(atPath: path)
        try HostTool.run(
            "mkfs.vfat", ["--invariant", "-i", volumeID(seed: seed), "-n", label, "-C", path, String(size)], hint: hint,
            environment: environment)
        var made = Set<String>()
        for (inside, _) in files {
            var parts = inside.split(separator: "/").dropLast().map(String.init)[...]
            var prefix = ""
            while let part = parts.popFirst() {
                prefix += "/" + part
                if made.insert(prefix).inserted {
                    try HostTool.run("mmd", ["-i", path, "::" + prefix], hint: hint, environment: environment)
                }
            }
        }
        for (inside, host) in files {
            try HostTool.run("mcopy", ["-i", path, host, "::/" + inside], hint: hint, environment: environment)
        }
    }
}

extension ESPImage {
    /// The files of a FAT image inside `image` at byte `offset`, with their sizes, as mtools sees them.
    static func list(image: String, offset: Int) throws -> [String] {
        let output = try HostTool.run(
            "mdir", ["-/", "-a", "-i", "\(image)@@\(offset)", "::"], hint: "apt-get install mtools",
            environment: ["MTOOLS_SKIP_CHECK": "1"])
        var directory = ""
        var files: [String] = []
        for line in output.split(separator: "\n").map(String.init) {
            if line.hasPrefix("Directory for ::") {
                directory = String(line.dropFirst("Directory for ::".count))
                if !directory.hasSuffix("/") { directory += "/" }
                continue
            }
            // "BOOTX64  EFI    626688 2023-11-14  22:13": name, extension, size, date, time.
            let fields = line.split(separator: " ").map(String.init)
            // (Summary lines are indented: "3 files 602 112 bytes".)
            guard !line.hasPrefix(" "), fields.count == 5, let size = Int(fields[2]) else { continue }
            files.append("\(directory)\(fields[0]).\(fields[1])  \(size) bytes")
        }
        return files
    }
}

/// Runs a host program to completion; its output is shown only when it fails.
enum HostTool {
    @discardableResult
    static func run(_ program: String, _ arguments: [String], hint: String, environment: [String: String] = [:]) throws
        -> String
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ImageBuilderError.tool(program, "could not start: \(error)", hint: hint)
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ImageBuilderError.tool(
                program, "exit status \(process.terminationStatus): \(text.suffix(400))", hint: hint)
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Whether a kernel image carries an Authenticode signature, which Secure Boot firmware and
/// shim check: a PE/COFF file whose certificate table (data directory 4) is not empty
/// (Microsoft PE/COFF specification, "The Attribute Certificate Table").
enum PESignature {
    static func isSigned(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 0x40, bytes[0] == 0x4D, bytes[1] == 0x5A else { return false }
        let pe = Int(bytes.diskLE32(0x3C))
        // "PE\0\0", then the 20-byte COFF header; the optional header follows.
        guard pe + 24 + 2 <= bytes.count, bytes[pe..<(pe + 4)].elementsEqual([0x50, 0x45, 0, 0]) else { return false }
        let optional = pe + 24
        let magic = bytes.diskLE16(optional)
        // Data directories start at 96 (PE32) or 112 (PE32+); each is 8 bytes, the certificate table is the fifth.
        let directories = optional + (magic == 0x20B ? 112 : 96)
        let certificate = directories + 4 * 8
        guard magic == 0x10B || magic == 0x20B, certificate + 8 <= bytes.count else { return false }
        let count = Int(bytes.diskLE32(directories - 4))
        guard count > 4 else { return false }
        return bytes.diskLE32(certificate) != 0 && bytes.diskLE32(certificate + 4) >= 8
    }
}
