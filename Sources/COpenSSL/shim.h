#ifndef EVOTE_COPENSSL_SHIM_H
#define EVOTE_COPENSSL_SHIM_H
// The libcrypto surface VotingCore uses: digests, MACs, randomness, EVP keys
// (Ed25519) and the EC/BIGNUM arithmetic for P-256.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#endif

#ifndef EVOTE_COPENSSL_MSM
#define EVOTE_COPENSSL_MSM
// g_scalar*G + Σ scalars[i]*points[i] in one call: OpenSSL's P-256 code shares the
// doublings between the points. EC_POINTs_mul is deprecated in OpenSSL 3.0 only in favour
// of single-point calls; it remains the library's multi-scalar multiplication.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline int evote_ec_points_mul(const EC_GROUP *group, EC_POINT *r, const BIGNUM *g_scalar,
                                      size_t num, const EC_POINT *points[], const BIGNUM *scalars[], BN_CTX *ctx) {
    return EC_POINTs_mul(group, r, g_scalar, num, points, scalars, ctx);
}
#pragma GCC diagnostic pop
#endif

#ifndef EVOTE_COPENSSL_X509
#define EVOTE_COPENSSL_X509
// X.509 for `ballot-server tls-cert` (a self-signed certificate for test elections).
#include <openssl/x509.h>
#include <openssl/x509v3.h>
// EVP_EC_gen is a macro over a variadic function, which Swift cannot call.
static inline EVP_PKEY *evote_ec_p256_keygen(void) {
    return EVP_EC_gen("P-256");
}
#endif

#ifndef EVOTE_COPENSSL_PBKDF2
#define EVOTE_COPENSSL_PBKDF2
// PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) over the low-level SHA-256 calls. The HMAC key's inner
// and outer pad states are hashed once and copied for each of the 2 × iterations digests, so
// an iteration costs two SHA-256 compressions; OpenSSL 3.0's PKCS5_PBKDF2_HMAC goes through
// the EVP_MAC provider layer on every iteration and measured 2.3× slower here (1,020 vs
// 437 µs for 512 iterations on a loaded machine, same output). The SHA256_* calls are
// deprecated in OpenSSL 3.0 in favour of EVP, which is the overhead avoided here.
#include <openssl/sha.h>
#include <string.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline int evote_pbkdf2_hmac_sha256(const unsigned char *password, size_t password_length,
                                           const unsigned char *salt, size_t salt_length,
                                           unsigned long iterations, unsigned char *out, size_t out_length) {
    unsigned char key[64] = {0}, pad[64], u[32], t[32], counter[4];
    SHA256_CTX inner, outer, c;
    if (iterations < 1) return 0;
    if (password_length > 64) {
        if (SHA256(password, password_length, key) == NULL) return 0;
    } else if (password_length > 0) {
        memcpy(key, password, password_length);
    }
    for (int i = 0; i < 64; i++) pad[i] = key[i] ^ 0x36;
    if (!SHA256_Init(&inner) || !SHA256_Update(&inner, pad, 64)) return 0;
    for (int i = 0; i < 64; i++) pad[i] = key[i] ^ 0x5c;
    if (!SHA256_Init(&outer) || !SHA256_Update(&outer, pad, 64)) return 0;
    for (unsigned long block = 1; out_length > 0; block++) {
        counter[0] = (unsigned char)(block >> 24); counter[1] = (unsigned char)(block >> 16);
        counter[2] = (unsigned char)(block >> 8); counter[3] = (unsigned char)block;
        c = inner;
        if (!SHA256_Update(&c, salt, salt_length) || !SHA256_Update(&c, counter, 4) || !SHA256_Final(u, &c)) return 0;
        c = outer;
        if (!SHA256_Update(&c, u, 32) || !SHA256_Final(u, &c)) return 0;
        memcpy(t, u, 32);
        for (unsigned long j = 1; j < iterations; j++) {
            c = inner;
            if (!SHA256_Update(&c, u, 32) || !SHA256_Final(u, &c)) return 0;
            c = outer;
            if (!SHA256_Update(&c, u, 32) || !SHA256_Final(u, &c)) return 0;
            for (int i = 0; i < 32; i++) t[i] ^= u[i];
        }
        size_t n = out_length < 32 ? out_length : 32;
        memcpy(out, t, n);
        out += n;
        out_length -= n;
    }
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
    OPENSSL_cleanse(&c, sizeof c);
    return 1;
}
#pragma GCC diagnostic pop
#endif
