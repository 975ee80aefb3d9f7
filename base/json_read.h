/* json_read.h: the one JSON reader of the house.
 *
 * A pull reader over JSON text: each gw_json_next call gives the next token (a scalar, the start
 * or the end of a container) with where it starts, and, inside an object, the member's key and
 * where the key starts. It keeps what jansson does not: every number as written ("6.20" stays
 * "6.20", an integer of 40 digits stays whole) and every position. Strings come decoded (pointing
 * into the text when they hold no escape, else copied to memory from the caller's allocator).
 *
 * It is strict (RFC 8259, UTF-8, no NUL, no duplicate key, no number beyond the range of a
 * double) and bounded (depth, entries of one container, string length). Its refusals are the
 * gateway's words for a bad JSON body: "JSON: <what> at line L, column C", one line of valid UTF-8.
 * json_to_xml builds its tree from it, tf_json_check asks it why a body is refused, the JSON
 * body writer pairs jansson's numbers with its literals, and gw_jsonloc records every value's
 * position in a config file.
 */
#ifndef GW_JSON_READ_H
#define GW_JSON_READ_H

#include <stddef.h>

struct gw_json_limits {
    size_t max_depth;      /* container nesting */
    size_t max_entries;    /* members of one object or elements of one array */
    size_t max_string_len; /* one string, keys included, in bytes as written */
};

/* Why the text was refused. */
enum gw_json_refusal {
    GW_JSON_OK = 0,
    GW_JSON_MALFORMED, /* not JSON, bad UTF-8, trailing text */
    GW_JSON_FORBIDDEN, /* duplicate key, \u0000 */
    GW_JSON_LIMIT,     /* a limit above, or a number beyond the range of a double */
};

enum gw_json_type {
    GW_JSON_END = 0, /* the document is complete (and nothing follows it) */
    GW_JSON_NULL,
    GW_JSON_FALSE,
    GW_JSON_TRUE,
    GW_JSON_NUMBER,
    GW_JSON_STRING,
    GW_JSON_OBJECT, /* '{': its members follow, then GW_JSON_CLOSE */
    GW_JSON_ARRAY,  /* '[': its elements follow, then GW_JSON_CLOSE */
    GW_JSON_CLOSE,  /* the end of the innermost open container */
};

struct gw_json_token {
    enum gw_json_type type;
    const char *s; /* STRING: decoded (not NUL-terminated); NUMBER: as written */
    size_t n;
    size_t pos;      /* offset of the token's first byte */
    const char *key; /* a member's value: its key, decoded; NULL elsewhere */
    size_t kn;
    size_t kpos; /* offset of the key's opening quote */
};

/* A key of an open object, kept for the duplicate check when the object closes. */
struct gw_json_key {
    const char *k;
    size_t kn, pos;
};

/* An open container. */
struct gw_json_frame {
    size_t count; /* entries begun */
    size_t kbase; /* its keys start there in keys */
    char close;   /* '}' or ']' */
};

/* The stacks start inside the reader (so a reader is not copied once initialized): a usual
 * document needs no allocation for them. */
#define GW_JSON_FRAMES0 16
#define GW_JSON_KEYS0 64

struct gw_json_reader {
    const char *b;
    size_t len, pos;
    struct gw_json_limits l;
    void *(*alloc)(void *ctx, size_t n); /* decoded strings: never fails, freed by its owner */
    void *ctx;
    struct gw_json_frame *fr; /* open containers */
    size_t depth, fcap;
    struct gw_json_key *keys;
    size_t nkeys, kcap;
    struct gw_json_frame fr0[GW_JSON_FRAMES0];
    struct gw_json_key keys0[GW_JSON_KEYS0];
    int state;
    enum gw_json_refusal why;
    char *err; /* the refusal's message, when not NULL */
    size_t errlen;
};

/* Read text[0..len) under l. Decoded strings are taken from alloc(ctx, n), which must not fail
 * (an arena). err[0..errlen) receives the message of a refusal (err may be NULL). */
void gw_json_reader_init(struct gw_json_reader *r, const char *text, size_t len,
                         const struct gw_json_limits *l, void *(*alloc)(void *ctx, size_t n),
                         void *ctx, char *err, size_t errlen);

/* The next token into *t. Returns its type (GW_JSON_END once the document is complete, and again
 * after), or -1 when the text is refused (r->why and the message say why; -1 again after). */
int gw_json_next(struct gw_json_reader *r, struct gw_json_token *t);

/* Read to the end. Returns 0 when the whole text is accepted, else -1 (r->why). */
int gw_json_skip(struct gw_json_reader *r);

/* Release the reader's stacks (not what alloc gave). */
void gw_json_reader_done(struct gw_json_reader *r);

/* Line and column (1-based, columns in bytes) of offset pos, counting from *from: a cursor that
 * callers asking in increasing order keep between calls (zero it first; it goes back to the start
 * by itself when asked about an earlier offset). */
struct gw_json_cursor {
    size_t pos, line, line_start;
};
void gw_json_line_col(const char *text, size_t len, struct gw_json_cursor *from, size_t pos,
                      size_t *line, size_t *col);

#endif
