/* sha256.c: see sha256.h. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init and friends, on purpose: see sha256.h */
#include "sha256.h"

#include <string.h>

#include <openssl/crypto.h>

void
gw_sha256_init(struct gw_sha256 *s)
{
    SHA256_Init(&s->c);
}

void
gw_sha256_update(struct gw_sha256 *s, const void *p, size_t n)
{
    SHA256_Update(&s->c, p, n);
}

void
gw_sha256_final(struct gw_sha256 *s, unsigned char out[32])
{
    SHA256_Final(out, &s->c);
}

void
gw_sha256_once(const void *p, size_t n, unsigned char out[32])
{
    struct gw_sha256 s;

    gw_sha256_init(&s);
    gw_sha256_update(&s, p, n);
    gw_sha256_final(&s, out);
}

void
gw_hmac_sha256_init(struct gw_hmac_sha256 *h, const void *key, size_t n)
{
    unsigned char block[64] = {0}, pad[64];

    if (n > sizeof block)
        gw_sha256_once(key, n, block);
    else if (n > 0)
        memcpy(block, key, n);
    for (int i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x36;
    SHA256_Init(&h->inner);
    SHA256_Update(&h->inner, pad, sizeof pad);
    for (int i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&h->outer);
    SHA256_Update(&h->outer, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

void
gw_hmac_sha256(const struct gw_hmac_sha256 *h, const void *p, size_t n, unsigned char out[32])
{
    SHA256_CTX c = h->inner;
    unsigned char d[32];

    SHA256_Update(&c, p, n);
    SHA256_Final(d, &c);
    c = h->outer;
    SHA256_Update(&c, d, sizeof d);
    SHA256_Final(out, &c);
}
