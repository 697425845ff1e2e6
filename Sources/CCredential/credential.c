// TPM2_MakeCredential's two ciphers, from OpenSSL's libcrypto (the master's side only: the agent
// never links this). OpenSSL 3's EVP interfaces, so nothing deprecated is used.
#include "credential.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>

int clump_rsa_oaep_sha256(const uint8_t *modulus, size_t modulus_length, uint32_t exponent,
                          const uint8_t *label, size_t label_length, const uint8_t *in, size_t in_length,
                          uint8_t *out, size_t out_capacity) {
    int result = -1;
    BIGNUM *n = BN_bin2bn(modulus, (int)modulus_length, NULL);
    BIGNUM *e = BN_new();
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *from = NULL, *ctx = NULL;
    EVP_PKEY *key = NULL;
    unsigned char *copy = NULL;
    if (!n || !e || !builder || !BN_set_word(e, exponent)) goto done;
    if (!OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e))
        goto done;
    params = OSSL_PARAM_BLD_to_param(builder);
    from = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !from || EVP_PKEY_fromdata_init(from) <= 0 ||
        EVP_PKEY_fromdata(from, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto done;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0)
        goto done;
    // The context takes ownership of the label's copy.
    copy = OPENSSL_malloc(label_length);
    if (!copy) goto done;
    memcpy(copy, label, label_length);
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)label_length) <= 0) {
        OPENSSL_free(copy);
        goto done;
    }
    size_t length = out_capacity;
    if (EVP_PKEY_encrypt(ctx, out, &length, in, in_length) <= 0) goto done;
    result = (int)length;
done:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(from);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(builder);
    BN_free(e);
    BN_free(n);
    return result;
}

int clump_aes128_cfb_zero_iv(const uint8_t key[16], const uint8_t *in, size_t length, uint8_t *out) {
    unsigned char iv[16] = {0};
    int written = 0, last = 0, ok = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_cfb128(), NULL, key, iv) == 1 &&
        EVP_EncryptUpdate(ctx, out, &written, in, (int)length) == 1 && EVP_EncryptFinal_ex(ctx, out + written, &last) == 1)
        ok = written + last == (int)length;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}
