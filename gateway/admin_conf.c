/* admin_conf.c: portico.json's "admin" section, and the TLS of an admin listener: our
 * certificate, the admins' CAs, and who an admin client certificate is (see admin.h).
 *
 *   "admin": { "address": "10.0.0.5:9901",
 *              "tls": { "cert": "admin.pem", "key": "admin.key" },
 *              "admins": [ { "name": "ops", "identity": { "ca": "ops-ca.pem",
 *                                                         "subject": "CN=ops,O=Example" } } ] }
 *
 * An admin is matched as a partner is (partners/identity.h): the CA that anchored the verified
 * chain must be one of its own, and each of its constraints must hold.
 */
#include "admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bundle.h"
#include "bundle_identity.h"
#include "conf_table.h"
#include "config.h"
#include "identity.h"
#include "tls.h"

static int
loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return ss->ss_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* "admins": [{"name", "identity"}, ...] */
static int
load_admins(const struct gw_jctx *c, const json_t *list, struct gw_admin_conf *out)
{
    static const char *const keys[] = { "name", "identity", NULL };
    size_t errors = c->d->errors;
    char path[GW_JPATH_MAX], ipath[GW_JPATH_MAX];

    if (json_array_size(list) == 0) {
        gw_jctx_error(c, "admin.admins", "an empty list: no one could call the admin API");
        return 1;
    }
    if ((out->admins = calloc(json_array_size(list), sizeof *out->admins)) == NULL)
        return 1;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *a = json_array_get(list, i);
        struct pt_partner *p;
        const char *name;
        json_t *id;
        gw_jpath_index(path, sizeof path, "admin.admins", i);
        if (!json_is_object(a)) {
            gw_jctx_error(c, path, "expected an object, got %s", gw_json_type_name(a));
            continue;
        }
        gw_jctx_check_keys(c, a, path, keys);
        name = gw_jctx_string(c, a, path, "name", 1);
        id = gw_jctx_get(c, a, path, "identity", JSON_OBJECT, 1);
        if (name == NULL || id == NULL || (p = calloc(1, sizeof *p)) == NULL)
            continue;
        out->admins[out->nadmins++] = p;
        p->id = strdup(name);
        pt_identity_read(c, id, gw_jpath_key(ipath, sizeof ipath, path, "identity"), p);
    }
    return c->d->errors > errors;
}

int
gw_admin_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_admin_conf *out)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_STRING(struct gw_admin_conf, address, "127.0.0.1:9901") },
        { GW_KEY_OTHER("tls", NULL) },
        { GW_KEY_OTHER("admins", NULL) },
        GW_KEY_END,
    };
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];
    json_t *tls, *admins;
    int bad;

    if (obj == NULL)
        return 0;
    bad = gw_conf_read(c, obj, "admin", keys, out, NULL);
    out->text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    tls = gw_jctx_get(c, obj, "admin", "tls", JSON_OBJECT, 0);
    admins = gw_jctx_get(c, obj, "admin", "admins", JSON_ARRAY, 0);
    if (tls != NULL && (out->cert = calloc(1, sizeof *out->cert)) != NULL) {
        size_t errors = c->d->errors;
        gw_tls_cert_load(c, tls, "admin.tls", out->cert, 0);
        bad += c->d->errors > errors;
    }
    if (admins != NULL)
        bad += load_admins(c, admins, out);
    if (tls != NULL && admins == NULL) {
        gw_jctx_error(c, "admin.tls", "an admin listener with TLS needs \"admins\": whose client "
                      "certificates may call it");
        bad++;
    } else if (tls == NULL && admins != NULL) {
        gw_jctx_error(c, "admin.admins", "admins are known by their client certificates: this "
                      "needs \"tls\" (our certificate and key) too");
        bad++;
    }
    if (out->address != NULL && gw_parse_address(out->address, &ss, &len, err, sizeof err) < 0) {
        gw_jctx_error(c, "admin.address", "%s", err);
        bad++;
    } else if (out->address != NULL && !loopback(&ss) && tls == NULL) {
        gw_jctx_error(c, "admin.address", "\"%s\" is not a loopback address: off loopback the "
                      "admin API needs \"tls\" and \"admins\" (client certificates)", out->address);
        bad++;
    }
    out->on = bad == 0;
    return bad;
}

void
gw_admin_conf_free(struct gw_admin_conf *a)
{
    free(a->address);
    free(a->text);
    if (a->cert != NULL)
        gw_tls_cert_clear(a->cert);
    free(a->cert);
    for (size_t i = 0; i < a->nadmins; i++)
        pt_partner_free(a->admins[i]);
    free(a->admins);
    memset(a, 0, sizeof *a);
}

int
gw_admin_conf_same(const struct gw_admin_conf *a, const struct gw_admin_conf *b)
{
    return a->on == b->on && ((a->text == NULL && b->text == NULL) ||
                              (a->text != NULL && b->text != NULL && strcmp(a->text, b->text) == 0));
}

SSL_CTX *
gw_admin_tls_ctx(const struct gw_admin_conf *a, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    X509_STORE *store = ctx != NULL ? SSL_CTX_get_cert_store(ctx) : NULL;
    int crls = 0;

    if (store == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, GW_TLS_DEFAULT_CIPHERS) != 1 ||
        SSL_CTX_use_certificate(ctx, a->cert->cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, a->cert->key) != 1)
        goto fail;
    for (int i = 0; a->cert->chain != NULL && i < sk_X509_num(a->cert->chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(a->cert->chain, i)) != 1)
            goto fail;
    for (size_t i = 0; i < a->nadmins; i++) {
        const struct pt_partner *p = a->admins[i];
        for (int j = 0; p->cas != NULL && j < sk_X509_num(p->cas); j++) {
            ERR_set_mark(); /* two admins may share a CA */
            X509_STORE_add_cert(store, sk_X509_value(p->cas, j));
            ERR_pop_to_mark();
        }
        for (int j = 0; p->crls != NULL && j < sk_X509_CRL_num(p->crls); j++, crls++)
            X509_STORE_add_crl(store, sk_X509_CRL_value(p->crls, j));
    }
    if (crls > 0)
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    return ctx;
fail:
    snprintf(err, errlen, "admin: cannot make its TLS context: %s",
             ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(
                 ERR_peek_last_error()) : "out of memory");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

const char *
gw_admin_identify(const struct gw_admin_conf *a, SSL *ssl)
{
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    unsigned char fp[32];
    X509 *leaf, *anchor;

    if (SSL_get_verify_result(ssl) != X509_V_OK || chain == NULL || sk_X509_num(chain) < 1)
        return NULL;
    leaf = sk_X509_value(chain, 0);
    anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (pt_cert_sha256(anchor, fp) < 0)
        return NULL;
    for (size_t i = 0; i < a->nadmins; i++) {
        const struct pt_partner *p = a->admins[i];
        int ours = 0;
        for (int j = 0; !ours && p->ca_fps != NULL && j < sk_X509_num(p->cas); j++)
            ours = memcmp(p->ca_fps[j], fp, 32) == 0;
        if (ours && pt_identity_constraints_hold(p, leaf))
            return p->id;
    }
    return NULL;
}
