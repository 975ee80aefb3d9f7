/* bundle_identity.c: the identities in a bundle (see bundle_identity.h): the partner's, by which
 * its clients are known ("identity": CAs, CRLs, and the subject, SAN and fingerprint constraints),
 * and ours toward it ("outbound": the client certificate, key and CA the gateway calls it with). */
#include "bundle_identity.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "text.h"
#include "tls_client.h"

/* ---- identity -------------------------------------------------------------------------------- */

static int
is_ca(X509 *x)
{
    return (X509_get_extension_flags(x) & EXFLAG_CA) != 0 && X509_check_ca(x) != 0;
}

static void
identity_cas(const struct gw_jctx *c, const json_t *id, const char *path, struct pt_partner *p)
{
    char ipath[GW_JPATH_MAX], kpath[GW_JPATH_MAX], subj[256];
    json_t *list = gw_jctx_string_list(c, id, path, "ca", 1, 1);
    char *file;

    p->cas = sk_X509_new_null();
    if (list == NULL || p->cas == NULL)
        return;
    for (size_t i = 0; i < gw_jlist_size(list); i++) {
        const char *name = gw_jlist_at(list, i, gw_jpath_key(kpath, sizeof kpath, path, "ca"),
                                       ipath, sizeof ipath);
        STACK_OF(X509) *certs = gw_jctx_load_certs(c, ipath, name, &file);
        X509 *x;
        if (certs == NULL)
            continue;
        while ((x = sk_X509_shift(certs)) != NULL) {
            if (!is_ca(x))
                gw_jctx_error(c, ipath, "certificate \"%s\" in %s is not a CA "
                              "(basicConstraints CA:TRUE is missing)",
                              gw_x509_subject(x, subj, sizeof subj), file);
            gw_jctx_check_validity(c, ipath, x, file);
            if (sk_X509_push(p->cas, x) <= 0)
                X509_free(x);
        }
        sk_X509_free(certs);
        free(file);
    }
    int n = sk_X509_num(p->cas);
    p->ca_fps = n > 0 ? calloc((size_t)n, sizeof *p->ca_fps) : NULL;
    for (int i = 0; p->ca_fps != NULL && i < n; i++) {
        unsigned len = 0;
        X509_digest(sk_X509_value(p->cas, i), EVP_sha256(), p->ca_fps[i], &len);
    }
}

/* Is crl signed by one of the partner's CAs? */
static int
crl_signed_by_partner(const struct pt_partner *p, X509_CRL *crl)
{
    for (int i = 0; p->cas != NULL && i < sk_X509_num(p->cas); i++) {
        X509 *ca = sk_X509_value(p->cas, i);
        EVP_PKEY *pub = X509_get0_pubkey(ca);
        if (X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) == 0 &&
            pub != NULL && X509_CRL_verify(crl, pub) == 1)
            return 1;
    }
    ERR_clear_error();
    return 0;
}

/* Every CRL in one PEM file, each checked against the partner's CAs and its next update. */
static void
load_crl_file(const struct gw_jctx *c, const char *ipath, const char *name, struct pt_partner *p)
{
    char *buf = NULL, *file = NULL, issuer[256], when[64];
    size_t len;
    BIO *bio = NULL;
    X509_CRL *crl;
    int count = 0;

    if (gw_jctx_read_file(c, ipath, name, &buf, &len, &file) < 0)
        return;
    if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
        goto out;
    while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
        count++;
        if (!crl_signed_by_partner(p, crl))
            gw_jctx_warning(c, ipath, "CRL in %s, issued by \"%s\", is not signed by any of this "
                            "partner's CAs", file,
                            gw_x509_name(X509_CRL_get_issuer(crl), issuer, sizeof issuer));
        if (next != NULL && X509_cmp_current_time(next) < 0) {
            gw_asn1_time_str(next, when, sizeof when);
            gw_jctx_warning(c, ipath, "CRL in %s expired on %s: client certificates of its CA "
                            "fail verification until it is renewed", file, when);
        }
        if (sk_X509_CRL_push(p->crls, crl) <= 0)
            X509_CRL_free(crl);
    }
    ERR_clear_error();
    if (count == 0)
        gw_jctx_error(c, ipath, "no CRL in %s (expected PEM \"BEGIN X509 CRL\")", file);
out:
    BIO_free(bio);
    free(buf);
    free(file);
}

static void
identity_crls(const struct gw_jctx *c, const json_t *id, const char *path, struct pt_partner *p)
{
    char ipath[GW_JPATH_MAX], kpath[GW_JPATH_MAX];
    json_t *list = gw_jctx_string_list(c, id, path, "crl", 1, 0);

    if (list == NULL || (p->crls = sk_X509_CRL_new_null()) == NULL)
        return;
    for (size_t i = 0; i < gw_jlist_size(list); i++) {
        const char *name = gw_jlist_at(list, i, gw_jpath_key(kpath, sizeof kpath, path, "crl"),
                                       ipath, sizeof ipath);
        load_crl_file(c, ipath, name, p);
    }
}

/* 64 hex digits, or 32 pairs separated by single colons. */
static int
parse_fingerprint(const char *s, unsigned char out[32])
{
    size_t n = strlen(s);
    int colons = n == 95;

    if (n != 64 && n != 95)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        const char *p = s + i * (colons ? 3 : 2);
        int hi = gw_hexval(p[0]), lo = gw_hexval(p[1]);
        if (hi < 0 || lo < 0 || (colons && i < 31 && p[2] != ':'))
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void
identity_constraints(const struct gw_jctx *c, const json_t *id, const char *path,
                     struct pt_partner *p)
{
    char ipath[GW_JPATH_MAX], kpath[GW_JPATH_MAX];
    const char *subject = gw_jctx_string(c, id, path, "subject", 0);
    json_t *san = gw_jctx_string_list(c, id, path, "san", 0, 0);
    json_t *fps = gw_jctx_string_list(c, id, path, "fingerprints", 0, 0);

    if (subject != NULL && strchr(subject, '=') == NULL)
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "subject"), "\"%s\" is not a distinguished name "
                      "(RFC 2253, e.g. \"CN=client,O=Example\")", subject);
    else if (subject != NULL)
        p->subject = strdup(subject);
    if (san != NULL && (p->san = calloc(gw_jlist_size(san), sizeof *p->san)) != NULL) {
        for (size_t i = 0; i < gw_jlist_size(san); i++) {
            const char *s = gw_jlist_at(san, i, gw_jpath_key(kpath, sizeof kpath, path, "san"),
                                        ipath, sizeof ipath);
            int bad = 0;
            for (const char *q = s; *q; q++)
                bad |= (unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f;
            if (bad)
                gw_jctx_error(c, ipath, "\"%s\" is not a DNS name or URI", s);
            else if ((p->san[p->nsan] = strdup(s)) != NULL)
                p->nsan++;
        }
    }
    size_t nf = gw_jlist_size(fps);
    if (fps != NULL && (p->fingerprints = calloc(nf, sizeof *p->fingerprints)) != NULL) {
        for (size_t i = 0; i < nf; i++) {
            const char *s = gw_jlist_at(fps, i,
                                        gw_jpath_key(kpath, sizeof kpath, path, "fingerprints"),
                                        ipath, sizeof ipath);
            if (parse_fingerprint(s, p->fingerprints[p->nfingerprints]) < 0)
                gw_jctx_error(c, ipath, "\"%s\" is not a SHA-256 fingerprint (64 hex digits, "
                              "colons between pairs allowed)", s);
            else
                p->nfingerprints++;
        }
    }
}

void
pt_identity_read(const struct gw_jctx *c, const json_t *id, const char *path, struct pt_partner *p)
{
    static const char *const keys[] = { "ca", "crl", "subject", "san", "fingerprints", NULL };

    gw_jctx_check_keys(c, id, path, keys);
    identity_cas(c, id, path, p);
    identity_crls(c, id, path, p);
    identity_constraints(c, id, path, p);
}

void
pt_bundle_identity(const struct gw_jctx *c, const json_t *root, struct pt_partner *p)
{
    json_t *id = gw_jctx_get(c, root, "", "identity", JSON_OBJECT, 1);

    if (id != NULL)
        pt_identity_read(c, id, "identity", p);
}

static int
has_constraints(const struct pt_partner *p)
{
    return p->subject != NULL || p->nsan > 0 || p->nfingerprints > 0;
}

/* Partners anchored by one CA are told apart only by their constraints. When one of the two has
 * none, it claims every certificate of that CA, so the other's clients would all be ambiguous. */
void
pt_bundle_shared_cas(const struct gw_jctx *c, const struct pt_partner *p,
                     struct pt_partner *const *loaded, size_t nloaded)
{
    char subj[256];
    int n = p->cas != NULL ? sk_X509_num(p->cas) : 0;

    for (size_t k = 0; p->ca_fps != NULL && k < nloaded; k++) {
        const struct pt_partner *o = loaded[k];
        int on = o->cas != NULL ? sk_X509_num(o->cas) : 0;
        if (o->ca_fps == NULL || (has_constraints(p) && has_constraints(o)))
            continue;
        for (int i = 0; i < n; i++) {
            int j = 0;
            while (j < on && memcmp(p->ca_fps[i], o->ca_fps[j], 32) != 0)
                j++;
            if (j == on)
                continue;
            gw_jctx_warning(c, "identity.ca", "CA \"%s\" also anchors partner %s (%s) and one of "
                            "the two has no subject, san or fingerprints: their clients cannot be "
                            "told apart", gw_x509_subject(sk_X509_value(p->cas, i), subj,
                                                          sizeof subj),
                            o->id ? o->id : "?", o->file);
            break;
        }
    }
}

/* ---- outbound -------------------------------------------------------------------------------- */

/* Check the outbound identity's files, then build the client context from them. */
void
pt_bundle_outbound(const struct gw_jctx *c, const json_t *root, struct pt_partner *p)
{
    static const char *const keys[] = { "cert", "key", "ca", NULL };
    json_t *ob = gw_jctx_get(c, root, "", "outbound", JSON_OBJECT, 0);
    char *certf = NULL, *keyf = NULL, *caf = NULL, err[512];
    STACK_OF(X509) *certs = NULL, *cas = NULL;
    EVP_PKEY *key = NULL;
    size_t errors0 = c->d->errors;

    if (ob == NULL)
        return;
    gw_jctx_check_keys(c, ob, "outbound", keys);
    const char *cert = gw_jctx_string(c, ob, "outbound", "cert", 0);
    const char *keyname = gw_jctx_string(c, ob, "outbound", "key", 0);
    const char *ca = gw_jctx_string(c, ob, "outbound", "ca", 0);
    if ((json_object_get(ob, "cert") != NULL) != (json_object_get(ob, "key") != NULL))
        gw_jctx_error(c, json_object_get(ob, "cert") ? "outbound.key" : "outbound.cert",
                      "\"cert\" and \"key\" go together: both or neither");
    if (json_object_size(ob) == 0)
        gw_jctx_error(c, "outbound", "empty: give \"cert\" and \"key\", and/or \"ca\"");
    if (cert != NULL && (certs = gw_jctx_load_certs(c, "outbound.cert", cert, &certf)) != NULL)
        for (int i = 0; i < sk_X509_num(certs); i++)
            gw_jctx_check_validity(c, "outbound.cert", sk_X509_value(certs, i), certf);
    if (keyname != NULL)
        key = gw_jctx_load_key(c, "outbound.key", keyname, &keyf);
    if (certs != NULL && key != NULL && X509_check_private_key(sk_X509_value(certs, 0), key) != 1) {
        ERR_clear_error();
        gw_jctx_error(c, "outbound.key", "key in %s does not match the certificate in %s", keyf,
                      certf);
    }
    if (ca != NULL)
        cas = gw_jctx_load_certs(c, "outbound.ca", ca, &caf);
    if (c->d->errors == errors0 && (cert == NULL) == (keyname == NULL)) {
        p->outbound_ctx = gw_tls_client_ctx_new(certf, keyf, caf, err, sizeof err);
        if (p->outbound_ctx == NULL)
            gw_jctx_error(c, "outbound", "cannot build the outbound TLS context: %s", err);
    }
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(cas, X509_free);
    EVP_PKEY_free(key);
    free(certf);
    free(keyf);
    free(caf);
}
