/* transform.h: the transform plugin ABI.
 *
 * A transform changes one message of an exchange: the request before it goes upstream, or the
 * response before it goes back to the partner. Routes declare ordered chains of them
 * ("request": [ { "xml_to_json": {...} }, { "json_map": {...} } ]); the chain runner
 * (transforms/chain.c) runs them in that order, never by link order.
 *
 * A transform is a struct tf_ops, a small vtable filled with designated initializers. The same
 * struct serves the built-ins and the external plugins loaded with dlopen (transforms/plugin.c):
 * a plugin exports `const struct tf_ops *const portico_transforms[]`, a NULL-terminated array,
 * and every entry's `abi` must equal TF_ABI_VERSION.
 *
 * Lifecycle:
 *   create   once per chain step, when a configuration is loaded (off the workers): parse and
 *            check the step's JSON config, compile what can be compiled (stylesheets parsed,
 *            paths split, schemas loaded). Problems are reported through tf_conf and make the
 *            whole configuration fail, like any other config error.
 *   apply    once per exchange that reaches the step, on a worker thread, possibly on several
 *            workers at once: the instance is shared and must be treated as read-only.
 *   destroy  when the configuration snapshot that holds the chain is freed.
 *
 * Memory: what apply allocates for the message (a new body, header values) comes from
 * tf_ctx.alloc (the exchange's arena) and is freed with the exchange; things that are not plain
 * memory (xmlDoc, json_t) are freed before apply returns, or registered with tf_ctx.cleanup.
 */
#ifndef TF_TRANSFORM_H
#define TF_TRANSFORM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "threat_types.h"

#define TF_ABI_VERSION 2 /* 2: the body held parsed between steps (forms, body calls); a plugin
                           * built for 1 still loads, and always gets bytes */

/* The forms a message's body is held in between the steps of a chain: bytes (tf_message.body),
 * a JSON document (json_tree.h: numbers kept as written, memory from the exchange's arena) or a
 * libxml2 document. A step gets the form it asks for through tf_ctx's body calls, converted
 * then (parsed under the threat limits, or written); the chain writes the body once, at its
 * end. So an XML body that xml_to_json turns into JSON for json_map is parsed once and written
 * once. */
#define TF_FORM_BYTES 1u
#define TF_FORM_JSON 2u
#define TF_FORM_XML 4u

struct jv;      /* json_tree.h */
struct pt_partner; /* partners/partner.h */
struct _xmlDoc; /* libxml2's xmlDoc */

enum tf_phase { TF_PHASE_REQUEST = 1, TF_PHASE_RESPONSE = 2 };

/* Return convention of apply: < 0 error (tf_ctx says why), 0 skipped (the message is unchanged),
 * > 0 done (the message may have changed). */
#define TF_ERROR (-1)
#define TF_SKIP 0
#define TF_DONE 1

/* A header field of a message under transformation. Not NUL-terminated; may point into the
 * original head or into the arena. */
struct tf_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The message a chain works on: the request (TF_PHASE_REQUEST) or the response. Editable by
 * transforms: status, headers and body. Edit the header list through tf_ctx's functions so that
 * it may grow; drop entries by setting name_len to 0 is not allowed (use header_remove). */
struct tf_message {
    enum tf_phase phase;
    int status;                     /* response phase: the upstream's status (may be changed) */
    struct tf_header *headers;      /* this phase's headers, without hop-by-hop ones */
    size_t nheaders;
    size_t cap;                     /* capacity of headers (grown by tf_ctx.header_add) */
    char *body;                     /* the whole body (buffered by the gateway); may be NULL */
    size_t body_len;
    /* ABI 2: the body held parsed (form TF_FORM_JSON or TF_FORM_XML: body and body_len are then
     * not in use). Read and replace it through tf_ctx's body calls. */
    unsigned form;                  /* TF_FORM_*: the form the body is in now (0: bytes) */
    struct jv *json;                /* TF_FORM_JSON */
    struct _xmlDoc *xml;            /* TF_FORM_XML (freed with the exchange) */
    int json_pretty;                /* written indented at the chain's end */
    void *xml_hold;                 /* the chain's own (who frees xml): not for transforms */
};

/* What a transform sees of the exchange around the message, and how it allocates and fails. */
struct tf_ctx {
    unsigned abi;                   /* TF_ABI_VERSION */
    /* the exchange (all NUL-terminated, read-only; "" when unknown) */
    const char *request_id;
    const char *partner_id;         /* "" for an anonymous caller of a public route */
    const char *partner_name;
    const char *cert_subject;
    const char *route_name;
    const char *method;
    const char *path;               /* the request path, without the query */
    const char *query;              /* after '?', "" when none */
    /* the request's headers as the partner sent them, before any request chain step changed
     * them (in the response phase too: for Accept, say) */
    const struct tf_header *req_headers;
    size_t nreq_headers;
    const struct tf_limits *limits; /* threat limits in force for this exchange */

    /* memory from the exchange's arena: never NULL (aborts on out-of-memory) */
    void *(*alloc)(struct tf_ctx *x, size_t n);
    /* run fn(arg) when the exchange ends */
    void (*cleanup)(struct tf_ctx *x, void (*fn)(void *), void *arg);
    /* header helpers on a message (names compared case-insensitively); values are copied */
    const struct tf_header *(*header_get)(const struct tf_message *m, const char *name);
    void (*header_add)(struct tf_ctx *x, struct tf_message *m, const char *name,
                       const char *value, size_t value_len);
    void (*header_set)(struct tf_ctx *x, struct tf_message *m, const char *name,
                       const char *value, size_t value_len); /* replaces every field of that name */
    size_t (*header_remove)(struct tf_message *m, const char *name); /* returns how many */
    /* Fail the exchange: status (400, 413, 415, 422, 502 ...), a problem code
     * ("urn:portico:problem:<code>"), a detail, and optionally `errors`, a JSON array that goes
     * into the problem body as "errors" (the reference is taken over). Returns TF_ERROR. */
    int (*fail)(struct tf_ctx *x, int status, const char *code, json_t *errors, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

    /* set by fail(); read by the chain runner */
    int err_status;
    const char *err_code;
    char *err_detail;
    json_t *err_errors;
    void *host;                     /* the gateway's own state: not for transforms */
    const char *err_step;           /* set by the chain runner: the name of the step that failed */

    /* ABI 2: the body in the form a step works on, converted now when it is held in another
     * (parsed under the threat limits, or written). NULL after fail(): a request body that is
     * not JSON / XML or too large answers 400 "invalid-body" or 413 "body-too-large", a response
     * body 502 "bad-upstream-response"; `who` (the transform's name) starts the detail. */
    struct jv *(*body_json)(struct tf_ctx *x, struct tf_message *m, const char *who);
    struct _xmlDoc *(*body_xml)(struct tf_ctx *x, struct tf_message *m, const char *who);
    const char *(*body_bytes)(struct tf_ctx *x, struct tf_message *m, size_t *len);
    /* The body is now doc (JSON in the exchange's arena; XML: freed with the exchange). */
    void (*set_json)(struct tf_ctx *x, struct tf_message *m, struct jv *doc, int pretty);
    void (*set_xml)(struct tf_ctx *x, struct tf_message *m, struct _xmlDoc *doc);
    unsigned next_takes;            /* set by the chain runner: the forms the next step on the
                                     * body takes (tf_ops.takes; 0: none comes) */

    /* ABI 2, for the built-in signature steps (jws, xmldsig, http_signature): the calling
     * partner (NULL when none) and every partner of the configuration, whose signing keys
     * (partners/partner.h) verify; opaque to plugins. */
    const struct pt_partner *partner;
    const struct pt_partner *const *partners;
    size_t npartners;
    /* What the steps verified or signed, newest first (in the arena): the audit event's
     * "signatures". Add to it with tf_sig_note (transforms/sig.h). */
    struct tf_signature *signatures;
    /* For http_signature (RFC 9421 @scheme, @target-uri): the request's scheme as the partner
     * used it, "https" on a TLS listener, "http" else ("" when unknown: taken as "https"). */
    const char *scheme;
};

/* A signature a step verified on the message, or made for it. */
struct tf_signature {
    struct tf_signature *next;
    enum tf_phase phase;
    const char *kind;               /* the step: "jws", "xmldsig", "http_signature" */
    int made;                       /* 0: verified (the partner's), 1: made (ours) */
    const char *alg;                /* as the signature names it: "ES256", "ecdsa-p256-sha256",
                                     * the XML-DSig method's URI */
    const char *kid;                /* the key id, or NULL */
    const char *partner;            /* whose key verified it: the partner id; NULL when made */
    char cert_sha256[65];           /* SHA-256 of the signer's certificate (hex), "" for a key
                                     * without one */
    char signed_sha256[65];         /* SHA-256 of the bytes the signature covers (hex) */
};

/* What create gets: the step's configuration and how to report problems in it. */
struct tf_conf {
    unsigned abi;                   /* TF_ABI_VERSION */
    const json_t *config;           /* the step's config value (usually an object) */
    const char *path;               /* its JSON path: "routes[0].request[1].xml_to_json" */
    const char *file;               /* the file it came from */
    const char *dir;                /* the bundle folder: files the config names are relative */
    enum tf_phase phase;            /* the chain it is in */
    const struct tf_limits *limits; /* the gateway's threat limits */
    /* Report a problem at `path` + "." + sub (sub NULL or "": at the config itself; sub may
     * start with '[' for an index). Errors fail the configuration; warnings do not. */
    void (*error)(const struct tf_conf *cc, const char *sub, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    void (*warning)(const struct tf_conf *cc, const char *sub, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Read a file named by the config, relative to dir and confined to it (no absolute names,
     * no ".." out of the bundle). Returns 0 with a malloc'd NUL-terminated buffer, or -1 after
     * reporting at sub. */
    int (*read_file)(const struct tf_conf *cc, const char *sub, const char *name, char **buf,
                     size_t *len);
    void *host;                     /* the loader's own state (built-ins: a struct gw_jctx *) */
};

struct tf_ops {
    unsigned abi;                   /* TF_ABI_VERSION */
    const char *name;               /* the key in a chain step: "xml_to_json" */
    unsigned phases;                /* TF_PHASE_REQUEST | TF_PHASE_RESPONSE: where it may run */
    /* Compile the config. Returns the instance (never NULL on success: return a static
     * non-NULL pointer if there is no state), or NULL after reporting through cc. */
    void *(*create)(const struct tf_conf *cc);
    /* Transform m. See TF_ERROR / TF_SKIP / TF_DONE. */
    int (*apply)(void *inst, struct tf_message *m, struct tf_ctx *x);
    void (*destroy)(void *inst);    /* may be NULL */
    unsigned flags;                 /* TF_FLAG_* */
    /* ABI 2: the forms apply reads the body in (TF_FORM_*; 0: bytes). Before a step that does
     * not take the form the body is held in, the chain writes it as bytes into m->body. */
    unsigned takes;
};

/* The transform never reads nor changes the body (headers, say): a chain made only of such
 * steps lets the body stream through instead of buffering it. */
#define TF_FLAG_NO_BODY 1u

/* Media type helpers on a message's Content-Type: application/xml, text/xml, anything+xml ->
 * xml; application/json, anything+json -> json. They live in the gateway (transforms/context.c)
 * for the built-ins: they are not part of the plugin ABI (a plugin reads Content-Type through
 * tf_ctx.header_get and decides itself). */
int tf_is_xml(const struct tf_message *m, const struct tf_ctx *x);
int tf_is_json(const struct tf_message *m, const struct tf_ctx *x);
/* Does Content-Type value (not NUL-terminated) name an XML / JSON media type? */
int tf_media_is_xml(const char *v, size_t n);
int tf_media_is_json(const char *v, size_t n);

#endif
