import AgentSupport
import Foundation
import MasterSide
import TPM
import TestSupport
import Testing

/// The drone's TPM client against swtpm, and the master's credential (TPM2_MakeCredential, in
/// software) opened by it: the proof a TPM-bound node joins by.
@Suite("TPM attestation on swtpm", .serialized)
struct TPMAttestationTests {
    static func scratch(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "clump-tpm-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("the endorsement key is the TPM's: the same every session, another on another TPM, the bytes tpm2-tools writes")
    func endorsementKey() throws {
        let directory = try Self.scratch("ek")
        let one = try SoftwareTPM(directory: directory + "/one")
        let other = try SoftwareTPM(directory: directory + "/other")
        // One session at a time: swtpm serves one connection, as a drone holds the device for one join.
        let (key, name) = try {
            let first = try TPMAttestation(path: one.socket)
            return (first.endorsementKey, first.attestationName)
        }()
        #expect(key.count == 316)  // an RSA 2048 key's public area and its length
        #expect(name.count == 34 && name[0] == 0 && name[1] == 0x0B)
        let again = try TPMAttestation(path: one.socket).endorsementKey
        #expect(again == key)
        let another = try TPMAttestation(path: other.socket).endorsementKey
        #expect(another != key)
        #expect(another.count == key.count)
        // The template is the EK profile's: tpm2-tools' own EK of the same TPM is these bytes.
        one.stop()
        let reopened = try SoftwareTPM(directory: directory + "/one")
        let file = directory + "/ek.pub"
        let made = try Spawn.capture(
            ["env", "TPM2TOOLS_TCTI=swtpm:path=\(reopened.socket)", "tpm2", "createek", "-G", "rsa", "-c", directory + "/ek.ctx",
             "-u", file])
        #expect(made.status == 0, "\(made.output)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file))) == key)
    }

    @Test("the master's credential opens in that TPM only")
    func credential() throws {
        let directory = try Self.scratch("credential")
        let one = try SoftwareTPM(directory: directory + "/one")
        let other = try SoftwareTPM(directory: directory + "/other")
        let drone = try TPMAttestation(path: one.socket)
        let challenge = try TPMCredential.make(endorsementKey: drone.endorsementKey, attestationName: drone.attestationName)
        #expect(challenge.expected.count == 32)
        #expect(try drone.activate(credential: challenge.credential, secret: challenge.secret) == challenge.expected)

        // Another TPM with its own attestation key cannot open it.
        let impostor = try TPMAttestation(path: other.socket)
        #expect(throws: TPMError.self) {
            _ = try impostor.activate(credential: challenge.credential, secret: challenge.secret)
        }
        // Nor can the impostor claim the real endorsement key for its own attestation key: the
        // credential names the impostor's key, but only the real TPM's endorsement key opens it.
        let claimed = try TPMCredential.make(endorsementKey: drone.endorsementKey, attestationName: impostor.attestationName)
        #expect(throws: TPMError.self) {
            _ = try impostor.activate(credential: claimed.credential, secret: claimed.secret)
        }
        // And the real TPM opens it only with the key it names loaded: not with a credential for another key.
        #expect(throws: TPMError.self) {
            _ = try drone.activate(credential: claimed.credential, secret: claimed.secret)
        }
    }

    @Test("a TPM locked out for dictionary attacks (as power cuts leave one) still proves itself: nothing it uses is under that protection")
    func lockedOut() throws {
        let directory = try Self.scratch("lockout")
        let tpm = try SoftwareTPM(directory: directory + "/one")
        // Wrong passwords for a key under dictionary-attack protection until the TPM locks them all out.
        func tpm2(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try Spawn.capture(["env", "TPM2TOOLS_TCTI=swtpm:path=\(tpm.socket)", "tpm2"] + arguments)
        }
        let context = directory + "/key.ctx"
        try #require(try tpm2(["createprimary", "-C", "o", "-G", "ecc", "-p", "right", "-c", context]).status == 0)
        _ = try tpm2(["flushcontext", "-t"])
        for _ in 0..<4 {
            _ = try tpm2(["create", "-C", context, "-P", "wrong", "-G", "ecc", "-u", directory + "/a.pub", "-r", directory + "/a.priv"])
            _ = try tpm2(["flushcontext", "-t"])
        }
        let state = try tpm2(["getcap", "properties-variable"])
        try #require(state.output.contains("inLockout:                 1"), "\(state.output)")
        let drone = try TPMAttestation(path: tpm.socket)
        let challenge = try TPMCredential.make(endorsementKey: drone.endorsementKey, attestationName: drone.attestationName)
        #expect(try drone.activate(credential: challenge.credential, secret: challenge.secret) == challenge.expected)
    }

    @Test("what is not an endorsement key of the profile's template, or not a key name, gets no credential")
    func badKeys() throws {
        let directory = try Self.scratch("bad")
        let tpm = try SoftwareTPM(directory: directory + "/one")
        let drone = try TPMAttestation(path: tpm.socket)
        let name = drone.attestationName
        var even = drone.endorsementKey
        even[even.count - 1] &= 0xFE
        var ecc = drone.endorsementKey
        ecc[3] = 0x23
        var cut = drone.endorsementKey
        cut.removeLast()
        for key in [[0, 3, 1, 2, 3], [UInt8](repeating: 0, count: 40), even, ecc, cut] {
            #expect(throws: MasterSideError.self) { _ = try TPMCredential.make(endorsementKey: key, attestationName: name) }
        }
        #expect(throws: MasterSideError.self) {
            _ = try TPMCredential.make(endorsementKey: drone.endorsementKey, attestationName: [0, 4] + name.dropFirst(2))
        }
        #expect(throws: Never.self) { _ = try TPMCredential.make(endorsementKey: drone.endorsementKey, attestationName: name) }
    }
}
