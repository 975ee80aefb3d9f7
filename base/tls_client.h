/* tls_client.h: TLS for calling out, to https upstreams and to partners (outbound mTLS): a
 * client context with verification on, a connection's SSL with its host name checked, and
 * OpenSSL's error queue as one message. On the ground floor: it knows OpenSSL and nothing of
 * Portico's own, so bundles (partners/) and connectors both build on it. */
#ifndef GW_TLS_CLIENT_H
#define GW_TLS_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

/* A client context: TLS 1.2+, server certificate and host name verification on. cert_file and
 * key_file: our client identity (both NULL for none). ca_file: CAs that verify the server (NULL:
 * the system's default store). Returns a new context, or NULL with a message in err. */
SSL_CTX *gw_tls_client_ctx_new(const char *cert_file, const char *key_file, const char *ca_file,
                               char *err, size_t errlen);

/* A new client-side SSL: SNI set to host (when it is a name), and the server certificate checked
 * against host (name or IP literal). NULL when OpenSSL has no memory. */
SSL *gw_tls_client_ssl(SSL_CTX *ctx, const char *host);

/* The first error of OpenSSL's queue in words ("unknown TLS error" when it is empty) into buf;
 * the queue is cleared. */
void gw_tls_errors(char *buf, size_t len);

#endif
