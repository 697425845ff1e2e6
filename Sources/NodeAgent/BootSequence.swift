import DroneProtocol

/// What a boot step gets to work with.
public struct BootContext {
    /// The root for every /proc, /sys and /lib/modules read (`/` on the drone).
    public var root: String
    /// The whole kernel command line.
    public var commandLine: KernelCommandLine
    /// The options and mode from it.
    public var options: BootOptions
    /// Prints a status line on every console.
    public var say: (String) -> Void

    /// Creates a context.
    public init(
        root: String = "/", commandLine: KernelCommandLine, options: BootOptions, say: @escaping (String) -> Void
    ) {
        self.root = root
        self.commandLine = commandLine
        self.options = options
        self.say = say
    }
}

/// One named step of the boot (auto: probe, DHCP, map; later: announce).
public struct BootStep {
    /// A short name for status lines (`dhcp`).
    public var name: String
    /// The work; a thrown error ends the sequence and is shown on the consoles.
    public var run: (BootContext) throws -> Void

    /// Creates a step.
    public init(name: String, run: @escaping (BootContext) throws -> Void) {
        self.name = name
        self.run = run
    }
}

/// The steps PID 1 runs after the mounts and before it settles into supervising shells.
/// Each mode has its list; auto mode's steps plug in here as they are written.
public struct BootSequence {
    /// The steps, in order.
    public var steps: [BootStep]

    /// Creates a sequence.
    public init(steps: [BootStep]) { self.steps = steps }

    /// The sequence for `mode`.
    public static func standard(for mode: BootMode) -> BootSequence {
        switch mode {
        case .auto:
            BootSequence(steps: [BootStep(name: "auto", run: AutoMode.step)])
        case .expert:
            BootSequence(steps: [])
        case .safe:
            BootSequence(steps: [BootStep(name: "safe") { $0.say("clump: safe mode: no autoconfiguration") }])
        case .nfsroot:
            BootSequence(steps: [BootStep(name: "nfsroot", run: NFSRootMode.step)])
        }
    }

    /// Runs the steps in order; the first failure is shown and ends the sequence, leaving the
    /// operator at the shell. Returns whether every step succeeded.
    @discardableResult
    public func run(_ context: BootContext) -> Bool {
        for step in steps {
            do {
                try step.run(context)
            } catch {
                context.say("clump: \(step.name) failed: \(error)")
                return false
            }
        }
        return true
    }
}
