import Foundation

/// Looks for a cluster's secrets in what it hands out: every file under a directory, and the
/// contents of every initramfs and ISO in it, unpacked with the distribution's own tools.
enum SecretScan {
    /// What a secret looks like on disk: the key file's text, its bytes, and their hex and base64 forms.
    static func needles(keyFiles: [String]) throws -> [(name: String, bytes: Data)] {
        var needles: [(String, Data)] = []
        for file in keyFiles {
            let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let name = (file as NSString).lastPathComponent
            var raw = Data()
            var index = text.startIndex
            while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex),
                let byte = UInt8(text[index..<next], radix: 16)
            {
                raw.append(byte)
                index = next
            }
            needles.append((name + " (hex)", Data(text.utf8)))
            needles.append((name + " (upper-case hex)", Data(text.uppercased().utf8)))
            if raw.count >= 16 {
                needles.append((name + " (bytes)", raw))
                needles.append((name + " (base64)", Data(raw.base64EncodedString().dropLast(2).utf8)))
            }
        }
        return needles
    }

    /// Which needle appears in which file (relative to `root`; `ISO!path` and `initrd!path` for unpacked ones).
    /// `skipping`: directories under `root` (relative) that nothing serves, such as serve's own `join` state (0700).
    static func find(
        _ needles: [(name: String, bytes: Data)], under root: String, scratch: String, skipping: [String] = []
    ) throws -> [String] {
        var found: [String] = []
        func scan(_ directory: String, label: String) throws {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { return }
            while let relative = walker.nextObject() as? String {
                if label.isEmpty, skipping.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) { continue }
                let path = directory + "/" + relative
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    let data = FileManager.default.contents(atPath: path)
                else { continue }
                for needle in needles where data.range(of: needle.bytes) != nil { found.append("\(label)\(relative): \(needle.name)") }
                if relative.hasSuffix(".iso") {
                    let target = scratch + "/iso-\(found.count)-\(UUID().uuidString.prefix(6))"
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    let result = try Harness.run(["xorriso", "-osirrox", "on", "-indev", path, "-extract", "/", target])
                    guard result.status == 0 else { throw HarnessError("xorriso could not unpack \(path): \(result.output)") }
                    try scan(target, label: "\(label)\(relative)!")
                } else if (relative as NSString).lastPathComponent.hasSuffix(".img"), data.count > 4 {
                    let target = scratch + "/initrd-\(UUID().uuidString.prefix(6))"
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    // zstd, gzip or xz, whatever the build chose: each tool recognises its own magic.
                    let unpacked = try Harness.shell(
                        "cd '\(target)' && { zstd -dcq '\(path)' 2>/dev/null || gzip -dc '\(path)' 2>/dev/null || xz -dc '\(path)' 2>/dev/null; } "
                            + "| cpio -idm --quiet 2>/dev/null; ls | head -1")
                    if !unpacked.output.isEmpty { try scan(target, label: "\(label)\(relative)!") }
                }
            }
        }
        try scan(root, label: "")
        return found
    }
}
