/* sha256.h: SHA-256 on hot paths (the audit's bodies as they pass, each event's link in the chain):
 * OpenSSL's low-level calls on a state kept inline. In OpenSSL 3.0, EVP's provider dispatch adds
 * about 170 ns to every digest: more than hashing a 100-byte body, a fifth of an audit event's
 * link. Loading configurations, where that does not matter, uses EVP. */
#ifndef GW_SHA256_H
#define GW_SHA256_H

#include <stddef.h>

#include <openssl/sha.h>

struct gw_sha256 {
    SHA256_CTX c;
};

void gw_sha256_init(struct gw_sha256 *s);
void gw_sha256_update(struct gw_sha256 *s, const void *p, size_t n);
void gw_sha256_final(struct gw_sha256 *s, unsigned char out[32]);
/* The digest of p[0..n) in one call. */
void gw_sha256_once(const void *p, size_t n, unsigned char out[32]);

/* HMAC-SHA-256 (RFC 2104) under a key whose padded blocks are hashed once, up front: a MAC is
 * then two short hashes from copies of those states. */
struct gw_hmac_sha256 {
    SHA256_CTX inner, outer;
};

void gw_hmac_sha256_init(struct gw_hmac_sha256 *h, const void *key, size_t n);
void gw_hmac_sha256(const struct gw_hmac_sha256 *h, const void *p, size_t n,
                    unsigned char out[32]);

#endif
