/* partner.h: a partner, its routes and their upstreams, as loaded from a bundle.
 *
 * A bundle is partners_dir/<id>/partner.json plus the PEM files it names; the format is in
 * partners/README.md. Everything here is immutable once the snapshot is built.
 */
#ifndef PT_PARTNER_H
#define PT_PARTNER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "json_pointer.h"
#include "limit_spec.h"

struct pt_partner;
struct tf_chain;
struct au_capture;
struct cn_ops;
struct pt_upset;
struct pt_plan;

enum pt_upstream_kind { PT_UP_HTTP, PT_UP_HTTPS, PT_UP_KAFKA, PT_UP_MOCK, PT_UP_DELIVERIES };

struct pt_upstream {
    char *url;               /* as configured */
    enum pt_upstream_kind kind;
    char *host;              /* host part (name or literal), for Host, SNI and verification */
    uint16_t port;
    char *hostport;          /* "host:port" or "host" when the port is the scheme default */
    char *path;              /* path part of the URL, "" when none (then the request path is kept) */
    struct sockaddr_storage addr; /* resolved at load; a set's named target again later: read it
                                   * with pt_upstream_addr */
    socklen_t addrlen;
    _Atomic unsigned addr_gen;    /* changes with addr (odd while it is being written) */
    SSL_CTX *ssl_ctx;        /* https: client context (borrowed: owned by the partner or snapshot) */
    char *target;            /* kafka: topic; mock: the rest after "mock:" */
};

enum pt_path_match { PT_PATH_EXACT, PT_PATH_PREFIX };

/* Who may use a route. */
enum pt_route_access {
    PT_ACCESS_OWNER,   /* a bundle's route: only the partner that declares it */
    PT_ACCESS_LIST,    /* a shared route listing partner ids */
    PT_ACCESS_ANY,     /* a shared route: any identified partner ("partners": "*") */
    PT_ACCESS_PUBLIC,  /* a shared route with "public": true: no partner needed */
};

/* A route's "idempotency": its idempotent receiver (route_idempotency.c; the gateway keeps the
 * answers, gateway/idempotency.c). */
struct pt_idem {
    char *key;               /* as written: "field:NAME" or "pointer:/json/pointer" */
    char *field;             /* the id's request field, or NULL: */
    struct gw_jptr pointer;  /* ... the place of a string (or integer) in the JSON body */
    int64_t window_ms;       /* how long the first answer is given back to repeats */
    int wait_ms;             /* a repeat while the first is under way waits this long, then 409 */
    int64_t max_answer_bytes;/* an answer body larger than this is not kept (nor the id) */
};

/* How a route's caller is identified ("auth"): bits. */
enum { PT_AUTH_MTLS = 1, PT_AUTH_KEY = 2 };

struct pt_route {
    char *name;
    unsigned auth;           /* PT_AUTH_* bits: who may be the caller (a public route: none) */
    unsigned methods;        /* GW_METHOD_BIT set (base/http_parser.h); 0 = every method */
    char *host;              /* lower-case host without port; NULL = any host */
    char *path;              /* without the trailing '*' of a prefix route */
    size_t path_len;
    enum pt_path_match match;
    struct pt_upstream upstream;   /* a URL; for a set, its name (kind: its first target's) */
    struct pt_upset *upset;          /* the upstream set it names (upstream_set.h), or NULL */
    const struct cn_ops *connector;  /* what reaches the upstream (connectors/connector.h), set at
                                      * load by struct pt_load_conf's upstream_compile */
    void *cn_conf;                   /* what the connector compiled of the route, or NULL */
    int whole_body;                  /* the request body is read whole first (kafka, async,
                                      * idempotency) */
    struct pt_idem *idem;            /* "idempotency", or NULL */
    struct pt_limits limits;         /* "limits": the route's traffic, whoever calls it */
    void (*cn_conf_free)(void *);
    int timeout_ms;          /* 0: the gateway's upstream_response_ms */
    /* "retries" of a route naming a set (its fields are named as its keys) */
    unsigned attempts;       /* tries in all (0: the set's) */
    int try_timeout_ms;      /* a try's time to answer before the next (0: timeout_ms) */
    uint64_t replay_max;     /* a request body up to this size is kept for a retry (0: none) */
    enum pt_route_access access;
    const struct pt_partner *owner; /* PT_ACCESS_OWNER */
    char **partners;         /* PT_ACCESS_LIST: partner ids */
    size_t npartners;
    struct tf_chain *request;  /* transform chains (transforms/chain.h), NULL when none: then */
    struct tf_chain *response; /* the calling partner's default chain applies, if it has one */
    struct au_capture *capture; /* the route's audit capture (audit/capture.h); NULL: digest */
    void (*capture_free)(struct au_capture *); /* how it is freed (struct pt_load_conf) */
    const char *file;        /* where it was declared, for messages */
    int line, col;
    char *jpath;             /* its JSON path there ("routes[2]"), for messages */
};

/* A key a partner signs its messages with ("signing", partners/bundle_signing.c): a
 * certificate's, a bare public key, or a secret shared for HMAC. The signature steps
 * (transforms/sig.h) verify with them. */
struct pt_sign_key {
    char *kid;               /* its key id ("kid", HTTP signatures' "keyid"), or NULL */
    X509 *cert;              /* the certificate, or NULL */
    EVP_PKEY *pub;           /* its public key (the certificate's, or a PEM public key); NULL for
                              * a secret */
    int type, curve;         /* pub's kind, found at load (pt_key_kind): EVP_PKEY_RSA, ..., and
                              * for EC its curve's NID; 0 for a secret */
    unsigned char *secret;   /* an HMAC secret, or NULL */
    size_t secret_len;
    char sha256[65];         /* SHA-256 (hex) of the certificate's DER, of the public key's
                              * (SubjectPublicKeyInfo) without one; "" for a secret */
    unsigned char x5t[32];   /* the same digest as bytes (JWS "x5t#S256") */
};

struct pt_partner {
    char *id;
    char *name;
    char *dir;               /* the bundle folder */
    char *file;              /* its partner.json */
    /* identity: the CA(s) that must anchor the client chain, plus constraints (all that are
     * configured must hold) */
    STACK_OF(X509) *cas;
    unsigned char (*ca_fps)[32]; /* SHA-256 of each CA's DER, same order as cas */
    STACK_OF(X509_CRL) *crls;
    char *subject;           /* RFC 2253 string, exact match, or NULL */
    char **san;              /* DNS names or URIs; the certificate must carry at least one */
    size_t nsan;
    unsigned char (*fingerprints)[32]; /* pinned SHA-256 of the client certificate DER */
    size_t nfingerprints;
    struct pt_sign_key *sign_keys; /* "signing": the keys its signatures verify with */
    size_t nsign_keys;
    /* outbound: what we present when we call this partner's https upstreams */
    SSL_CTX *outbound_ctx;   /* NULL when no outbound section (then the snapshot's default ctx) */
    /* limits that override the gateway's */
    uint64_t max_body_bytes; /* 0 = gateway default */
    struct pt_limits limits; /* its traffic, whatever route it calls: its plan's limits, with
                              * its own "limits" over them */
    const struct pt_plan *plan; /* "plan" (consumer.h), or NULL */
    /* "transforms": the chains for this partner's calls of routes that declare none */
    struct tf_chain *default_request;
    struct tf_chain *default_response;
    struct pt_route **routes;
    size_t nroutes;
    struct pt_upset **upsets; /* "upstreams": its own sets, for its routes (upstream_set.h) */
    size_t nupsets;
};

#endif
