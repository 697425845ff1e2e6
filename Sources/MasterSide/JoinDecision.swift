import ImageSpec
import JoinProtocol

/// Whether a drone that said hello joins now, and on whose authority; pure, so every policy is
/// tested without sockets. The order: a revoked machine is refused; a TPM that proved itself, of the node whose MAC the drone
/// has; a refusal for a machine with a bound node's MAC and not its TPM (another TPM, or none),
/// even if that session was approved before; a session already approved (a drone that
/// reconnects); the policy `open`, a known MAC under `known-macs`, `serve --enrol`'s window while
/// it lasts; else the drone waits for an operator. A bound TPM with another node's MACs, or none
/// known, is only a TPM: it proves no name, and cannot enrol cards for itself.
public enum JoinDecision: Equatable, Sendable {
    case welcome(by: String)
    case wait
    case refused(String)

    public struct Context: Sendable {
        public var policy: Spec.JoinPolicy
        /// Every MAC in the inventory.
        public var knownMACs: Set<String>
        /// Who approved this session's key before, if anyone (it reconnects).
        public var approvedBefore: String?
        /// Whether the enrolment window takes one more machine now.
        public var windowOpen: Bool
        /// The fingerprint of the TPM this session proved (by opening the master's credential), if any.
        public var provenTPM: String?
        /// The inventory's nodes bound to a TPM: by their MACs (lower case), the node and its fingerprint.
        public var boundMACs: [String: (node: String, tpm: String)]
        /// Why the machine is shut out (`clumpbuild revoke`), if it is.
        public var revoked: String?

        public init(
            policy: Spec.JoinPolicy, knownMACs: Set<String>, approvedBefore: String? = nil, windowOpen: Bool = false,
            provenTPM: String? = nil, boundMACs: [String: (node: String, tpm: String)] = [:], revoked: String? = nil
        ) {
            self.revoked = revoked
            self.policy = policy
            self.knownMACs = knownMACs
            self.approvedBefore = approvedBefore
            self.windowOpen = windowOpen
            self.provenTPM = provenTPM
            self.boundMACs = boundMACs
        }

        /// The context for one hello, with the inventory's cards as `Cards` indexed them.
        public init(
            policy: Spec.JoinPolicy, cards: Cards, approvedBefore: String?, windowOpen: Bool, provenTPM: String?, revoked: String? = nil
        ) {
            self.init(
                policy: policy, knownMACs: cards.known, approvedBefore: approvedBefore, windowOpen: windowOpen,
                provenTPM: provenTPM, boundMACs: cards.bound, revoked: revoked)
        }
    }

    /// The inventory's cards as decisions look them up (lower-case MACs): every one, and those of
    /// nodes bound to a TPM. Made once per inventory, not per hello: a flood of hellos against
    /// 10,000 nodes would otherwise index them all for each.
    public struct Cards: Sendable {
        public var known: Set<String> = []
        public var bound: [String: (node: String, tpm: String)] = [:]

        public init(_ inventory: Inventory) {
            for node in inventory.nodes {
                let cards = node.macs.map { "\($0)".lowercased() }
                known.formUnion(cards)
                guard let tpm = node.tpm else { continue }
                for card in cards { bound[card] = (node.name, tpm) }
            }
        }
    }

    public static func decide(_ hello: JoinHello, _ context: Context) -> JoinDecision {
        if let reason = context.revoked { return .refused(reason) }
        let bound = hello.macs.compactMap { context.boundMACs[$0.lowercased()] }
        if let proven = context.provenTPM, bound.contains(where: { $0.tpm == proven }) { return .welcome(by: "tpm") }
        // A MAC is easy to copy, a TPM is not: a bound node's card in another machine is refused, whatever the policy.
        if let node = bound.first {
            let has = context.provenTPM.map { "another TPM (\(TPMFingerprint.short($0))...)" } ?? "no TPM"
            return .refused(
                "\(node.node) is bound to its TPM (\(TPMFingerprint.short(node.tpm))...), and this machine with its MAC has \(has)")
        }
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
