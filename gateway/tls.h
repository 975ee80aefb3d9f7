/* tls.h: TLS contexts for listeners (server certificate by SNI, client certificates verified
 * against the partners' CAs, suites, ALPN, tickets) and the snapshot's default upstream context;
 * the client side itself is base/tls_client.h. */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"
#include "diag.h"
#include "snapshot.h"
#include "tls_client.h"

struct ex_cert;

/* TLS 1.2 suites by default: ECDHE key exchange and AEAD ciphers only (forward secrecy; no CBC,
 * no static RSA), as Mozilla's "intermediate" profile without its DHE suites. */
#define GW_TLS_DEFAULT_CIPHERS                                                                     \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The lists a listener may set, in OpenSSL's syntax. */
enum gw_tls_list {
    GW_TLS_CIPHERS,      /* TLS 1.2 cipher list: names, keywords, operators (! - + @STRENGTH) */
    GW_TLS_CIPHERSUITES, /* TLS 1.3 suites: names */
    GW_TLS_CURVES,       /* key exchange groups: names */
};

/* Does OpenSSL know every element of `value` as a `kind`, and select something from the whole?
 * Returns 0, or -1 with a message naming the first element it does not know in err. */
int gw_tls_check_list(enum gw_tls_list kind, const char *value, char *err, size_t errlen);

/* Build the snapshot's TLS state: the trust store and CA name list from every partner's CAs and
 * CRLs, every TLS listener's SSL_CTX (one per certificate, switched by SNI), and the default
 * upstream client context. Problems go to `d`. Returns 0 or -1. */
int gw_tls_snapshot_init(struct pt_snapshot *s, struct gw_diag *d);

/* Free what gw_tls_snapshot_init built (safe on a partly built snapshot). */
void gw_tls_snapshot_free(struct pt_snapshot *s);

/* What the TLS layer learnt about the client of one inbound connection. The connection owns it
 * and attaches it to its SSL before the handshake; the verify callback fills it in. */
struct gw_tls_peer {
    enum gw_client_auth mode;        /* the listener's client_auth */
    const struct pt_snapshot *snap;  /* for the identity index */
    int verify_error;                /* first X509_V_ERR_* seen (0 = none) */
    int id_status;                   /* PT_ID_* (partners/identity.h) once a chain verified */
    int have_cert;                   /* the client presented a certificate */
    const struct pt_partner *partner;/* set when the certificate verified and resolved */
    X509 *refused;                   /* the client certificate that failed (a reference), for
                                      * the audit of a refused handshake */
    char *mismatch;                  /* a verified certificate that is no single partner's: why
                                      * (pt_identity_mismatch), malloc'd; for the log and the
                                      * audit only, never the client */
    int handshake_done;              /* a ClientHello after this is a renegotiation: refused */
};

/* Call once from the main thread before the workers start. libevent makes the BIO method of its
 * TLS filters lazily, without a lock: two workers making their first filter at once would race
 * (one method leaked, or worse, one half made). Making a filter here first settles it. */
void gw_tls_init_threads(void);

/* A new server-side SSL for an accepted connection on listener l, with peer attached. */
SSL *gw_tls_server_ssl(const struct gw_listener_conf *l, struct gw_tls_peer *peer);

/* Why an inbound client has no partner, in words for a 401 problem body ("certificate expired",
 * "no client certificate", "certificate matches no partner", ...). */
const char *gw_tls_peer_reason(const struct gw_tls_peer *peer);

/* The client certificate of a connection in words, into *cert once (its subject still NULL
 * means not yet): the verified one on ssl (NULL: none), else the one its handshake was refused
 * for (peer->refused). Returns cert, or NULL when there is none. */
const struct ex_cert *gw_tls_cert_words(SSL *ssl, const struct gw_tls_peer *peer,
                                        struct ex_cert *cert);

/* Why a handshake failed, as a code for the audit ("certificate-expired", "certificate-unknown-ca",
 * "certificate-missing", ...), or NULL when the certificate is not why (a client that went away
 * before sending one, a protocol error). ssl_err: the OpenSSL error the handshake ended with. */
const char *gw_tls_peer_code(const struct gw_tls_peer *peer, unsigned long ssl_err);

#endif
