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
