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

#endif
