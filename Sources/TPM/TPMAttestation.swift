import AgentSupport
import Glibc

/// This machine's TPM, as a join shows it: its endorsement key (the same every boot, the TPM's
/// identity) and an attestation key made for this session, which together let the master's
/// credential (TPM2_MakeCredential, done in software against the endorsement key) be opened by
/// this very TPM only (TPM2_ActivateCredential). Nothing here is kept: the keys are made again for
/// every session, and the resource manager flushes them when the device closes.
public final class TPMAttestation {
    /// The endorsement key's public area as a `TPM2B_PUBLIC`, length included: the bytes
    /// `tpm2 createek -G rsa -u ek.pub` writes, so `sha256sum ek.pub` is the fingerprint.
    public let endorsementKey: [UInt8]
    /// The attestation key's name (hash algorithm and digest of its public area), which the credential names.
    public let attestationName: [UInt8]

    private let device: TPMDevice
    private let endorsementHandle: UInt32
    private let attestationHandle: UInt32

    /// Makes both keys on the TPM at `path`.
    public init(path: String = TPMDevice.resourceManager) throws {
        device = try TPMDevice(path: path)
        let endorsement = try Self.createPrimary(device, TPMHandle.endorsement, Self.endorsementTemplate, "the endorsement key")
        endorsementHandle = endorsement.handle
        endorsementKey = endorsement.publicArea
        do {
            let attestation = try Self.createPrimary(device, TPMHandle.null, Self.attestationTemplate, "the attestation key")
            attestationHandle = attestation.handle
            attestationName = attestation.name
        } catch {
            Self.flush(device, endorsement.handle)
            throw error
        }
    }

    deinit {
        Self.flush(device, attestationHandle)
        Self.flush(device, endorsementHandle)
    }

    /// Opens a credential made for this TPM's endorsement key and this attestation key: `credential`
    /// is a `TPM2B_ID_OBJECT` and `secret` a `TPM2B_ENCRYPTED_SECRET`, both with their lengths.
    /// Another TPM, or the right one with another key loaded, fails here.
    public func activate(credential: [UInt8], secret: [UInt8]) throws -> [UInt8] {
        // The endorsement key's policy (TPM2_PolicySecret on the endorsement hierarchy) in a policy session.
        var start = TPMCommand(TPMCode.startAuthSession)
        start.handle(TPMHandle.null)
        start.handle(TPMHandle.null)
        start.parameter {
            $0.appendSized(Self.nonce())
            $0.appendSized([])
            $0.append(0x01)  // TPM_SE_POLICY
            $0.append16(TPMAlgorithm.null)
            $0.append16(TPMAlgorithm.sha256)
        }
        var started = try device.run(start, "TPM2_StartAuthSession")
        let session = try started.body.u32()
        defer { Self.flush(device, session) }

        var policy = TPMCommand(TPMCode.policySecret)
        policy.handle(TPMHandle.endorsement)
        policy.handle(session)
        policy.passwordSession()
        policy.parameter {
            $0.appendSized([])
            $0.appendSized([])
            $0.appendSized([])
            $0.append32(0)
        }
        _ = try device.run(policy, "TPM2_PolicySecret")

        var activate = TPMCommand(TPMCode.activateCredential)
        activate.handle(attestationHandle)
        activate.handle(endorsementHandle)
        activate.passwordSession()
        activate.session(session)
        activate.parameter {
            $0 += credential
            $0 += secret
        }
        var response = try device.run(activate, "TPM2_ActivateCredential")
        try response.skipParameterSize()
        return try response.body.sized()
    }

    // MARK: the keys

    /// The TCG EK Credential Profile's RSA 2048 template ("L-1"), so the key is the one an EK
    /// certificate names and `tpm2 createek -G rsa` makes.
    static let endorsementTemplate: [UInt8] = {
        var out: [UInt8] = []
        out.append16(TPMAlgorithm.rsa)
        out.append16(TPMAlgorithm.sha256)
        // fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted, decrypt.
        out.append32(0x0003_00B2)
        // The digest of TPM2_PolicySecret(TPM_RH_ENDORSEMENT).
        out.appendSized(
            Hex.decode("837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa")!)
        out.append16(TPMAlgorithm.aes)
        out.append16(128)
        out.append16(TPMAlgorithm.cfb)
        out.append16(TPMAlgorithm.null)
        out.append16(2048)
        out.append32(0)
        out.appendSized([UInt8](repeating: 0, count: 256))
        return out
    }()

    /// A restricted ECDSA P-256 signing key in the null hierarchy: made fast, gone at the TPM's next
    /// reset, and unable to be anything but a key of this TPM (fixedTPM). noDA: its (empty) password
    /// is no secret, and a drone is often switched off without the TPM being shut down, which counts
    /// against keys under dictionary-attack protection until the TPM locks them out (TPM_RC_LOCKOUT).
    static let attestationTemplate: [UInt8] = {
        var out: [UInt8] = []
        out.append16(TPMAlgorithm.ecc)
        out.append16(TPMAlgorithm.sha256)
        // fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, noDA, restricted, sign.
        out.append32(0x0005_0472)
        out.appendSized([])
        out.append16(TPMAlgorithm.null)
        out.append16(TPMAlgorithm.ecdsa)
        out.append16(TPMAlgorithm.sha256)
        out.append16(0x0003)  // TPM_ECC_NIST_P256
        out.append16(TPMAlgorithm.null)
        out.appendSized([])
        out.appendSized([])
        return out
    }()

    private static func createPrimary(
        _ device: TPMDevice, _ hierarchy: UInt32, _ template: [UInt8], _ what: String
    ) throws -> (handle: UInt32, publicArea: [UInt8], name: [UInt8]) {
        var command = TPMCommand(TPMCode.createPrimary)
        command.handle(hierarchy)
        command.passwordSession()
        command.parameter {
            $0 += [0x00, 0x04, 0x00, 0x00, 0x00, 0x00]  // TPM2B_SENSITIVE_CREATE: no auth value, no data
            $0.appendSized(template)
            $0.appendSized([])  // outsideInfo
            $0.append32(0)  // no PCRs
        }
        var response = try device.run(command, "TPM2_CreatePrimary (\(what))")
        let handle = try response.body.u32()
        try response.skipParameterSize()
        let publicArea = try response.body.sizedWithLength()
        _ = try response.body.sized()  // creationData
        _ = try response.body.sized()  // creationHash
        _ = try response.body.u16()  // creationTicket: tag, hierarchy, digest
        _ = try response.body.u32()
        _ = try response.body.sized()
        let name = try response.body.sized()
        return (handle, publicArea, name)
    }

    private static func flush(_ device: TPMDevice, _ handle: UInt32) {
        var command = TPMCommand(TPMCode.flushContext)
        command.parameter { $0.append32(handle) }
        _ = try? device.run(command, "TPM2_FlushContext")
    }

    /// 16 bytes (the least a SHA-256 session's caller nonce may be) from the system's generator, the kernel's pool.
    private static func nonce() -> [UInt8] { (0..<16).map { _ in UInt8.random(in: .min ... .max) } }
}
