/* tls_client_cert.c: give a TLS client that cannot present a certificate one, by LD_PRELOAD.
 *
 * wrk has no option for a client certificate, so on its own it cannot load a listener that
 * requires one. Preloaded, this library wraps the calls that create an SSL_CTX: each new context
 * gets the certificate chain and private key named by BENCH_CLIENT_CERT and BENCH_CLIENT_KEY
 * (PEM files). Without those variables contexts are left alone. When the files cannot be used
 * the context is freed and NULL returned, so that the program stops at start instead of
 * measuring failed handshakes (wrk then prints "unable to initialize SSL").
 *
 * Built by tests/bench/run.sh:
 *   cc -shared -fPIC -O2 -o tls_client_cert.so tls_client_cert.c -ldl -lssl -lcrypto
 *   LD_PRELOAD=$PWD/tls_client_cert.so BENCH_CLIENT_CERT=client.pem BENCH_CLIENT_KEY=client.key \
 *       wrk -t1 -c50 -d10s https://127.0.0.1:8443/tls/orders
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

typedef SSL_CTX *ctx_new_fn(const SSL_METHOD *);
typedef SSL_CTX *ctx_new_ex_fn(OSSL_LIB_CTX *, const char *, const SSL_METHOD *);

/* Load the certificate and key into ctx. Returns ctx, or NULL (ctx freed) when they cannot be
 * used. A second call on the same context (SSL_CTX_new reaching SSL_CTX_new_ex through the
 * wrapper) only loads them again. */
static SSL_CTX *
with_client_cert(SSL_CTX *ctx)
{
    const char *cert = getenv("BENCH_CLIENT_CERT");
    const char *key = getenv("BENCH_CLIENT_KEY");

    if (ctx == NULL || cert == NULL || key == NULL)
        return ctx;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "tls_client_cert: cannot use certificate %s with key %s\n", cert, key);
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Same contract as OpenSSL's SSL_CTX_new, plus the client certificate. */
SSL_CTX *
SSL_CTX_new(const SSL_METHOD *method)
{
    static ctx_new_fn *real;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_CTX_new");
    if (real == NULL)
        return NULL;
    return with_client_cert(real(method));
}

/* Same contract as OpenSSL's SSL_CTX_new_ex, plus the client certificate. */
SSL_CTX *
SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *method)
{
    static ctx_new_ex_fn *real;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_CTX_new_ex");
    if (real == NULL)
        return NULL;
    return with_client_cert(real(libctx, propq, method));
}
