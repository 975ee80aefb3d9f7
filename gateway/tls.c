/* tls.c: TLS contexts for listeners and upstreams (see tls.h).
 *
 * Inbound: one SSL_CTX per listener certificate, chosen by SNI; every context asks for a client
 * certificate (client_auth optional or require) and verifies it against one shared trust store, the
 * union of every partner's CAs and CRLs. The partner is resolved in the verify callback, at depth 0,
 * from the anchor that actually ended the verified chain, so that under `require` a certificate
 * that belongs to no partner fails the handshake with an alert rather than later.
 */
#include "tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "exchange_t.h"
#include "identity.h"
#include "log.h"
#include "text.h"
#include "tls_client.h"

static int peer_index = -1;
static const unsigned char sid_ctx[] = "portico";

/* The client's own certificate (the chain's first), kept once for the audit event of a refused
 * handshake: what the certificate said. */
static void
keep_refused(struct gw_tls_peer *peer, X509_STORE_CTX *xctx)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(xctx);

    if (peer->refused == NULL && leaf != NULL && X509_up_ref(leaf))
        peer->refused = leaf;
}

/* Record the first verification error; under `optional` carry on, so that a route that needs a
 * partner can answer 401 with the reason, and a public route still works. */
static int
verify_cb(int ok, X509_STORE_CTX *xctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct gw_tls_peer *peer = ssl ? SSL_get_ex_data(ssl, peer_index) : NULL;
    int err = X509_STORE_CTX_get_error(xctx);

    if (peer == NULL)
        return ok;
    peer->have_cert = 1;
    if (!ok && err == X509_V_ERR_UNABLE_TO_GET_CRL) {
        /* this partner has no CRL configured: revocation is not checked for it */
        X509_STORE_CTX_set_error(xctx, X509_V_OK);
        ok = 1;
    }
    if (!ok) {
        if (peer->verify_error == 0)
            peer->verify_error = err;
        keep_refused(peer, xctx);
        return peer->mode == GW_CLIENT_AUTH_OPTIONAL;
    }
    if (X509_STORE_CTX_get_error_depth(xctx) != 0 || peer->verify_error != 0)
        return 1;

    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xctx);
    X509 *leaf = X509_STORE_CTX_get_current_cert(xctx);
    X509 *anchor = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, sk_X509_num(chain) - 1)
                                                   : NULL;
    const struct pt_partner *p = NULL;

    peer->id_status = anchor ? pt_identity_resolve(peer->snap, leaf, anchor, &p) : PT_ID_UNKNOWN;
    peer->partner = peer->id_status == PT_ID_OK ? p : NULL;
    /* which constraint failed, worked out on this failure path only */
    if (peer->partner == NULL && peer->mismatch == NULL)
        peer->mismatch = pt_identity_mismatch(peer->snap, leaf, anchor);
    if (peer->partner == NULL && peer->mode == GW_CLIENT_AUTH_REQUIRE) {
        X509_STORE_CTX_set_error(xctx, X509_V_ERR_CERT_REJECTED);
        peer->verify_error = X509_V_ERR_CERT_REJECTED;
        keep_refused(peer, xctx);
        return 0;
    }
    return 1;
}

/* Verification errors a partner can act on: the code the audit records and the words of a 401. */
static const struct verify_error_name {
    int err;
    const char *code, *text;
} verify_errors[] = {
    {X509_V_ERR_CERT_HAS_EXPIRED, "certificate-expired", "client certificate expired"},
    {X509_V_ERR_CERT_NOT_YET_VALID, "certificate-not-yet-valid",
     "client certificate not yet valid"},
    {X509_V_ERR_CERT_REVOKED, "certificate-revoked", "client certificate revoked"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "certificate-unknown-ca",
     "client certificate issued by an unknown CA"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "certificate-unknown-ca",
     "client certificate issued by an unknown CA"},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "certificate-unknown-ca",
     "client certificate issued by an unknown CA"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "certificate-unknown-ca",
     "client certificate issued by an unknown CA"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "certificate-unknown-ca",
     "client certificate issued by an unknown CA"},
};

static const struct verify_error_name *
verify_error_name(int err)
{
    for (size_t i = 0; i < sizeof verify_errors / sizeof verify_errors[0]; i++)
        if (verify_errors[i].err == err)
            return &verify_errors[i];
    return NULL;
}

const char *
gw_tls_peer_reason(const struct gw_tls_peer *peer)
{
    const struct verify_error_name *e;

    if (peer == NULL || peer->mode == GW_CLIENT_AUTH_NONE)
        return "no client certificate (this listener does not ask for one)";
    /* CERT_REJECTED is ours: a verified chain that fits no single partner, said below */
    if (peer->verify_error != 0 && peer->verify_error != X509_V_ERR_CERT_REJECTED) {
        e = verify_error_name(peer->verify_error);
        return e != NULL ? e->text : X509_verify_cert_error_string(peer->verify_error);
    }
    if (!peer->have_cert)
        return "no client certificate";
    if (peer->id_status == PT_ID_AMBIGUOUS)
        return "client certificate matches more than one partner";
    if (peer->partner == NULL)
        return "client certificate matches no partner";
    return "ok";
}

const char *
gw_tls_peer_code(const struct gw_tls_peer *peer, unsigned long ssl_err)
{
    const struct verify_error_name *e;

    if (peer->verify_error == 0)
        return ERR_GET_REASON(ssl_err) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
                   ? "certificate-missing"
                   : NULL;
    if ((e = verify_error_name(peer->verify_error)) != NULL)
        return e->code;
    if (peer->verify_error == X509_V_ERR_CERT_REJECTED)
        return peer->id_status == PT_ID_AMBIGUOUS ? "certificate-ambiguous"
                                                  : "certificate-no-partner";
    return "certificate-invalid";
}

static int
sni_matches(const char *pattern, const char *name)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(name, '.');
        return dot != NULL && dot != name && strcasecmp(dot, pattern + 1) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
    const struct gw_listener_conf *l = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    (void)alert;
    if (name == NULL)
        return SSL_TLSEXT_ERR_OK;
    for (size_t i = 0; i < l->ncerts; i++) {
        if (l->certs[i].sni != NULL && sni_matches(l->certs[i].sni, name)) {
            if (SSL_get_SSL_CTX(ssl) != l->ssl_ctx[i])
                SSL_set_SSL_CTX(ssl, l->ssl_ctx[i]);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_OK; /* the default certificate */
}

/* ---- session tickets ---------------------------------------------------------------------------
 *
 * Ticket keys are the process's own, in memory only, shared by every listener, worker and
 * snapshot (a reload keeps sessions resumable). A key encrypts new tickets for one period, then
 * only decrypts them (their holders get a new ticket) for one more, then is forgotten: a stolen
 * key opens at most two periods of sessions. The period is the longest ticket lifetime of the
 * listeners, so that every ticket stays readable for its whole lifetime; OpenSSL refuses a
 * session older than its own listener's lifetime. */

struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    time_t born; /* CLOCK_MONOTONIC seconds */
};

static struct {
    pthread_mutex_t lock;
    struct ticket_key key[2]; /* [0] encrypts; [1], when n == 2, the one before it */
    int n;
    long period_s;
} tickets = {.lock = PTHREAD_MUTEX_INITIALIZER, .period_s = 300};

static time_t
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Under the lock: make key[0] one born within the last period, keeping the one before while it
 * is within two periods. -1 when no random bytes could be had. */
static int
tickets_rotate(time_t now)
{
    struct ticket_key k;

    if (tickets.n > 0 && now - tickets.key[0].born < tickets.period_s)
        return 0;
    if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_bytes(k.aes, sizeof k.aes) != 1 ||
        RAND_bytes(k.hmac, sizeof k.hmac) != 1)
        return -1;
    k.born = now;
    if (tickets.n > 0 && now - tickets.key[0].born < 2 * tickets.period_s) {
        tickets.key[1] = tickets.key[0];
        tickets.n = 2;
    } else {
        tickets.n = 1;
    }
    tickets.key[0] = k;
    OPENSSL_cleanse(&k, sizeof k);
    return 0;
}

/* OpenSSL's ticket key callback: 1 with the cipher and MAC set up, 2 as 1 but the client should
 * get a new ticket (the key is the older one), 0 for a ticket of a key no longer held, -1 on
 * error. */
static int
ticket_key_cb(SSL *ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
              EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct ticket_key k;
    OSSL_PARAM params[3];
    time_t now = mono_s();
    int rc = 1, i;

    (void)ssl;
    pthread_mutex_lock(&tickets.lock);
    if (tickets_rotate(now) < 0) {
        pthread_mutex_unlock(&tickets.lock);
        return -1;
    }
    for (i = 0; !enc && i < tickets.n && memcmp(name, tickets.key[i].name, 16) != 0; i++)
        ;
    if (!enc && i == tickets.n) {
        pthread_mutex_unlock(&tickets.lock);
        return 0;
    }
    k = tickets.key[enc ? 0 : i];
    rc = enc || i == 0 ? 1 : 2;
    pthread_mutex_unlock(&tickets.lock);

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    if (enc) {
        memcpy(name, k.name, 16);
        if (RAND_bytes(iv, 16) != 1 ||
            EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1)
            rc = -1;
    } else if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1) {
        rc = -1;
    }
    if (rc > 0 && EVP_MAC_CTX_set_params(hctx, params) != 1)
        rc = -1;
    OPENSSL_cleanse(&k, sizeof k);
    return rc;
}

/* ---- listeners ----------------------------------------------------------------------------- */

/* Set `value` (or one element of it) as a list of `kind` on ctx: 1 when OpenSSL selects something
 * from it, 0 when it knows nothing of it. */
static int
set_list(SSL_CTX *ctx, enum gw_tls_list kind, const char *value)
{
    switch (kind) {
    case GW_TLS_CIPHERS:
        return SSL_CTX_set_cipher_list(ctx, value);
    case GW_TLS_CIPHERSUITES:
        return SSL_CTX_set_ciphersuites(ctx, value);
    default:
        return SSL_CTX_set1_groups_list(ctx, value);
    }
}

int
gw_tls_check_list(enum gw_tls_list kind, const char *value, char *err, size_t errlen)
{
    static const char *const what[] = {"a TLS 1.2 cipher", "a TLS 1.3 cipher suite",
                                       "a key exchange group (curve)"};
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char *copy = strdup(value), *save = NULL, *e;
    int rc = 0;

    if (ctx == NULL || copy == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto out;
    }
    /* the cipher list takes ':', ',' or ' ' between elements and skips names it does not know:
     * each name is tried alone (operators and @ directives select nothing alone) */
    for (e = strtok_r(copy, kind == GW_TLS_CIPHERS ? ":, " : ":", &save); e != NULL;
         e = strtok_r(NULL, kind == GW_TLS_CIPHERS ? ":, " : ":", &save)) {
        if (kind == GW_TLS_CIPHERS && strchr("!-+@", e[0]) != NULL)
            continue;
        if (set_list(ctx, kind, e) != 1) {
            snprintf(err, errlen, "\"%s\" is not %s OpenSSL knows", e, what[kind]);
            rc = -1;
            goto out;
        }
    }
    if (set_list(ctx, kind, value) != 1) {
        snprintf(err, errlen, "\"%s\" selects no %s OpenSSL can use", value, what[kind]);
        rc = -1;
    }
out:
    ERR_clear_error();
    free(copy);
    SSL_CTX_free(ctx);
    return rc;
}

/* Only HTTP/1.1 is spoken: a client that offers ALPN without it gets the no_application_protocol
 * alert (RFC 7301) rather than a protocol it did not ask for. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
        unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";

    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

static void
info_cb(const SSL *ssl, int where, int ret)
{
    struct gw_tls_peer *peer;

    (void)ret;
    if ((where & SSL_CB_HANDSHAKE_DONE) && (peer = SSL_get_ex_data(ssl, peer_index)) != NULL)
        peer->handshake_done = 1;
}

/* A ClientHello once the handshake is done asks for a renegotiation (TLS 1.2): refused with a
 * fatal no_renegotiation alert, which ends the connection. OpenSSL's own refusal is a warning
 * that leaves the connection open, holding a worker's memory for a client that misbehaves. */
static int
client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    struct gw_tls_peer *peer = SSL_get_ex_data(ssl, peer_index);

    (void)arg;
    if (peer != NULL && peer->handshake_done) {
        *alert = SSL_AD_NO_RENEGOTIATION;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The listener's protocol settings: suites, groups, ALPN, renegotiation, sessions. 0 or -1. */
static int
server_ctx_protocol(SSL_CTX *ctx, const struct gw_listener_conf *l)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* renegotiation reaches client_hello_cb, which refuses it with a fatal alert */
    SSL_CTX_set_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
    SSL_CTX_set_info_callback(ctx, info_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    if (SSL_CTX_set_cipher_list(ctx, l->ciphers ? l->ciphers : GW_TLS_DEFAULT_CIPHERS) != 1 ||
        (l->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, l->ciphersuites) != 1) ||
        (l->curves != NULL && SSL_CTX_set1_groups_list(ctx, l->curves) != 1))
        return -1;
    if (l->ticket_lifetime_s == 0) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
        return 0;
    }
    SSL_CTX_set_timeout(ctx, l->ticket_lifetime_s);
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) == 1 ? 0 : -1;
}

static SSL_CTX *
server_ctx_new(struct pt_snapshot *s, struct gw_listener_conf *l, struct gw_tls_cert *c,
               struct gw_diag *d)
{
    char err[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL || server_ctx_protocol(ctx, l) < 0)
        goto fail;
    /* idle keep-alive connections give their read/write buffers back (nginx does the same) */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (SSL_CTX_use_certificate(ctx, c->cert) != 1)
        goto fail;
    for (int i = 0; c->chain != NULL && i < sk_X509_num(c->chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c->chain, i)) != 1)
            goto fail;
    if (SSL_CTX_use_PrivateKey(ctx, c->key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    if (l->client_auth != GW_CLIENT_AUTH_NONE) {
        int mode = SSL_VERIFY_PEER;
        if (l->client_auth == GW_CLIENT_AUTH_REQUIRE)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set1_cert_store(ctx, s->trust);
        SSL_CTX_set_verify(ctx, mode, verify_cb);
        SSL_CTX_set_verify_depth(ctx, 8);
        /* the CertificateRequest names every partner CA, so a client with several certificates
         * picks the right one */
        SSL_CTX_set_client_CA_list(ctx, SSL_dup_CA_list(s->ca_names));
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, l);
    return ctx;
fail:
    gw_tls_errors(err, sizeof err);
    gw_diag_add(d, GW_DIAG_ERROR, l->file, l->line, l->col, "tls",
                "cannot set up TLS with %s: %s", c->cert_file ? c->cert_file : "certificate", err);
    SSL_CTX_free(ctx);
    return NULL;
}

static int
trust_init(struct pt_snapshot *s)
{
    int crls = 0;

    s->trust = X509_STORE_new();
    s->ca_names = sk_X509_NAME_new_null();
    if (s->trust == NULL || s->ca_names == NULL)
        return -1;
    for (size_t i = 0; i < s->npartners; i++) {
        const struct pt_partner *p = s->partners[i];
        for (int j = 0; p->cas != NULL && j < sk_X509_num(p->cas); j++) {
            X509 *ca = sk_X509_value(p->cas, j);
            X509_NAME *name = X509_get_subject_name(ca);
            /* the same CA may anchor several partners: add it once */
            ERR_set_mark();
            X509_STORE_add_cert(s->trust, ca);
            ERR_pop_to_mark();
            if (sk_X509_NAME_find(s->ca_names, name) < 0) {
                X509_NAME *dup = X509_NAME_dup(name);
                if (dup == NULL || !sk_X509_NAME_push(s->ca_names, dup)) {
                    X509_NAME_free(dup);
                    return -1;
                }
                sk_X509_NAME_sort(s->ca_names);
            }
        }
        for (int j = 0; p->crls != NULL && j < sk_X509_CRL_num(p->crls); j++) {
            X509_STORE_add_crl(s->trust, sk_X509_CRL_value(p->crls, j));
            crls++;
        }
    }
    if (crls > 0)
        X509_STORE_set_flags(s->trust, X509_V_FLAG_CRL_CHECK);
    return 0;
}

int
gw_tls_snapshot_init(struct pt_snapshot *s, struct gw_diag *d)
{
    struct gw_config *c = s->config;
    char err[256];
    long period = 0;
    int rc = 0;

    if (peer_index < 0)
        peer_index = SSL_get_ex_new_index(0, "portico peer", NULL, NULL, NULL);
    for (size_t i = 0; i < c->nlisteners; i++)
        if (c->listeners[i].tls && c->listeners[i].ticket_lifetime_s > period)
            period = c->listeners[i].ticket_lifetime_s;
    if (period > 0) {
        pthread_mutex_lock(&tickets.lock);
        tickets.period_s = period;
        pthread_mutex_unlock(&tickets.lock);
    }
    if (trust_init(s) < 0) {
        gw_diag_add(d, GW_DIAG_ERROR, c->path, 0, 0, NULL, "out of memory building trust store");
        return -1;
    }
    for (size_t i = 0; i < c->nlisteners; i++) {
        struct gw_listener_conf *l = &c->listeners[i];
        if (!l->tls || l->ncerts == 0)
            continue;
        l->ssl_ctx = calloc(l->ncerts, sizeof *l->ssl_ctx);
        if (l->ssl_ctx == NULL)
            return -1;
        for (size_t j = 0; j < l->ncerts; j++) {
            l->ssl_ctx[j] = server_ctx_new(s, l, &l->certs[j], d);
            if (l->ssl_ctx[j] == NULL)
                rc = -1;
        }
    }
    s->upstream_ctx = gw_tls_client_ctx_new(NULL, NULL, NULL, err, sizeof err);
    if (s->upstream_ctx == NULL) {
        gw_diag_add(d, GW_DIAG_ERROR, c->path, 0, 0, NULL, "upstream TLS: %s", err);
        rc = -1;
    }
    return rc;
}

void
gw_tls_snapshot_free(struct pt_snapshot *s)
{
    struct gw_config *c = s->config;

    for (size_t i = 0; c != NULL && i < c->nlisteners; i++) {
        struct gw_listener_conf *l = &c->listeners[i];
        for (size_t j = 0; l->ssl_ctx != NULL && j < l->ncerts; j++)
            SSL_CTX_free(l->ssl_ctx[j]);
        free(l->ssl_ctx);
        l->ssl_ctx = NULL;
    }
    X509_STORE_free(s->trust);
    s->trust = NULL;
    sk_X509_NAME_pop_free(s->ca_names, X509_NAME_free);
    s->ca_names = NULL;
    SSL_CTX_free(s->upstream_ctx);
    s->upstream_ctx = NULL;
}

void
gw_tls_init_threads(void)
{
    struct event_base *base = event_base_new();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    struct bufferevent *under = base ? bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
    struct bufferevent *filter = NULL;

    if (under != NULL && ssl != NULL)
        filter = bufferevent_openssl_filter_new(base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
    if (filter != NULL) {
        bufferevent_free(filter); /* frees under and ssl too */
    } else {
        if (under != NULL)
            bufferevent_free(under);
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    if (base != NULL)
        event_base_free(base);
}

SSL *
gw_tls_server_ssl(const struct gw_listener_conf *l, struct gw_tls_peer *peer)
{
    SSL *ssl = SSL_new(l->ssl_ctx[0]);

    if (ssl == NULL)
        return NULL;
    SSL_set_ex_data(ssl, peer_index, peer);
    return ssl;
}

const struct ex_cert *
gw_tls_cert_words(SSL *ssl, const struct gw_tls_peer *peer, struct ex_cert *cert)
{
    X509 *x;
    unsigned char fp[32];

    if (cert->subject != NULL)
        return cert;
    x = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    if (x == NULL)
        x = peer->refused; /* a handshake refused for it: what it said */
    if (x == NULL)
        return NULL;
    cert->subject = pt_name_rfc2253(X509_get_subject_name(x));
    cert->issuer = pt_name_rfc2253(X509_get_issuer_name(x));
    pt_cert_serial(x, cert->serial, sizeof cert->serial);
    if (pt_cert_sha256(x, fp) == 0) {
        gw_hex_encode(cert->fingerprint, fp, 32);
        cert->fingerprint[64] = '\0';
    }
    return cert->subject != NULL ? cert : NULL;
}
