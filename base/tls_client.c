/* tls_client.c: TLS contexts and connections for calling out (see tls_client.h). */
#include "tls_client.h"

#include <arpa/inet.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

void
gw_tls_errors(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(buf, len, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

SSL_CTX *
gw_tls_client_ctx_new(const char *cert_file, const char *key_file, const char *ca_file, char *err,
                      size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *what = "context";

    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    what = ca_file ? ca_file : "the system CA store";
    if (ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                        : SSL_CTX_set_default_verify_paths(ctx) != 1)
        goto fail;
    if (cert_file != NULL) {
        what = cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
            goto fail;
        what = key_file;
        if (key_file == NULL || SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1)
            goto fail;
    }
    return ctx;
fail: {
    char e[200];
    gw_tls_errors(e, sizeof e);
    snprintf(err, errlen, "%s: %s", what ? what : "key", e);
}
    SSL_CTX_free(ctx);
    return NULL;
}

SSL *
gw_tls_client_ssl(SSL_CTX *ctx, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    unsigned char buf[16];
    int is_ip = inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;

    if (ssl == NULL)
        return NULL;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    return ssl;
}
