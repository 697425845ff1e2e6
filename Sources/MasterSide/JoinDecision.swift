import ImageSpec
import JoinProtocol

/// Whether a drone that said hello joins now, and on whose authority; pure, so every policy is
/// tested without sockets. The order: a session already approved (a drone that reconnects), the
/// policy `open`, a known MAC under `known-macs`, `serve --enrol`'s window while it lasts; else
/// the drone waits for an operator.
public enum JoinDecision: Equatable, Sendable {
    case welcome(by: String)
    case wait

    public struct Context: Sendable {
        public var policy: Spec.JoinPolicy
        /// Every MAC in the inventory.
        public var knownMACs: Set<String>
        /// Who approved this session's key before, if anyone (it reconnects).
        public var approvedBefore: String?
        /// Whether the enrolment window takes one more machine now.
        public var windowOpen: Bool

        public init(policy: Spec.JoinPolicy, knownMACs: Set<String>, approvedBefore: String? = nil, windowOpen: Bool = false) {
            self.policy = policy
            self.knownMACs = knownMACs
            self.approvedBefore = approvedBefore
            self.windowOpen = windowOpen
        }
    }

    public static func decide(_ hello: JoinHello, _ context: Context) -> JoinDecision {
        if let by = context.approvedBefore { return .welcome(by: by) }
        switch context.policy {
        case .open: return .welcome(by: "open")
        case .knownMACs where hello.macs.contains(where: { context.knownMACs.contains($0.lowercased()) }):
            return .welcome(by: "mac")
        case .approve, .knownMACs: break
        }
        return context.windowOpen ? .welcome(by: "window") : .wait
    }
}
