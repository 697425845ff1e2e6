import Foundation
import ImageSpec

/// The spec and its inventory, loaded together: every master command starts here.
public struct MasterInputs: Sendable {
    public var spec: Spec
    public var inventory: Inventory

    /// Loads `specPath`, or `./clump.yaml` when nil and present, else the defaults; then its inventory.
    public static func load(specPath: String?) throws -> MasterInputs {
        let path = specPath ?? (FileManager.default.fileExists(atPath: "clump.yaml") ? "clump.yaml" : nil)
        let spec = try path.map { path throws(SpecError) in try SpecLoader.load(path: path) }
            ?? Spec(baseDirectory: FileManager.default.currentDirectoryPath)
        return MasterInputs(spec: spec, inventory: try InventoryLoader.load(for: spec))
    }
}

extension GenerateReport {
    /// What `clumpbuild generate` prints.
    public func render() -> String {
        var lines = [
            "clump: master \(directory): \(nodes) known node\(nodes == 1 ? "" : "s"), image generation \(generation)"
                + (newGeneration ? " (new)" : ""),
            "clump: \(written.count) file\(written.count == 1 ? "" : "s") written, \(unchanged) unchanged, "
                + "\(removed.count) removed in \(String(format: "%.3f", seconds)) s",
        ]
        if !olderGenerations.isEmpty {
            lines.append(
                "clump: older image generations kept for nodes still booting them: "
                    + olderGenerations.joined(separator: " ") + " (`clumpbuild generate --prune` removes them)")
        }
        lines += warnings.map { "clump: warning: \($0)" }
        return lines.joined(separator: "\n")
    }
}
