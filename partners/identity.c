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

#include "buf.h"
#include "text.h"

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

int
pt_san_text(const GENERAL_NAME *gn, const unsigned char **data, size_t *len)
{
    const ASN1_IA5STRING *s;

    if (gn->type == GEN_DNS)
        s = gn->d.dNSName;
    else if (gn->type == GEN_URI)
        s = gn->d.uniformResourceIdentifier;
    else
        return 0;
    *data = ASN1_STRING_get0_data(s);
    *len = (size_t)ASN1_STRING_length(s);
    return *data != NULL;
}

/* Is this SAN entry (DNS or URI) one of the configured ones? An entry holding a NUL byte (a classic
 * way to smuggle "good.example\0.evil") never matches. */
static int
san_entry_matches(const struct pt_partner *p, const GENERAL_NAME *gn)
{
    const unsigned char *data;
    size_t len;

    if (!pt_san_text(gn, &data, &len) || len == 0 || memchr(data, '\0', len) != NULL)
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

/* ---- why no partner: the failure path only ---------------------------------------------------- */

/* The longest description, and the most partners and SAN entries it names. */
#define MISMATCH_MAX 4096
#define MISMATCH_LIST 8
#define RDN_MAX 32

/* The RDNs of an RFC 2253 string: the spans between commas that are not escaped. Returns their
 * number, or 0 when there are more than max. */
static size_t
rdn_spans(const char *s, const char *at[], size_t len[], size_t max)
{
    size_t n = 0;
    const char *start = s;

    for (const char *q = s;; q++) {
        if (*q == '\\' && q[1] != '\0') {
            q++;
            continue;
        }
        if (*q != ',' && *q != '\0')
            continue;
        if (n == max)
            return 0;
        at[n] = start;
        len[n++] = (size_t)(q - start);
        if (*q == '\0')
            return n;
        start = q + 1;
    }
}

/* Are a and b the same RDNs in the opposite order (the subject written as `openssl req -subj`
 * takes it, first RDN first, where RFC 2253 prints the last first)? */
static int
rdns_reversed(const char *a, const char *b)
{
    const char *aat[RDN_MAX], *bat[RDN_MAX];
    size_t alen[RDN_MAX], blen[RDN_MAX];
    size_t n = rdn_spans(a, aat, alen, RDN_MAX);

    if (n < 2 || rdn_spans(b, bat, blen, RDN_MAX) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (alen[i] != blen[n - 1 - i] || memcmp(aat[i], bat[n - 1 - i], alen[i]) != 0)
            return 0;
    return 1;
}

static void
mismatch_subject(struct gw_buf *b, const struct pt_partner *p, X509 *leaf)
{
    char *got = pt_name_rfc2253(X509_get_subject_name(leaf));

    gw_buf_printf(b, "subject \"%s\" is not \"%s\"", got ? got : "?", p->subject);
    if (got != NULL && rdns_reversed(got, p->subject))
        gw_buf_adds(b, " (the same names in the opposite order: identity.subject is compared in "
                       "RFC 2253 order, the certificate's last RDN first, as `openssl x509 "
                       "-noout -subject -nameopt RFC2253` prints it)");
    free(got);
}

static void
mismatch_san(struct gw_buf *b, const struct pt_partner *p, X509 *leaf)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int shown = 0;

    gw_buf_adds(b, "SAN has none of ");
    for (size_t i = 0; i < p->nsan && i < MISMATCH_LIST; i++)
        gw_buf_printf(b, "%s\"%s\"", i > 0 ? ", " : "", p->san[i]);
    if (p->nsan > MISMATCH_LIST)
        gw_buf_adds(b, ", ...");
    gw_buf_adds(b, " (the certificate has ");
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        const unsigned char *data;
        size_t len;
        if (!pt_san_text(gn, &data, &len))
            continue;
        if (shown == MISMATCH_LIST) {
            gw_buf_adds(b, ", ...");
            break;
        }
        /* "DNS:name" or "URI:uri", bytes outside printable ASCII as '?' */
        gw_buf_adds(b, shown++ > 0 ? ", " : "");
        gw_buf_adds(b, gn->type == GEN_DNS ? "DNS:" : "URI:");
        for (size_t k = 0; k < len && k < 256; k++)
            gw_buf_addc(b, data[k] > 0x20 && data[k] < 0x7f ? (char)data[k] : '?');
    }
    gw_buf_adds(b, shown > 0 ? ")" : "no DNS name or URI)");
    GENERAL_NAMES_free(names);
}

static void
mismatch_fingerprint(struct gw_buf *b, const struct pt_partner *p, X509 *leaf)
{
    unsigned char fp[32];
    char hex[65];

    if (pt_cert_sha256(leaf, fp) < 0) {
        gw_buf_adds(b, "its SHA-256 fingerprint could not be computed");
        return;
    }
    gw_hex_encode(hex, fp, sizeof fp);
    hex[64] = '\0';
    gw_buf_printf(b, "SHA-256 fingerprint %s is not one of the %zu pinned", hex,
                  p->nfingerprints);
}

/* Each of p's configured constraints that fails for leaf, "partner ID: ..." apiece. */
static void
mismatch_partner(struct gw_buf *b, const struct pt_partner *p, X509 *leaf)
{
    const char *sep = b->len > 0 ? "; " : "";

    if (p->subject != NULL && !subject_holds(p, leaf)) {
        gw_buf_printf(b, "%spartner %s: ", sep, p->id);
        mismatch_subject(b, p, leaf);
        sep = "; ";
    }
    if (p->nsan > 0 && !san_holds(p, leaf)) {
        gw_buf_printf(b, "%spartner %s: ", sep, p->id);
        mismatch_san(b, p, leaf);
        sep = "; ";
    }
    if (p->nfingerprints > 0 && !fingerprint_holds(p, leaf)) {
        gw_buf_printf(b, "%spartner %s: ", sep, p->id);
        mismatch_fingerprint(b, p, leaf);
    }
}

char *
pt_identity_mismatch(const struct pt_snapshot *s, X509 *leaf, X509 *anchor)
{
    struct gw_buf b = {.max = MISMATCH_MAX};
    unsigned char fp[32];
    size_t anchored = 0, matched = 0;
    char *out;

    if (s == NULL || leaf == NULL || anchor == NULL)
        return NULL;
    if (pt_cert_sha256(anchor, fp) < 0)
        memset(fp, 0, sizeof fp); /* out of memory: it then anchors nobody */
    for (size_t i = 0; i < s->npartners; i++) {
        const struct pt_partner *p = s->partners[i];
        if (!anchored_at(p, anchor, fp))
            continue;
        anchored++;
        if (pt_identity_constraints_hold(p, leaf) && matched++ < MISMATCH_LIST)
            gw_buf_printf(&b, "%spartner %s", matched > 1 ? ", " : "matches ", p->id);
    }
    for (size_t i = 0, n = 0; matched == 0 && i < s->npartners && n < MISMATCH_LIST; i++) {
        if (anchored_at(s->partners[i], anchor, fp)) {
            mismatch_partner(&b, s->partners[i], leaf);
            n++;
        }
    }
    if (anchored == 0) {
        char *ca = pt_name_rfc2253(X509_get_subject_name(anchor));
        gw_buf_printf(&b, "no partner's CA anchored the chain (it ended at \"%s\")", ca ? ca : "?");
        free(ca);
    }
    if (b.oom || (out = gw_buf_str(&b)) == NULL) {
        gw_buf_free(&b);
        return NULL;
    }
    gw_text_one_line(out);
    return out;
}
