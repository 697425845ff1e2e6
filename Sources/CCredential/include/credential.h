#ifndef CLUMP_CREDENTIAL_H
#define CLUMP_CREDENTIAL_H
#include <stddef.h>
#include <stdint.h>

/* RSA-OAEP (SHA-256, MGF1 SHA-256) with a label, under the public key (modulus, exponent):
   what TPM2_MakeCredential does with the seed. Returns the ciphertext's length, or -1. */
int clump_rsa_oaep_sha256(const uint8_t *modulus, size_t modulus_length, uint32_t exponent,
                          const uint8_t *label, size_t label_length, const uint8_t *in, size_t in_length,
                          uint8_t *out, size_t out_capacity);

/* AES-128 in CFB mode (128-bit feedback) with a zero IV, as TPM 2.0 encrypts a credential. 0 or -1. */
int clump_aes128_cfb_zero_iv(const uint8_t key[16], const uint8_t *in, size_t length, uint8_t *out);

#endif
