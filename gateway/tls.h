/* tls.h: TLS contexts for listeners (server certificate by SNI, client certificates verified
 * against the partners' CAs) and for https upstreams (outbound identity, verification on). */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "diag.h"
#include "snapshot.h"

/* Build the snapshot's TLS state: the trust store and CA name list from every partner's CAs and
 * CRLs, every TLS listener's SSL_CTX (one per certificate, switched by SNI), and the default
 * upstream client context. Problems go to `d`. Returns 0 or -1. */
int gw_tls_snapshot_init(struct pt_snapshot *s, struct gw_diag *d);

/* Free what gw_tls_snapshot_init built (safe on a partly built snapshot). */
void gw_tls_snapshot_free(struct pt_snapshot *s);

/* A client context for https upstreams: TLS 1.2+, server certificate and host name verification
 * on. cert_file/key_file: our client identity (both NULL for none). ca_file: CAs that verify the
 * server (NULL: the system's default store). Returns a new context, or NULL with a message in err. */
SSL_CTX *gw_tls_client_ctx_new(const char *cert_file, const char *key_file, const char *ca_file,
                               char *err, size_t errlen);

#endif
