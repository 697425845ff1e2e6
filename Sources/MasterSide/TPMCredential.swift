import AgentSupport
import CCredential
import TPM

/// The master's half of TPM credential activation: TPM2_MakeCredential (TPM 2.0 Part 1, §24),
/// done in this process against the RSA endorsement key a drone sent, for the attestation key it
/// named. Only the TPM holding that endorsement key, with that key loaded, recovers the secret
/// (TPM2_ActivateCredential); a drone that sends it back has proved it is that TPM's machine.
/// In-process, it costs serve a few dozen microseconds (one RSA public-key operation), so no budget
/// is needed to keep invented keys from slowing serve's loop.
public enum TPMCredential {
    public struct Challenge: Sendable {
        /// The `TPM2B_ID_OBJECT` and the `TPM2B_ENCRYPTED_SECRET`, lengths included, for the drone.
        public var credential: [UInt8]
        public var secret: [UInt8]
        /// What the drone must answer.
        public var expected: [UInt8]
    }

    /// Makes a challenge with 32 fresh random bytes, or says why the key cannot have one.
    public static func make(endorsementKey: [UInt8], attestationName: [UInt8]) throws -> Challenge {
        let key = try RSAEndorsementKey(endorsementKey)
        // A name is the algorithm (SHA-256) and a digest of it.
        guard attestationName.count == 34, attestationName[0] == 0x00, attestationName[1] == 0x0B else {
            throw MasterSideError("not a SHA-256 key name", subject: "tpm-ak")
        }
        // The system's generator is the kernel's (getrandom).
        let expected = (0..<32).map { _ in UInt8.random(in: .min ... .max) }
        let seed = (0..<32).map { _ in UInt8.random(in: .min ... .max) }
        // The seed, for the endorsement key only: OAEP with the label "IDENTITY" and its NUL.
        var sealed = [UInt8](repeating: 0, count: key.modulus.count)
        let label = Array("IDENTITY".utf8) + [0]
        let length = clump_rsa_oaep_sha256(
            key.modulus, key.modulus.count, key.exponent, label, label.count, seed, seed.count, &sealed, sealed.count)
        guard length == key.modulus.count else { throw MasterSideError("RSA-OAEP failed on the endorsement key", subject: "tpm-ek") }
        // The credential, under a key bound to the attestation key's name, and its integrity.
        let symmetric = kdfa(seed, "STORAGE", attestationName, bits: 128)
        var plain: [UInt8] = []
        plain.appendSized(expected)
        var encrypted = [UInt8](repeating: 0, count: plain.count)
        guard clump_aes128_cfb_zero_iv(symmetric, plain, plain.count, &encrypted) == 0 else {
            throw MasterSideError("AES-CFB failed", subject: "tpm-ek")
        }
        var identity: [UInt8] = []
        identity.appendSized(HMACSHA256(key: kdfa(seed, "INTEGRITY", [], bits: 256)).mac(encrypted + attestationName))
        identity += encrypted
        var credential: [UInt8] = []
        credential.appendSized(identity)
        var secret: [UInt8] = []
        secret.appendSized(sealed)
        return Challenge(credential: credential, secret: secret, expected: expected)
    }

    /// KDFa with HMAC-SHA-256 (Part 1, §11.4.10.2): counter, label, NUL, context, bits, until enough bytes.
    static func kdfa(_ key: [UInt8], _ label: String, _ context: [UInt8], bits: Int) -> [UInt8] {
        let hmac = HMACSHA256(key: key)
        var out: [UInt8] = []
        var counter: UInt32 = 1
        while out.count * 8 < bits {
            var message: [UInt8] = []
            message.append32(counter)
            message += Array(label.utf8) + [0] + context
            message.append32(UInt32(bits))
            out += hmac.mac(message)
            counter += 1
        }
        return Array(out.prefix(bits / 8))
    }

    /// What TPM2_MakeCredential needs of an endorsement key's `TPM2B_PUBLIC`: an RSA 2048 restricted
    /// decryption key with SHA-256 names and AES-128-CFB as its symmetric cipher (the TCG EK
    /// profile's template), its modulus and exponent.
    struct RSAEndorsementKey {
        var modulus: [UInt8]
        var exponent: UInt32

        init(_ bytes: [UInt8]) throws {
            func fail(_ why: String) -> MasterSideError {
                MasterSideError("not an endorsement key of the TCG profile's RSA 2048 template: \(why)", subject: "tpm-ek")
            }
            var reader = TPMReader(bytes)
            do {
                guard Int(try reader.u16()) == bytes.count - 2 else { throw fail("its length is not its size") }
                guard try reader.u16() == 0x0001 else { throw fail("not RSA") }
                guard try reader.u16() == 0x000B else { throw fail("names not SHA-256") }
                let restrictedDecrypt: UInt32 = 1 << 16 | 1 << 17
                guard try reader.u32() & restrictedDecrypt == restrictedDecrypt else { throw fail("not a restricted decryption key") }
                _ = try reader.sized()  // authPolicy
                guard try reader.u16() == 0x0006, try reader.u16() == 128, try reader.u16() == 0x0043 else {
                    throw fail("its cipher is not AES-128-CFB")
                }
                guard try reader.u16() == 0x0010 else { throw fail("it has a scheme") }
                guard try reader.u16() == 2048 else { throw fail("not 2048 bits") }
                exponent = try reader.u32()
                modulus = try reader.sized()
            } catch let error as TPMError {
                throw fail(error.message)
            }
            guard modulus.count == 256, reader.isAtEnd else { throw fail("the modulus is not 256 bytes") }
            if exponent == 0 { exponent = 65537 }
            guard modulus[0] & 0x80 != 0, modulus[255] & 1 == 1, exponent & 1 == 1, exponent > 1 else {
                throw fail("not an RSA public key")
            }
        }
    }
}
