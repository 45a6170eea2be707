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
