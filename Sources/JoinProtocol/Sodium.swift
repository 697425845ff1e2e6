import CSodium

/// The few primitives of libsodium the join needs: X25519, ChaCha20-Poly1305 (IETF) and the
/// kernel's random numbers. SHA-256 and HMAC are AgentSupport's. libsodium is C with no
/// dependencies, so the static agent links it as it is (Debian's libsodium.a).
enum Sodium {
    /// No sodium_init: it would pick the fastest code of every primitive for this CPU and so link
    /// all of them (Argon2, BLAKE2b, AES-GCM, ...: 200 KB of the static agent). Without it libsodium
    /// 1.0.x runs its portable implementations, which are all a join needs, and randombytes seeds
    /// itself from getrandom on first use, which waits for the kernel's pool to be ready.
    private static let ready = true

    static func random(_ count: Int) -> [UInt8] {
        precondition(ready, "libsodium failed to initialise")
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return bytes
    }

    /// The public key of an X25519 private key.
    static func publicKey(of secret: [UInt8]) -> [UInt8] {
        precondition(ready && secret.count == 32)
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_scalarmult_curve25519_base(&out, secret)
        return out
    }

    /// X25519; nil when the peer's key is one of the low-order points (the result would be all zeros).
    static func dh(_ secret: [UInt8], _ peer: [UInt8]) -> [UInt8]? {
        precondition(ready && secret.count == 32)
        guard peer.count == 32 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        return crypto_scalarmult_curve25519(&out, secret, peer) == 0 ? out : nil
    }

    /// ChaCha20-Poly1305 (IETF) sealing: ciphertext and 16-byte tag.
    static func seal(key: [UInt8], nonce: [UInt8], associated: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var length: UInt64 = 0
        _ = crypto_aead_chacha20poly1305_ietf_encrypt(
            &out, &length, plaintext, UInt64(plaintext.count), associated, UInt64(associated.count), nil, nonce, key)
        return Array(out.prefix(Int(length)))
    }

    /// Opens what `seal` made; nil when the tag does not verify.
    static func open(key: [UInt8], nonce: [UInt8], associated: [UInt8], ciphertext: [UInt8]) -> [UInt8]? {
        guard ciphertext.count >= 16 else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count - 16)
        var length: UInt64 = 0
        let status = crypto_aead_chacha20poly1305_ietf_decrypt(
            &out, &length, nil, ciphertext, UInt64(ciphertext.count), associated, UInt64(associated.count), nonce, key)
        return status == 0 ? Array(out.prefix(Int(length))) : nil
    }

    /// Overwrites key material before its memory is given back.
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
    }
}
