/* identity.c: which partner a verified client certificate belongs to (see identity.h).
 *
 * Runs once per connection, after OpenSSL has verified the chain. The partner is found from the
 * trust anchor first (by the SHA-256 of its DER, so a CA that merely copies another's name is a
 * different CA), then narrowed by each candidate's constraints. Names and text in the certificate
 * never select a partner on their own.
 */
#include "identity.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

int
pt_cert_sha256(X509 *c, unsigned char out[32])
{
    unsigned int len = 0;

    if (c == NULL || X509_digest(c, EVP_sha256(), out, &len) != 1 || len != 32)
        return -1;
    return 0;
}

char *
pt_cert_serial(X509 *c, char *out, size_t len)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
    char *h = bn != NULL ? BN_bn2hex(bn) : NULL;

    out[0] = '\0';
    if (h != NULL && strlen(h) < len)
        strcpy(out, h);
    OPENSSL_free(h);
    BN_free(bn);
    return out;
}

char *
pt_name_rfc2253(X509_NAME *name)
{
    BIO *bio = NULL;
    char *data, *out = NULL;
    long len;

    if (name == NULL)
        return NULL;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        goto out;
    /* The flags `openssl x509 -nameopt RFC2253` uses: reversed order, ',' and '+' separators,
     * RFC 2253 escaping, bytes above 0x7f as \XX, unknown attribute types dumped as #hex. */
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
        goto out;
    len = BIO_get_mem_data(bio, &data);
    if (len < 0 || (out = malloc((size_t)len + 1)) == NULL)
        goto out;
    if (len > 0)
        memcpy(out, data, (size_t)len);
    out[len] = '\0';
out:
    BIO_free(bio);
    return out;
}

static int
ascii_casecmp_n(const unsigned char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = a[i], cb = (unsigned char)b[i];
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb - 'A' + 'a');
        if (ca != cb)
            return 1;
    }
    return 0;
}

/* Is this SAN entry (DNS or URI) one of the configured ones? An entry holding a NUL byte (a classic
 * way to smuggle "good.example\0.evil") never matches. */
static int
san_entry_matches(const struct pt_partner *p, const GENERAL_NAME *gn)
{
    const ASN1_IA5STRING *s;
    const unsigned char *data;
    size_t len;

    if (gn->type == GEN_DNS)
        s = gn->d.dNSName;
    else if (gn->type == GEN_URI)
        s = gn->d.uniformResourceIdentifier;
    else
        return 0;
    data = ASN1_STRING_get0_data(s);
    len = (size_t)ASN1_STRING_length(s);
    if (data == NULL || len == 0 || memchr(data, '\0', len) != NULL)
        return 0;
    for (size_t i = 0; i < p->nsan; i++) {
        if (strlen(p->san[i]) != len)
            continue;
        if (gn->type == GEN_DNS ? ascii_casecmp_n(data, p->san[i], len) == 0
                                : memcmp(data, p->san[i], len) == 0)
            return 1;
    }
    return 0;
}

static int
san_holds(const struct pt_partner *p, X509 *leaf)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int found = 0;

    if (names == NULL)
        return 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; i++)
        found = san_entry_matches(p, sk_GENERAL_NAME_value(names, i));
    GENERAL_NAMES_free(names);
    return found;
}

static int
subject_holds(const struct pt_partner *p, X509 *leaf)
{
    char *subject = pt_name_rfc2253(X509_get_subject_name(leaf));
    int ok = subject != NULL && strcmp(subject, p->subject) == 0;

    free(subject);
    return ok;
}

static int
fingerprint_holds(const struct pt_partner *p, X509 *leaf)
{
    unsigned char fp[32];

    if (pt_cert_sha256(leaf, fp) < 0)
        return 0;
    for (size_t i = 0; i < p->nfingerprints; i++)
        if (CRYPTO_memcmp(fp, p->fingerprints[i], sizeof fp) == 0)
            return 1;
    return 0;
}

int
pt_identity_constraints_hold(const struct pt_partner *p, X509 *leaf)
{
    if (p == NULL || leaf == NULL)
        return 0;
    if (p->subject != NULL && !subject_holds(p, leaf))
        return 0;
    if (p->nsan > 0 && !san_holds(p, leaf))
        return 0;
    if (p->nfingerprints > 0 && !fingerprint_holds(p, leaf))
        return 0;
    return 1;
}

/* Is the anchor (given by its fingerprint) one of the partner's CAs? Falls back to comparing the
 * certificates when the fingerprints were not filled in. */
static int
anchored_at(const struct pt_partner *p, X509 *anchor, const unsigned char fp[32])
{
    int n = p->cas != NULL ? sk_X509_num(p->cas) : 0;

    for (int i = 0; i < n; i++) {
        if (p->ca_fps != NULL ? memcmp(p->ca_fps[i], fp, 32) == 0
                              : X509_cmp(sk_X509_value(p->cas, i), anchor) == 0)
            return 1;
    }
    return 0;
}

int
pt_identity_resolve(const struct pt_snapshot *s, X509 *leaf, X509 *anchor,
                    const struct pt_partner **out)
{
    unsigned char fp[32];
    const struct pt_partner *found = NULL;

    *out = NULL;
    if (s == NULL || leaf == NULL || anchor == NULL || pt_cert_sha256(anchor, fp) < 0)
        return PT_ID_UNKNOWN;
    for (size_t i = 0; i < s->npartners; i++) {
        const struct pt_partner *p = s->partners[i];
        if (!anchored_at(p, anchor, fp) || !pt_identity_constraints_hold(p, leaf))
            continue;
        if (found != NULL)
            return PT_ID_AMBIGUOUS;
        found = p;
    }
    if (found == NULL)
        return PT_ID_UNKNOWN;
    *out = found;
    return PT_ID_OK;
}
