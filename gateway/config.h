/* config.h: the gateway configuration (portico.json), as loaded and validated.
 *
 * Loaded by gw_config_load() into plain structs owned by the config snapshot (partners/snapshot.h).
 * File paths in the JSON are relative to the directory of portico.json. The JSON format is
 * documented in README.md ("Gateway configuration").
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "audit.h"
#include "cluster_conf.h"
#include "connector.h"
#include "delivery.h"
#include "admin.h"
#include "idempotency.h"
#include "access_log.h"
#include "diag.h"
#include "exchange_t.h"
#include "http_parser.h"
#include "threat_types.h"

struct tf_registry;

struct gw_jsonloc;

enum gw_client_auth {
    GW_CLIENT_AUTH_NONE = 0, /* plain listener, or TLS without asking for a certificate */
    GW_CLIENT_AUTH_OPTIONAL, /* ask; routes that need a partner answer 401 without a good one */
    GW_CLIENT_AUTH_REQUIRE,  /* ask; no verified certificate of a known partner: TLS alert */
};

/* One server certificate of a TLS listener, picked by SNI. */
struct gw_tls_cert {
    char *sni;              /* exact host name, "*.example.com" wildcard, or NULL = default */
    char *cert_file;        /* resolved path, for messages */
    char *key_file;
    X509 *cert;             /* leaf */
    STACK_OF(X509) *chain;  /* intermediates that followed the leaf in cert_file (may be empty) */
    EVP_PKEY *key;
};

struct gw_listener_conf {
    char *address;          /* as written: "127.0.0.1:8443", "[::1]:8443", ":8080" */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int tls;                /* 1 when "tls" is present */
    struct gw_tls_cert *certs;
    size_t ncerts;
    enum gw_client_auth client_auth;
    char *ciphers;          /* TLS 1.2 cipher list (OpenSSL syntax); NULL: GW_TLS_DEFAULT_CIPHERS */
    char *ciphersuites;     /* TLS 1.3 suites; NULL: OpenSSL's */
    char *curves;           /* key exchange groups; NULL: OpenSSL's */
    int ticket_lifetime_s;  /* session (ticket) lifetime, default 300; 0: no session resumption */
    /* built by gw_tls_listener_init() (gateway/tls.h), owned here */
    SSL_CTX **ssl_ctx;      /* one per certificate, same order as certs; [0] used when no SNI */
    const char *file;       /* where it was declared, for messages */
    int line, col;
};

/* A CIDR block of trusted proxies (their X-Forwarded-For / X-Request-Id are kept). */
struct gw_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

struct gw_limits {
    size_t max_header_bytes;  /* default 16384 */
    size_t max_headers;       /* default 100 */
    size_t max_target_bytes;  /* default 8192 */
    uint64_t max_body_bytes;  /* default 10485760 (10 MiB); a partner's limits may lower it */
    size_t max_connections;   /* per worker, default 10000 */
    size_t max_keepalive_requests; /* per client connection, default 10000 */
    size_t upstream_idle_per_host; /* idle pooled upstream connections per worker, default 64 */
    uint64_t max_buffered_body_bytes; /* a body a transform chain holds in memory, default 10 MiB */
    enum gw_http_underscores underscores_in_headers; /* default: drop */
};

struct gw_timeouts { /* milliseconds */
    int client_header_ms;     /* default 10000: first byte to end of head */
    int client_body_ms;       /* default 30000: between two reads of the body */
    int keepalive_ms;         /* default 60000: idle client connection between requests */
    int upstream_connect_ms;  /* default 5000 */
    int upstream_response_ms; /* default 30000: request sent to response head, and between reads */
    int send_ms;              /* default 30000: a write to a client or upstream that makes no progress */
};

/* "reload": how the node follows its configuration files. */
struct gw_reload_conf {
    int watch;              /* reload when a file changes (inotify), default off */
    int debounce_ms;        /* quiet time after the last change before reloading, default 500 */
};

/* "api_keys": how routes with "auth": "key" find and check keys (partners/consumer.h). */
struct gw_api_keys_conf {
    char *secret_file;      /* the HMAC secret keys are hashed under (resolved path), or NULL */
    char *header;           /* the field a key comes in, besides Authorization: Bearer */
    char *store_file;       /* where consumers and keys made at run time are kept (without
                             * cluster.redis), resolved */
};

struct gw_config {
    char *path;             /* the config file as given */
    char *dir;              /* its directory: base for relative paths */
    char *node;             /* node name, default: host name */
    int workers;            /* default: number of CPUs */
    struct gw_listener_conf *listeners;
    size_t nlisteners;
    char *partners_dir;     /* resolved path */
    char *consumers_dir;    /* resolved path */
    struct gw_api_keys_conf api_keys;
    struct gw_redis_conf redis;  /* "cluster": { "redis" } (cluster_conf.h) */
    struct gw_limits limits;
    struct gw_timeouts timeouts;
    struct gw_cidr *trusted_proxies;
    size_t ntrusted_proxies;
    char **nameservers;     /* "resolver": whom names are asked of (none: the system's) */
    size_t nnameservers;
    json_t *routes;         /* shared routes (compiled by the snapshot loader) */
    json_t *audit;          /* raw "audit" object, or NULL: audit off */
    struct au_conf audit_conf; /* the same, checked (audit/audit.h) */
    struct cn_kafka_conf kafka; /* "connectors.kafka", or the audit's brokers (connector.h) */
    struct cn_delivery_conf delivery; /* "connectors.delivery" (delivery.h) */
    struct gw_idem_conf idem;       /* "idempotency" (idempotency.h) */
    struct gw_admin_conf admin;     /* "admin" (admin.h) */
    struct gw_reload_conf reload;   /* "reload" */
    enum gw_log_format log_format;  /* "log_format": the process's log lines (base/log.h) */
    struct gw_access_log_conf access_log; /* "access_log" (access_log.h) */
    json_t *plugins;        /* raw "plugins" array, or NULL */
    struct tf_registry *transforms; /* built-in transforms and those of the plugins */
    struct ex_settings ex;          /* what exchanges' connectors and observers read of it, set
                                     * by the snapshot loader (connectors/exchange_t.h) */
    struct tf_limits tf_limits;     /* threat limits for bodies transforms parse ("limits.xml",
                                     * "limits.json", max_buffered_body_bytes) */
    json_t *root;           /* the whole document */
    struct gw_jsonloc *loc; /* where each value is in the file (json_loc.h), for later messages */
    unsigned char digest[32]; /* SHA-256 over the bytes of every file read (config, PEMs) */
};

/* Load and validate portico.json. Every problem goes to `d` with file:line:column and JSON path.
 * Returns a config (even with errors, as far as it could be read, so that checking can go on)
 * or NULL when the file cannot be read or parsed at all. Free with gw_config_free(). */
struct gw_config *gw_config_load(const char *path, struct gw_diag *d);
void gw_config_free(struct gw_config *c);

/* Parse "host:port", "[v6]:port" or ":port" into a socket address (numeric hosts, or names
 * resolved once with getaddrinfo). Returns 0 or -1 with a message in err. */
int gw_parse_address(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
                     size_t errlen);

/* Load a certificate (leaf, then the chain that follows it in its file) and its key from obj at
 * path ({"cert", "key"}, and "sni" when sni_too) into tc, which gw_tls_cert_clear frees. */
void gw_tls_cert_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                      struct gw_tls_cert *tc, int sni_too);
void gw_tls_cert_clear(struct gw_tls_cert *tc);

/* Is the address in one of the trusted proxy blocks? */
int gw_config_trusted(const struct gw_config *c, const struct sockaddr *sa);

#endif
