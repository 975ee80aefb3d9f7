/* sha256.c: see sha256.h. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init and friends, on purpose: see sha256.h */
#include "sha256.h"

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
