import NetProbe

/// `clumpnode probe [--root DIR] [--dry-run]`: what auto mode's first step does, by hand in
/// Expert mode: load the drivers the devices ask for, then list the ethernet cards.
public struct ProbeCommand: Equatable, Sendable {
    public var root = "/"
    public var dryRun = false

    static let usage = "usage: clumpnode probe [--root DIR] [--dry-run]"

    static func parse(_ words: ArraySlice<String>) -> NodeAgentCommand.Invocation {
        var command = ProbeCommand()
        var rest = words
        while let word = rest.popFirst() {
            switch word {
            case "--dry-run": command.dryRun = true
            case "--root":
                guard let value = rest.popFirst() else { return .usageError(usage) }
                command.root = value
            default: return .usageError(usage)
            }
        }
        return .probe(command)
    }

    /// Prints the plan (dry run) or loads and lists; returns the exit status.
    func run(output: (String) -> Void) -> Int32 {
        do {
            let probe = try NICProbe(root: root)
            if dryRun {
                let plan = try probe.plan()
                if plan.modules.isEmpty { output("nothing to load: every device's driver is loaded or built in") }
                for module in plan.modules {
                    let devices = plan.reasons[module.name].map { " for " + $0.joined(separator: " ") } ?? " (dependency)"
                    output("would load \(module.name)\(devices)")
                }
            } else {
                for name in try probe.loadDrivers(say: { output("clump: " + $0) }) { output("loaded \(name)") }
            }
            let cards = try probe.interfaces()
            if cards.isEmpty { output("clump: no network card found") }
            for card in cards {
                output("clump: \(card)" + (card.busAddress.map { " bus \($0)" } ?? "") + (card.carrier ? " carrier" : ""))
            }
            return 0
        } catch {
            output("clumpnode probe: \(error)")
            return 1
        }
    }
}
