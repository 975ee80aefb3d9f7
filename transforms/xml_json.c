/* xml_json.c: the xml_to_json and json_to_xml transforms (see xml_json.h for the convention,
 * xml_json_conf.c for their configuration).
 *
 * xml_to_json walks the libxml2 tree tf_xml_parse built and writes JSON text straight into the
 * exchange's arena (no jansson tree, no json_dumps). json_to_xml parses JSON with its own small
 * parser, not jansson, because jansson turns numbers into doubles: "6.20" would come out "6.2"
 * and big integers would be refused. The parser keeps every number as written, and applies the
 * same limits and refusals as tf_json_parse; its messages are the ones every JSON refusal of the
 * gateway gives (tf_json_check).
 */
#include "xml_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "json_read.h"
#include "text.h"
#include "xml_util.h"

/* ---- output buffer in the arena ------------------------------------------------------------ */

/* The output: a buffer in x's arena whose ceiling is the body limit (beyond it the conversion
 * stops and reports). */
static void
out_init(struct gw_buf *o, struct tf_ctx *x, size_t hint)
{
    uint64_t max = x->limits != NULL ? x->limits->max_body : (10u << 20);

    tf_arena_buf(o, x, max > SIZE_MAX / 4 ? SIZE_MAX / 4 : (size_t)max, hint < 256 ? 256 : hint);
}

/* Scratch memory from the output's arena. */
static void *
out_alloc(struct gw_buf *o, size_t n)
{
    return o->alloc(o->ctx, n);
}

static void
out_indent(struct gw_buf *o, int depth)
{
    gw_buf_addc(o, '\n');
    for (int i = 0; i < depth; i++)
        gw_buf_add(o, "  ", 2);
}

static char *
out_finish(struct gw_buf *o, size_t *len)
{
    *len = o->len;
    return gw_buf_str(o);
}

/* ---- UTF-8 and XML names ------------------------------------------------------------------- */

/* The code point at s[*i] (valid UTF-8 assumed), advancing *i. */
static uint32_t
utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    uint32_t c = s[*i];
    size_t k = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;

    if (k > 0)
        c &= 0x3F >> k;
    (*i)++;
    while (k-- > 0 && *i < n)
        c = (c << 6) | (s[(*i)++] & 0x3F);
    return c;
}

/* XML 1.0 (fifth edition) NameStartChar, without ':' (namespaces give it a meaning). */
static int
name_start(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
           (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
           (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
           (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
           (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0xEFFFF);
}

static int
name_char(uint32_t c)
{
    return name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
           (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/* The value of an uppercase hex digit (the escapes are written in uppercase), or -1. */
static int
upper_hexval(char c)
{
    return c >= 'a' && c <= 'f' ? -1 : gw_hexval(c);
}

/* Does s[i..n) start with an escape: "_x" + 4 uppercase hex digits + "_" (a code point below
 * U+10000, not 0, not a surrogate) or "_x" + 8 digits + "_" (U+10000 to U+10FFFF)? Returns its
 * length with the code point in *cp, or 0. */
static size_t
escape_at(const char *s, size_t n, size_t i, uint32_t *cp)
{
    static const size_t digits[] = { 4, 8 };

    if (i + 2 >= n || s[i] != '_' || s[i + 1] != 'x')
        return 0;
    for (size_t d = 0; d < 2; d++) {
        size_t k = digits[d], j;
        uint32_t c = 0;

        if (i + 3 + k > n || s[i + 2 + k] != '_')
            continue;
        for (j = 0; j < k && upper_hexval(s[i + 2 + j]) >= 0; j++)
            c = c << 4 | (uint32_t)upper_hexval(s[i + 2 + j]);
        if (j < k)
            continue;
        if (k == 4 && (c == 0 || (c >= 0xD800 && c <= 0xDFFF)))
            continue;
        if (k == 8 && (c < 0x10000 || c > 0x10FFFF))
            continue;
        *cp = c;
        return 3 + k;
    }
    return 0;
}

static int
must_escape(uint32_t c, int at_start)
{
    return c == ':' || !(at_start ? name_start(c) : name_char(c));
}

/* Is the '_' at key[i] to be written _x005F_, because what follows it in the output would read
 * as an escape? The output after it starts with key[i+1..] as written: an escape there starts
 * with '_' exactly when key has '_' or a character that must be escaped. */
static int
underscore_escaped(const char *key, size_t n, size_t i)
{
    static const size_t digits[] = { 4, 8 };

    if (i == 0 && n == 3 && memcmp(key, "_x_", 3) == 0)
        return 1;
    for (size_t d = 0; d < 2; d++) {
        size_t k = digits[d], j = i + 2 + k;
        char probe[12];
        uint32_t cp;

        if (j >= n || key[i + 1] != 'x')
            continue;
        memcpy(probe, key + i, 2 + k);
        probe[2 + k] = '_';
        if (escape_at(probe, 3 + k, 0, &cp) == 0)
            continue;
        if (key[j] == '_' || must_escape(utf8_next((const unsigned char *)key, n, &j), 0))
            return 1;
    }
    return 0;
}

static size_t
put_bytes(char *out, size_t outlen, size_t at, const char *s, size_t n)
{
    for (size_t k = 0; k < n && at + k + 1 < outlen; k++)
        out[at + k] = s[k];
    return at + n;
}

size_t
tf_xj_name_encode(const char *key, size_t klen, char *out, size_t outlen)
{
    size_t i = 0, o = 0;
    char esc[16];

    if (klen == 0)
        o = put_bytes(out, outlen, 0, "_x_", 3);
    while (i < klen) {
        size_t start = i;
        uint32_t c = utf8_next((const unsigned char *)key, klen, &i);

        if (c == '_' && underscore_escaped(key, klen, start)) {
            o = put_bytes(out, outlen, o, "_x005F_", 7);
        } else if (c != '_' && must_escape(c, start == 0)) {
            int e = snprintf(esc, sizeof esc, c > 0xFFFF ? "_x%08X_" : "_x%04X_", (unsigned)c);
            o = put_bytes(out, outlen, o, esc, (size_t)e);
        } else {
            o = put_bytes(out, outlen, o, key + start, i - start);
        }
    }
    if (outlen > 0)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

size_t
tf_xj_name_decode(const char *name, size_t nlen, char *out, size_t outlen)
{
    size_t i = 0, o = 0, k;
    uint32_t cp;
    char u[4];

    if (nlen == 3 && memcmp(name, "_x_", 3) == 0)
        nlen = 0;
    while (i < nlen) {
        if (name[i] == '_' && (k = escape_at(name, nlen, i, &cp)) > 0) {
            o = put_bytes(out, outlen, o, u, gw_utf8_put(cp, u));
            i += k;
        } else {
            o = put_bytes(out, outlen, o, name + i, 1);
            i++;
        }
    }
    if (outlen > 0)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

/* ---- scalars ------------------------------------------------------------------------------- */

int
tf_xj_number_ok(const char *s, size_t n)
{
    size_t i = 0, sig = 0;
    int nonzero = 0, frac = 0;

    if (n == 0 || n > 32)
        return 0;
    if (s[0] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9' || (s[i] == '0' && i + 1 < n && s[i + 1] != '.'))
        return 0;
    for (; i < n; i++) {
        if (s[i] == '.' && !frac && i + 1 < n) {
            frac = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return 0;
        nonzero |= s[i] != '0';
        sig += nonzero;
    }
    if (frac && s[n - 1] == '0')
        return 0; /* 6.20: the trailing zero would be lost */
    if (!nonzero && s[0] == '-')
        return 0; /* -0 */
    if (sig <= 15)
        return 1;
    /* an integer of 16 digits is exact up to 2^53 */
    return !frac && sig == 16 && memcmp(s + (s[0] == '-'), "9007199254740992", 16) <= 0;
}

static int
is_bool(const char *s, size_t n)
{
    return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0);
}

/* ---- the prefixes json_to_xml chooses ------------------------------------------------------ */

/* "pj" is 0, "pj1" to "pj31" are 1 to 31 (the same for "xsi"); anything else -1. */
static int
prefix_index(const char *base, const char *p, size_t n)
{
    size_t bl = strlen(base);
    int i = 0;

    if (n < bl || memcmp(p, base, bl) != 0 || (n > bl && p[bl] == '0') || n > bl + 2)
        return -1;
    for (size_t k = bl; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        i = i * 10 + (p[k] - '0');
    }
    return i < 32 ? i : -1;
}

/* base ("pj" or "xsi") and i as a prefix that lives as long as the process (scopes keep it). */
static const char *
prefix_name(const char *base, int i)
{
#define P10(b, d) b d "0", b d "1", b d "2", b d "3", b d "4", b d "5", b d "6", b d "7", b d "8", b d "9"
    static const char *const pj[32] = { "pj", "pj1", "pj2", "pj3", "pj4", "pj5", "pj6", "pj7",
                                        "pj8", "pj9", P10("pj", "1"), P10("pj", "2"),
                                        "pj30", "pj31" };
    static const char *const xsi[32] = { "xsi", "xsi1", "xsi2", "xsi3", "xsi4", "xsi5", "xsi6",
                                         "xsi7", "xsi8", "xsi9", P10("xsi", "1"),
                                         P10("xsi", "2"), "xsi30", "xsi31" };
#undef P10
    return strcmp(base, "pj") == 0 ? pj[i & 31] : xsi[i & 31];
}

/* ---- path lookups -------------------------------------------------------------------------- */

static int
key_is(const char *k, const char *key, size_t n)
{
    return strncmp(k, key, n) == 0 && k[n] == '\0';
}

/* The flags of member key[0..n) under trie node t (NULL: off the configured paths), and the
 * member's own trie node in *kid. */
static unsigned
key_flags(const struct tf_xj *c, const struct tf_xj_path *t, const char *key, size_t n,
          const struct tf_xj_path **kid)
{
    const struct tf_xj_path *k = NULL;
    unsigned f = 0;

    for (size_t i = 0; t != NULL && i < t->nkids && k == NULL; i++)
        if (key_is(t->kids[i].key, key, n))
            k = &t->kids[i];
    if (k != NULL)
        f = k->flags;
    for (size_t i = 0; i < c->nnames; i++)
        if (key_is(c->names[i].key, key, n))
            f |= c->names[i].flags;
    if (kid != NULL)
        *kid = k;
    return f;
}

/* ==== xml_to_json ============================================================================ */

enum item_kind { IT_ELEM, IT_TEXT, IT_COMMENT };

struct item {
    xmlNodePtr node;   /* the element, the comment, or the first node of a text run */
    uint32_t group;
};

struct group {
    xmlNodePtr first;
    const char *prefix; /* of the key (elements) */
    const xmlChar *name;
    size_t count, first_item;
    int kind;
    int array_mark;     /* 1: a pj:array="true" member; 2: pj:array="empty" */
};

/* Scratch reused by every element at one depth (a child works one level down). */
struct frame {
    struct item *items;
    size_t icap;
    struct group *groups;
    size_t gcap;
    uint32_t *hash;     /* group index + 1, open addressing; used past a few groups */
    size_t hcap;
};

struct xj {
    const struct tf_xj *c;
    struct gw_buf o;
    struct frame *frames;
    size_t nframes;
    char *kbuf;         /* the key being written */
    size_t kcap;
    int depth;          /* for indentation */
    size_t level;       /* element nesting: the frame in use */
    xmlNsPtr last_ns;   /* map lookups: the last namespace and its prefix */
    const char *last_prefix;
};

/* What an element carries besides its children. */
enum pj_type { PJ_NONE, PJ_OBJECT, PJ_ARRAY, PJ_NUMBER, PJ_BOOLEAN, PJ_STRING };

struct einfo {
    enum pj_type type;
    int wrapper, nil;
    size_t nattrs, ndecls;
    int elem_content;   /* element (or kept comment) children: whitespace text is dropped */
    int has_text;
};

static int
is_ns(const xmlNs *ns, const char *uri)
{
    return ns != NULL && ns->href != NULL && strcmp((const char *)ns->href, uri) == 0;
}

static int
is_ws(const xmlChar *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static int
is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

/* Nodes a text run goes over: texts, and comments or PIs that are not kept. */
static int
in_run(const struct xj *w, const xmlNode *n)
{
    return is_text(n) || n->type == XML_PI_NODE ||
           (n->type == XML_COMMENT_NODE && !w->c->comments);
}

static const char *
attr_value(const xmlAttr *a)
{
    const xmlNode *t = a->children;

    return t != NULL && is_text(t) && t->next == NULL && t->content ? (const char *)t->content
                                                                    : NULL;
}

static char *
key_room(struct xj *w, size_t n)
{
    if (n > w->kcap) {
        w->kcap = n * 2;
        w->kbuf = gw_xrealloc(w->kbuf, w->kcap);
    }
    return w->kbuf;
}

/* The prefix a namespace gets in keys, by mode (NULL: none). */
static const char *
ns_prefix(struct xj *w, xmlNsPtr ns)
{
    const struct tf_xj *c = w->c;

    if (ns == NULL || c->ns == TF_XJ_NS_STRIP)
        return NULL;
    if (c->ns == TF_XJ_NS_KEEP)
        return (const char *)ns->prefix;
    if (ns != w->last_ns) {
        w->last_ns = ns;
        w->last_prefix = (const char *)ns->prefix;
        for (size_t i = 0; i < c->nmap; i++)
            if (is_ns(ns, c->map[i].uri))
                w->last_prefix = c->map[i].prefix[0] ? c->map[i].prefix : NULL;
    }
    return w->last_prefix;
}

/* Build lead + [prefix ":"] name (each unescaped) in w->kbuf; returns it. */
static const char *
make_key(struct xj *w, const char *lead, const char *prefix, const char *name)
{
    size_t ll = strlen(lead), pl = prefix ? strlen(prefix) : 0, nl = strlen(name), k;
    char *b = key_room(w, ll + pl + nl + 3);

    memcpy(b, lead, ll);
    k = ll;
    if (prefix != NULL) {
        k += tf_xj_name_decode(prefix, pl, b + k, pl + 1);
        b[k++] = ':';
    }
    k += tf_xj_name_decode(name, nl, b + k, nl + 1);
    b[k] = '\0';
    return b;
}

static void
write_key(struct xj *w, const char *key, int *first)
{
    if (!*first)
        gw_buf_addc(&w->o, ',');
    *first = 0;
    if (w->c->pretty)
        out_indent(&w->o, w->depth);
    gw_json_str(&w->o, key, strlen(key), 0);
    gw_buf_add(&w->o, ": ", w->c->pretty ? 2 : 1);
}

/* A scalar: typed when a marker or the path asks and nothing is lost, else a string. */
static void
write_scalar(struct xj *w, const char *s, size_t n, unsigned flags, enum pj_type type)
{
    int raw;

    if (type == PJ_NUMBER)
        raw = gw_json_number_ok(s, n);
    else if (type == PJ_BOOLEAN)
        raw = is_bool(s, n);
    else if (type == PJ_STRING)
        raw = 0;
    else
        raw = ((flags & TF_XJ_NUMBER) && tf_xj_number_ok(s, n)) ||
              ((flags & TF_XJ_BOOLEAN) && is_bool(s, n));
    if (raw)
        gw_buf_add(&w->o, s, n);
    else
        gw_json_str(&w->o, s, n, 0);
}

/* The text run starting at n, as one value. */
static void
write_text_run(struct xj *w, xmlNodePtr n, unsigned flags, enum pj_type type)
{
    xmlNodePtr k;
    size_t total = 0, parts = 0;
    char *buf;

    for (k = n; k != NULL && in_run(w, k); k = k->next)
        if (is_text(k) && k->content != NULL) {
            total += strlen((const char *)k->content);
            parts++;
        }
    if (parts <= 1) {
        for (k = n; k != NULL && in_run(w, k) && !(is_text(k) && k->content != NULL);)
            k = k->next;
        const char *s = k != NULL && is_text(k) && k->content ? (const char *)k->content : "";
        write_scalar(w, s, strlen(s), flags, type);
        return;
    }
    buf = out_alloc(&w->o, total + 1);
    total = 0;
    for (k = n; k != NULL && in_run(w, k); k = k->next)
        if (is_text(k) && k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            memcpy(buf + total, k->content, l);
            total += l;
        }
    write_scalar(w, buf, total, flags, type);
}

static enum pj_type
pj_type_of(const char *v)
{
    static const char *const names[] = { "", "object", "array", "number", "boolean", "string" };

    for (int i = 1; i < 6; i++)
        if (strcmp(v, names[i]) == 0)
            return (enum pj_type)i;
    return PJ_NONE;
}

/* Would this namespace declaration go to JSON? Not those json_to_xml adds by itself (pj, xsi
 * under its usual prefix), nor mapped ones (the map declares them again), nor any when
 * stripping. */
static int
decl_kept(const struct xj *w, const xmlNs *ns)
{
    if (w->c->ns == TF_XJ_NS_STRIP || is_ns(ns, TF_XJ_NS))
        return 0;
    if (ns->prefix != NULL && is_ns(ns, TF_XJ_XSI) &&
        prefix_index("xsi", (const char *)ns->prefix, strlen((const char *)ns->prefix)) >= 0)
        return 0;
    if (w->c->ns == TF_XJ_NS_MAP)
        for (size_t i = 0; i < w->c->nmap; i++)
            if (is_ns(ns, w->c->map[i].uri))
                return 0;
    return 1;
}

static void
scan_attrs(const struct xj *w, xmlNodePtr e, struct einfo *in)
{
    for (xmlAttrPtr a = e->properties; a != NULL; a = a->next) {
        const char *v = attr_value(a);

        if (is_ns(a->ns, TF_XJ_NS)) {
            if (v == NULL)
                continue;
            if (strcmp((const char *)a->name, "type") == 0)
                in->type = pj_type_of(v);
            else if (strcmp((const char *)a->name, "wrapper") == 0)
                in->wrapper = 1;
            continue;
        }
        /* null only for what json_to_xml writes back the same: xsi:nil="true" (xsi1..) */
        if (is_ns(a->ns, TF_XJ_XSI) && strcmp((const char *)a->name, "nil") == 0 && v != NULL &&
            strcmp(v, "true") == 0 && a->ns->prefix != NULL &&
            prefix_index("xsi", (const char *)a->ns->prefix,
                         strlen((const char *)a->ns->prefix)) >= 0)
            in->nil = 1;
        in->nattrs++;
    }
    for (xmlNsPtr ns = e->nsDef; ns != NULL; ns = ns->next)
        in->ndecls += decl_kept(w, ns);
}

static void
scan_elem(const struct xj *w, xmlNodePtr e, struct einfo *in)
{
    memset(in, 0, sizeof *in);
    scan_attrs(w, e, in);
    for (xmlNodePtr k = e->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE || (k->type == XML_COMMENT_NODE && w->c->comments))
            in->elem_content = 1;
        else if (is_text(k) && k->content != NULL && k->content[0] != '\0')
            in->has_text = 1; /* an empty CDATA section is no text: <c><![CDATA[]]></c> is <c/> */
    }
}

static struct frame *
frame_at(struct xj *w, size_t d)
{
    if (d >= w->nframes) {
        size_t n = d + 8;
        w->frames = gw_xrealloc(w->frames, n * sizeof *w->frames);
        memset(w->frames + w->nframes, 0, (n - w->nframes) * sizeof *w->frames);
        w->nframes = n;
    }
    return &w->frames[d];
}

/* ---- grouping children by key ---- */

struct grouping {
    struct item *items;
    size_t nitems;
    struct group *groups;
    size_t ngroups;
    int contiguous;
};

static int
same_key(const struct group *g, int kind, const char *prefix, const xmlChar *name)
{
    if (g->kind != kind)
        return 0;
    if (kind != IT_ELEM)
        return 1;
    if (g->name != name && strcmp((const char *)g->name, (const char *)name) != 0)
        return 0;
    return g->prefix == prefix || (g->prefix && prefix && strcmp(g->prefix, prefix) == 0);
}

static uint32_t
key_hash(int kind, const char *prefix, const xmlChar *name)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;

    for (const char *p = prefix ? prefix : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const xmlChar *p = name ? name : BAD_CAST ""; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void
hash_insert(struct frame *f, const struct group *groups, size_t gi)
{
    const struct group *g = &groups[gi];
    size_t m = f->hcap - 1, h = key_hash(g->kind, g->prefix, g->name) & m;

    while (f->hash[h] != 0)
        h = (h + 1) & m;
    f->hash[h] = (uint32_t)gi + 1;
}

static void
hash_rebuild(struct frame *f, const struct group *groups, size_t ngroups)
{
    if (f->hcap < ngroups * 2) {
        size_t cap = 64;
        while (cap < ngroups * 4)
            cap *= 2;
        free(f->hash);
        f->hash = gw_xmalloc(cap * sizeof *f->hash);
        f->hcap = cap;
    }
    memset(f->hash, 0, f->hcap * sizeof *f->hash);
    for (size_t i = 0; i < ngroups; i++)
        hash_insert(f, groups, i);
}

#define LINEAR_GROUPS 8

static size_t
find_group(struct frame *f, struct grouping *gr, int kind, const char *prefix,
           const xmlChar *name)
{
    if (gr->ngroups <= LINEAR_GROUPS) {
        for (size_t i = 0; i < gr->ngroups; i++)
            if (same_key(&gr->groups[i], kind, prefix, name))
                return i;
        return SIZE_MAX;
    }
    size_t m = f->hcap - 1, h = key_hash(kind, prefix, name) & m;
    for (; f->hash[h] != 0; h = (h + 1) & m)
        if (same_key(&gr->groups[f->hash[h] - 1], kind, prefix, name))
            return f->hash[h] - 1;
    return SIZE_MAX;
}

static size_t
add_group(struct frame *f, struct grouping *gr, int kind, const char *prefix, xmlNodePtr n)
{
    size_t gi = gr->ngroups++;

    if (gr->ngroups > f->gcap) {
        f->gcap = gr->ngroups * 2;
        f->groups = gw_xrealloc(f->groups, f->gcap * sizeof *f->groups);
        gr->groups = f->groups;
    }
    gr->groups[gi] = (struct group){
        .first = n, .prefix = prefix, .name = kind == IT_ELEM ? n->name : NULL,
        .kind = kind, .first_item = gr->nitems,
    };
    if (gr->ngroups == LINEAR_GROUPS + 1)
        hash_rebuild(f, gr->groups, gr->ngroups);
    else if (gr->ngroups > LINEAR_GROUPS + 1) {
        if (gr->ngroups * 2 > f->hcap)
            hash_rebuild(f, gr->groups, gr->ngroups);
        else
            hash_insert(f, gr->groups, gi);
    }
    return gi;
}

static void
add_item(struct xj *w, struct frame *f, struct grouping *gr, int kind, xmlNodePtr n)
{
    const char *prefix = kind == IT_ELEM ? ns_prefix(w, n->ns) : NULL;
    const xmlChar *name = kind == IT_ELEM ? n->name : NULL;
    size_t last = gr->nitems ? gr->items[gr->nitems - 1].group : SIZE_MAX, gi;

    if (last != SIZE_MAX && same_key(&gr->groups[last], kind, prefix, name))
        gi = last;
    else if ((gi = find_group(f, gr, kind, prefix, name)) != SIZE_MAX)
        gr->contiguous = 0;
    else
        gi = add_group(f, gr, kind, prefix, n);
    if (gr->nitems == f->icap) {
        f->icap = f->icap ? f->icap * 2 : 16;
        f->items = gw_xrealloc(f->items, f->icap * sizeof *f->items);
        gr->items = f->items;
    }
    gr->items[gr->nitems++] = (struct item){ .node = n, .group = (uint32_t)gi };
    gr->groups[gi].count++;
}

/* What makes an element's key an array: pj:array="true" (1), pj:array="empty" (2); and
 * pj:type="array" (1): json_to_xml writes an array value only as an item of an array, so the key
 * must be an array for the value to stay one. 0: nothing. */
static int
array_mark(const xmlNode *e)
{
    int mark = 0;

    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        const char *v = attr_value(a);
        if (!is_ns(a->ns, TF_XJ_NS) || v == NULL)
            continue;
        if (strcmp((const char *)a->name, "array") == 0) {
            int m = strcmp(v, "empty") == 0 ? 2 : 1;
            mark = m > mark ? m : mark;
        } else if (strcmp((const char *)a->name, "type") == 0 && strcmp(v, "array") == 0 && !mark)
            mark = 1;
    }
    return mark;
}

/* Collect the children of one element (or the document) into items and groups. */
static void
collect(struct xj *w, size_t d, xmlNodePtr first, int elem_content, struct grouping *gr)
{
    struct frame *f = frame_at(w, d);
    xmlNodePtr n = first;

    *gr = (struct grouping){ .items = f->items, .groups = f->groups, .contiguous = 1 };
    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE) {
            add_item(w, f, gr, IT_ELEM, n);
            int mark = array_mark(n);
            if (mark > gr->groups[gr->items[gr->nitems - 1].group].array_mark)
                gr->groups[gr->items[gr->nitems - 1].group].array_mark = mark;
            n = n->next;
        } else if (n->type == XML_COMMENT_NODE && w->c->comments) {
            add_item(w, f, gr, IT_COMMENT, n);
            n = n->next;
        } else if (is_text(n)) {
            xmlNodePtr start = n;
            int ws = 1;
            for (; n != NULL && in_run(w, n); n = n->next)
                if (is_text(n) && n->content != NULL && !is_ws(n->content))
                    ws = 0;
            if (!(elem_content && ws))
                add_item(w, f, gr, IT_TEXT, start);
        } else {
            n = n->next;
        }
    }
}

/* ---- values ---- */

static void write_elem_value(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t,
                             unsigned flags);

static void
write_item(struct xj *w, const struct item *it, int kind, const struct tf_xj_path *t,
           unsigned flags, unsigned own_flags)
{
    if (kind == IT_ELEM)
        write_elem_value(w, it->node, t, flags);
    else if (kind == IT_TEXT)
        write_text_run(w, it->node, own_flags, PJ_NONE);
    else
        gw_json_str(&w->o, (const char *)it->node->content,
                    it->node->content ? strlen((const char *)it->node->content) : 0, 0);
}

static const char *
group_key(struct xj *w, const struct group *g)
{
    if (g->kind == IT_TEXT)
        return w->c->text_key;
    if (g->kind == IT_COMMENT)
        return "#comment";
    return make_key(w, "", g->prefix, (const char *)g->name);
}

/* One group as a member: its key, then its value or the array of its values. */
static void
write_group(struct xj *w, const struct grouping *gr, size_t gi, const struct tf_xj_path *t,
            unsigned own_flags, int doc, int *first)
{
    const struct group *g = &gr->groups[gi];
    const struct tf_xj_path *kid = NULL;
    const char *key = group_key(w, g);
    unsigned flags = g->kind == IT_ELEM ? key_flags(w->c, t, key, strlen(key), &kid) : 0;
    /* the root element is one: never an array (json_to_xml would have to wrap it) */
    int mark = doc ? 0 : g->array_mark;
    int array = g->count > 1 || (!doc && (flags & TF_XJ_ARRAY)) || mark;
    size_t left = g->count;

    write_key(w, key, first);
    if (g->count == 1 && mark == 2) {
        gw_buf_add(&w->o, "[]", 2);
        return;
    }
    if (array) {
        gw_buf_addc(&w->o, '[');
        w->depth++;
    }
    for (size_t i = g->first_item; left > 0 && !w->o.over; i++) {
        if (gr->items[i].group != gi)
            continue;
        if (array && left < g->count)
            gw_buf_addc(&w->o, ',');
        if (array && w->c->pretty)
            out_indent(&w->o, w->depth);
        write_item(w, &gr->items[i], g->kind, kid, flags & ~(unsigned)TF_XJ_ARRAY, own_flags);
        left--;
    }
    if (array) {
        w->depth--;
        if (w->c->pretty)
            out_indent(&w->o, w->depth);
        gw_buf_addc(&w->o, ']');
    }
}

/* "#order": the key of every item in document order. */
static void
write_order(struct xj *w, const struct grouping *gr, int *first)
{
    write_key(w, "#order", first);
    gw_buf_addc(&w->o, '[');
    for (size_t i = 0; i < gr->nitems; i++) {
        const char *key = group_key(w, &gr->groups[gr->items[i].group]);
        if (i > 0)
            gw_buf_addc(&w->o, ',');
        gw_json_str(&w->o, key, strlen(key), 0);
    }
    gw_buf_addc(&w->o, ']');
}

/* The children of an element (or of the document) as members of the open object. */
static void
write_children(struct xj *w, xmlNodePtr first_child, const struct tf_xj_path *t,
               unsigned own_flags, int elem_content, int doc, int *first)
{
    struct grouping gr;

    /* the items and groups live in this level's frame: deeper levels use their own */
    collect(w, w->level++, first_child, elem_content, &gr);
    for (size_t gi = 0; gi < gr.ngroups && !w->o.over; gi++)
        write_group(w, &gr, gi, t, own_flags, doc, first);
    if (!gr.contiguous)
        write_order(w, &gr, first);
    w->level--;
}

/* A namespace name as a string. Without entity substitution libxml2 keeps an '&' of a
 * namespace declaration as "&#38;" (so that it could be read again): give the '&' back. */
static void
write_href(struct xj *w, const char *href)
{
    const char *amp;

    gw_buf_addc(&w->o, '"');
    while ((amp = strstr(href, "&#38;")) != NULL) {
        gw_json_chars(&w->o, href, (size_t)(amp - href) + 1, 0);
        href = amp + 5;
    }
    gw_json_chars(&w->o, href, strlen(href), 0);
    gw_buf_addc(&w->o, '"');
}

static void
write_decls(struct xj *w, xmlNodePtr e, int *first)
{
    char lead[64];

    snprintf(lead, sizeof lead, "%sxmlns", w->c->attr_prefix);
    for (xmlNsPtr ns = e->nsDef; ns != NULL; ns = ns->next) {
        if (!decl_kept(w, ns))
            continue;
        /* "@xmlns" + ":" + prefix, the prefix unescaped as in names */
        write_key(w, ns->prefix ? make_key(w, lead, "", (const char *)ns->prefix) : lead, first);
        write_href(w, (const char *)ns->href);
    }
}

/* The prefix of an attribute's key; stripping keeps it when two attributes share a name. */
static const char *
attr_prefix_of(struct xj *w, xmlNodePtr e, xmlAttrPtr a)
{
    if (a->ns == NULL)
        return NULL;
    if (w->c->ns == TF_XJ_NS_STRIP) {
        for (xmlAttrPtr b = e->properties; b != NULL; b = b->next)
            if (b != a && strcmp((const char *)b->name, (const char *)a->name) == 0 &&
                !is_ns(b->ns, TF_XJ_NS))
                return (const char *)a->ns->prefix;
        return NULL;
    }
    const char *p = ns_prefix(w, a->ns);
    return p != NULL ? p : (const char *)a->ns->prefix; /* an attribute needs its prefix */
}

static void
write_attrs(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t, int *first)
{
    for (xmlAttrPtr a = e->properties; a != NULL && !w->o.over; a = a->next) {
        if (is_ns(a->ns, TF_XJ_NS))
            continue;
        const char *key = make_key(w, w->c->attr_prefix, attr_prefix_of(w, e, a),
                                   (const char *)a->name);
        unsigned flags = key_flags(w->c, t, key, strlen(key), NULL);
        const char *v = attr_value(a);
        xmlChar *owned = NULL;

        write_key(w, key, first);
        if (v == NULL)
            v = (const char *)(owned = xmlNodeListGetString(e->doc, a->children, 1));
        write_scalar(w, v ? v : "", v ? strlen(v) : 0, flags, PJ_NONE);
        xmlFree(owned);
    }
}

static void
write_items(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t, unsigned flags)
{
    int n = 0;

    gw_buf_addc(&w->o, '[');
    w->depth++;
    for (xmlNodePtr k = e->children; k != NULL && !w->o.over; k = k->next) {
        if (k->type != XML_ELEMENT_NODE || !is_ns(k->ns, TF_XJ_NS) ||
            strcmp((const char *)k->name, "item") != 0)
            continue;
        if (n++ > 0)
            gw_buf_addc(&w->o, ',');
        if (w->c->pretty)
            out_indent(&w->o, w->depth);
        write_elem_value(w, k, t, flags);
    }
    w->depth--;
    if (n > 0 && w->c->pretty)
        out_indent(&w->o, w->depth);
    gw_buf_addc(&w->o, ']');
}

/* An element without attributes to write and without element content: a scalar, null or {}. */
static void
write_simple(struct xj *w, xmlNodePtr e, const struct einfo *in, unsigned flags)
{
    if (in->has_text && !in->nil)
        write_text_run(w, e->children, flags, in->type);
    else if (in->nil)
        gw_buf_add(&w->o, "null", 4);
    else if (in->type == PJ_OBJECT)
        gw_buf_add(&w->o, "{}", 2);
    else if (w->c->empty_null && in->type != PJ_STRING)
        gw_buf_add(&w->o, "null", 4);
    else
        gw_buf_add(&w->o, "\"\"", 2);
}

static void
write_elem_value(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t, unsigned flags)
{
    struct einfo in;
    int first = 1;

    scan_elem(w, e, &in);
    if (in.type == PJ_ARRAY) {
        write_items(w, e, t, flags);
        return;
    }
    if (in.ndecls == 0 && !in.elem_content &&
        (in.nattrs == 0 || (in.nattrs == 1 && in.nil && !in.has_text))) {
        write_simple(w, e, &in, flags);
        return;
    }
    in.nil = 0;
    gw_buf_addc(&w->o, '{');
    w->depth++;
    write_decls(w, e, &first);
    write_attrs(w, e, t, &first);
    write_children(w, e->children, t, flags, in.elem_content, 0, &first);
    w->depth--;
    if (!first && w->c->pretty)
        out_indent(&w->o, w->depth);
    gw_buf_addc(&w->o, '}');
}

static void
xj_free(struct xj *w)
{
    for (size_t i = 0; i < w->nframes; i++) {
        free(w->frames[i].items);
        free(w->frames[i].groups);
        free(w->frames[i].hash);
    }
    free(w->frames);
    free(w->kbuf);
}

char *
tf_xml_to_json(const struct tf_xj *c, xmlDocPtr doc, struct tf_ctx *x, size_t *len,
               enum tf_threat *why, char *err, size_t errlen)
{
    struct xj w = { .c = c != NULL ? c : tf_xj_defaults() };
    xmlNodePtr root = xmlDocGetRootElement(doc);
    struct einfo in;
    int first = 1;
    char *res;

    out_init(&w.o, x, 4096);
    memset(&in, 0, sizeof in);
    if (root != NULL)
        scan_attrs(&w, root, &in);
    if (in.wrapper) {
        write_elem_value(&w, root, &w.c->paths, 0);
    } else {
        gw_buf_addc(&w.o, '{');
        w.depth++;
        write_children(&w, doc->children, &w.c->paths, 0, 1, 1, &first);
        w.depth--;
        if (!first && w.c->pretty)
            out_indent(&w.o, 0);
        gw_buf_addc(&w.o, '}');
    }
    if (w.c->pretty)
        gw_buf_addc(&w.o, '\n');
    xj_free(&w);
    if (w.o.over) {
        *why = TF_THREAT_TOO_LARGE;
        snprintf(err, errlen, "JSON output exceeds the body limit of %zu bytes", w.o.max);
        return NULL;
    }
    *why = TF_THREAT_OK;
    res = out_finish(&w.o, len);
    return res;
}

/* ==== json_to_xml ============================================================================ */

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jmem;

/* A JSON value; strings decoded (pointing into the input when they had no escape), numbers as
 * written. */
struct jv {
    int t;
    size_t n;           /* bytes of a string or number; items or members of a container */
    const char *s;
    struct jv *items;
    struct jmem *mems;
};

struct jmem {
    const char *k;
    size_t kn, pos;     /* pos: where the key starts, for messages */
    struct jv v;
};

/* The tree being read (memory from x's arena). */
struct jb {
    struct gw_json_reader r;
    struct tf_ctx *x;
    struct jv *vs;      /* values of the open arrays */
    size_t vn, vcap;
    struct jmem *ms;    /* members of the open objects */
    size_t mn, mcap;
};

static int jb_value(struct jb *p, const struct gw_json_token *t, struct jv *v);

/* The entries of the container t opened, up to its end, as items (arrays) or members. */
static int
jb_container(struct jb *p, const struct gw_json_token *open, struct jv *v)
{
    size_t vbase = p->vn, mbase = p->mn, count = 0;
    struct gw_json_token t;
    int type;

    while ((type = gw_json_next(&p->r, &t)) != GW_JSON_CLOSE) {
        struct jmem m = { .k = t.key, .kn = t.kn, .pos = t.kpos };
        /* parsed aside: nested containers push onto the same stacks */
        if (type < 0 || jb_value(p, &t, &m.v) < 0)
            return -1;
        if (open->type == GW_JSON_ARRAY) {
            if (p->vn == p->vcap) {
                p->vcap = p->vcap ? p->vcap * 2 : 64;
                p->vs = gw_xrealloc(p->vs, p->vcap * sizeof *p->vs);
            }
            p->vs[p->vn++] = m.v;
        } else {
            if (p->mn == p->mcap) {
                p->mcap = p->mcap ? p->mcap * 2 : 64;
                p->ms = gw_xrealloc(p->ms, p->mcap * sizeof *p->ms);
            }
            p->ms[p->mn++] = m;
        }
        count++;
    }
    if (open->type == GW_JSON_ARRAY) {
        *v = (struct jv){ .t = J_ARR, .n = count, .items = p->x->alloc(p->x, count * sizeof *v) };
        if (count > 0)
            memcpy(v->items, p->vs + vbase, count * sizeof *v);
        p->vn = vbase;
    } else {
        *v = (struct jv){ .t = J_OBJ, .n = count,
                          .mems = p->x->alloc(p->x, count * sizeof(struct jmem)) };
        if (count > 0)
            memcpy(v->mems, p->ms + mbase, count * sizeof(struct jmem));
        p->mn = mbase;
    }
    return 0;
}

static int
jb_value(struct jb *p, const struct gw_json_token *t, struct jv *v)
{
    switch (t->type) {
    case GW_JSON_OBJECT:
    case GW_JSON_ARRAY: return jb_container(p, t, v);
    case GW_JSON_STRING: *v = (struct jv){ .t = J_STR, .s = t->s, .n = t->n }; return 0;
    case GW_JSON_NUMBER: *v = (struct jv){ .t = J_NUM, .s = t->s, .n = t->n }; return 0;
    case GW_JSON_TRUE: *v = (struct jv){ .t = J_TRUE }; return 0;
    case GW_JSON_FALSE: *v = (struct jv){ .t = J_FALSE }; return 0;
    default: *v = (struct jv){ .t = J_NULL }; return 0;
    }
}

/* Read the whole text into *v, or refuse it with *why and err set (the reader's words). */
static int
jb_parse(const char *buf, size_t len, const struct tf_limits *l, struct tf_ctx *x, struct jv *v,
         enum tf_threat *why, char *err, size_t errlen)
{
    struct jb p = { .x = x };
    struct gw_json_token t;
    int rc = -1;

    tf_json_reader_init(&p.r, buf, len, l, x, err, errlen);
    if (gw_json_next(&p.r, &t) >= 0 && jb_value(&p, &t, v) == 0 &&
        gw_json_next(&p.r, &t) == GW_JSON_END)
        rc = 0;
    *why = rc < 0 ? tf_threat_of(p.r.why) : TF_THREAT_OK;
    gw_json_reader_done(&p.r);
    free(p.vs);
    free(p.ms);
    return rc;
}

int
tf_json_check(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
              char *err, size_t errlen)
{
    struct gw_arena a;
    struct gw_json_reader r;
    struct tf_ctx x;
    int rc;

    gw_arena_init(&a);
    tf_ctx_init(&x, &a, l);
    tf_json_reader_init(&r, buf, len, l, &x, err, errlen);
    rc = gw_json_skip(&r);
    *why = rc < 0 ? tf_threat_of(r.why) : TF_THREAT_OK;
    gw_json_reader_done(&r);
    gw_arena_free(&a);
    return rc;
}

/* ---- writing XML ---- */

struct binding {
    const char *p;
    size_t n;
    int markers;        /* pj, bound for the markers only: keys cannot use it */
};

struct jx {
    const struct tf_xj *c;
    const struct tf_limits *l;
    struct gw_buf o;
    struct binding *scope; /* prefixes declared around the element being written */
    size_t nscope, scap;
    int need_pj, need_nil;         /* what the root declares */
    int used_pj, used_nil;         /* what the writing used */
    int exact;                     /* need_* are known (a second pass): no estimate */
    uint32_t pj_taken, xsi_taken;  /* pj, pj1.. / xsi, xsi1.. bound by the JSON to another URI */
    uint32_t xsi_used;             /* xsi, xsi1.. used by keys */
    const char *mp, *np;           /* the prefixes of the markers and of xsi:nil */
    char item[16];                 /* mp + ":item" */
    int depth;
    int failed;
    enum tf_threat why;
    char *err;
    size_t errlen;
};

static void jx_fail(struct jx *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
jx_fail(struct jx *w, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (w->failed)
        return;
    w->failed = 1;
    w->why = TF_THREAT_MALFORMED;
    n = (size_t)snprintf(w->err, w->errlen, "JSON: ");
    va_start(ap, fmt);
    if (n < w->errlen)
        vsnprintf(w->err + n, w->errlen - n, fmt, ap);
    va_end(ap);
    gw_text_one_line(w->err);
}

static int
jx_stop(const struct jx *w)
{
    return w->failed || w->o.over;
}

static void
bind(struct jx *w, const char *p, size_t n, int markers)
{
    if (w->nscope == w->scap) {
        w->scap = w->scap ? w->scap * 2 : 16;
        w->scope = gw_xrealloc(w->scope, w->scap * sizeof *w->scope);
    }
    w->scope[w->nscope++] = (struct binding){ p, n, markers };
}

static int
bound(const struct jx *w, const char *p, size_t n)
{
    if (n == 3 && memcmp(p, "xml", 3) == 0)
        return 1;
    for (size_t i = w->nscope; i-- > 0;)
        if (w->scope[i].n == n && memcmp(w->scope[i].p, p, n) == 0)
            return !w->scope[i].markers;
    return 0;
}

static void
put_encoded(struct jx *w, const char *s, size_t n)
{
    size_t room = 11 * n + 4, k;

    if (gw_buf_reserve(&w->o, room) < 0)
        return; /* over the limit */
    k = tf_xj_name_encode(s, n, w->o.p + w->o.len, room);
    w->o.len += k;
}

/* A key as an XML name: "p:local" stays a qualified name when p is declared (keep and map
 * modes); every other character that cannot be in a name is escaped. */
static void
put_name(struct jx *w, const char *key, size_t n)
{
    const char *colon = memchr(key, ':', n);

    if (w->c->ns != TF_XJ_NS_STRIP && colon != NULL && colon > key && colon < key + n - 1 &&
        bound(w, key, (size_t)(colon - key))) {
        put_encoded(w, key, (size_t)(colon - key));
        gw_buf_addc(&w->o, ':');
        put_encoded(w, colon + 1, n - (size_t)(colon - key) - 1);
    } else {
        put_encoded(w, key, n);
    }
}

/* Text (attr 0), an attribute value (attr 1), escaped, or a comment (attr 2: as is);
 * characters XML 1.0 cannot carry fail the conversion. */
static void
put_text(struct jx *w, const char *s, size_t n, int attr)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;

        if (c >= 0x20 && c != '&' && c != '<' && c != '>' && c != '"' && c != 0xEF)
            continue;
        if (attr == 2 && (c >= 0x20 || c == '\t' || c == '\n') && c != 0xEF)
            continue;
        if (attr == 2 && c == '\r') /* a comment has no references: write the line end a */
            e = i + 1 < n && s[i + 1] == '\n' ? "" : "\n"; /* parser would read (CRLF, CR: LF) */
        else if (c == '&')
            e = "&amp;";
        else if (c == '<')
            e = "&lt;";
        else if (c == '>')
            e = attr ? NULL : "&gt;";
        else if (c == '"')
            e = attr ? "&quot;" : NULL;
        else if (c == '\r')
            e = "&#13;";
        else if (c == '\t' || c == '\n')
            e = attr ? (c == '\t' ? "&#9;" : "&#10;") : NULL;
        else if (c == 0xEF) {
            if (i + 2 < n && (unsigned char)s[i + 1] == 0xBF && ((unsigned char)s[i + 2] & 0xFE) == 0xBE) {
                jx_fail(w, "a string holds U+%04X, which XML 1.0 cannot carry",
                        0xFFFE + ((unsigned char)s[i + 2] & 1));
                return;
            }
        } else {
            jx_fail(w, "a string holds U+%04X, which XML 1.0 cannot carry", c);
            return;
        }
        if (e == NULL)
            continue;
        gw_buf_add(&w->o, s + run, i - run);
        gw_buf_adds(&w->o, e);
        run = i + 1;
    }
    gw_buf_add(&w->o, s + run, n - run);
}

static void
put_comment(struct jx *w, const struct jv *v)
{
    if (v->t != J_STR) {
        jx_fail(w, "\"#comment\" must hold strings");
        return;
    }
    for (size_t i = 0; i + 1 < v->n; i++)
        if (v->s[i] == '-' && v->s[i + 1] == '-') {
            jx_fail(w, "a comment cannot hold \"--\"");
            return;
        }
    if (v->n > 0 && v->s[v->n - 1] == '-') {
        jx_fail(w, "a comment cannot end with \"-\"");
        return;
    }
    gw_buf_adds(&w->o, "<!--");
    put_text(w, v->s, v->n, 2);
    gw_buf_adds(&w->o, "-->");
}

static int
is_attr_key(const struct tf_xj *c, const struct jmem *m)
{
    return m->kn >= c->attr_prefix_len && memcmp(m->k, c->attr_prefix, c->attr_prefix_len) == 0;
}

static int
key_eq(const struct jmem *m, const char *s)
{
    return m->kn == strlen(s) && memcmp(m->k, s, m->kn) == 0;
}

enum mkind { MK_ATTR, MK_TEXT, MK_COMMENT, MK_ORDER, MK_ELEM };

static enum mkind
member_kind(const struct tf_xj *c, const struct jmem *m)
{
    if (is_attr_key(c, m))
        return MK_ATTR;
    if (key_eq(m, c->text_key))
        return MK_TEXT;
    if (key_eq(m, "#comment"))
        return MK_COMMENT;
    if (key_eq(m, "#order"))
        return MK_ORDER;
    return MK_ELEM;
}

/* Is a text value written as nothing: null, "", or whitespace next to elements (ec), which
 * xml_to_json drops as insignificant? */
static int
text_is_nothing(const struct jv *v, int ec)
{
    if (v->t == J_NULL)
        return 1;
    if (v->t != J_STR)
        return 0;
    for (size_t i = 0; i < v->n; i++)
        if (!ec || (v->s[i] != ' ' && v->s[i] != '\t' && v->s[i] != '\n' && v->s[i] != '\r'))
            return 0;
    return 1;
}

/* Does member m give no node? (attributes, "#order", text that is nothing, no comment; ec: the
 * object has elements or comments) */
static int
gives_nothing(const struct tf_xj *c, const struct jmem *m, int ec)
{
    enum mkind k = member_kind(c, m);

    if (k == MK_ATTR || k == MK_ORDER)
        return 1;
    if (k == MK_ELEM)
        return 0;
    if (k == MK_COMMENT)
        return m->v.t == J_ARR && m->v.n == 0;
    if (m->v.t != J_ARR)
        return text_is_nothing(&m->v, ec);
    for (size_t i = 0; i < m->v.n; i++)
        if (!text_is_nothing(&m->v.items[i], ec))
            return 0;
    return 1;
}

/* Has the object element or comment members (then whitespace text is not written)? */
static int
elem_content(const struct tf_xj *c, const struct jv *obj)
{
    for (size_t i = 0; i < obj->n; i++) {
        enum mkind k = member_kind(c, &obj->mems[i]);
        if (k == MK_ELEM || (k == MK_COMMENT && !gives_nothing(c, &obj->mems[i], 0)))
            return 1;
    }
    return 0;
}

/* Is attribute key name[0..n) (after the prefix) a namespace declaration? */
static int
is_decl(const struct jx *w, const char *name, size_t n)
{
    return w->c->ns != TF_XJ_NS_STRIP && n >= 5 && memcmp(name, "xmlns", 5) == 0 &&
           (n == 5 || name[5] == ':');
}

/* Does the object declare prefix p itself ("" : the default namespace)? */
static int
declares(const struct jx *w, const struct jv *obj, const char *p)
{
    size_t pl = strlen(p), al = w->c->attr_prefix_len;

    if (obj == NULL || obj->t != J_OBJ || w->c->ns == TF_XJ_NS_STRIP)
        return 0;
    for (size_t i = 0; i < obj->n; i++) {
        const struct jmem *m = &obj->mems[i];
        if (!is_attr_key(w->c, m) || !is_decl(w, m->k + al, m->kn - al))
            continue;
        if ((pl == 0 && m->kn == al + 5) ||
            (m->kn == al + 6 + pl && memcmp(m->k + al + 6, p, pl) == 0))
            return 1;
    }
    return 0;
}

static void
root_decl(struct jx *w, const char *prefix, const char *uri, int markers, int write)
{
    if (!write) {
        bind(w, prefix, strlen(prefix), markers);
        return;
    }
    gw_buf_adds(&w->o, " xmlns:");
    gw_buf_adds(&w->o, prefix);
    gw_buf_adds(&w->o, "=\"");
    gw_buf_adds(&w->o, uri);
    gw_buf_addc(&w->o, '"');
}

/* On the root element: the map's namespaces, and pj / xsi when the document needs them.
 * Called twice: to bind the prefixes (before the element's name is written: it may use one),
 * then to write the declarations. */
static void
root_decls(struct jx *w, const struct jv *v, int write)
{
    for (size_t i = 0; i < w->c->nmap; i++) {
        const struct tf_xj_nsmap *m = &w->c->map[i];
        if (declares(w, v, m->prefix))
            continue;
        if (!write) {
            if (m->prefix[0])
                bind(w, m->prefix, strlen(m->prefix), 0);
            continue;
        }
        gw_buf_adds(&w->o, m->prefix[0] ? " xmlns:" : " xmlns");
        gw_buf_adds(&w->o, m->prefix);
        gw_buf_adds(&w->o, "=\"");
        put_text(w, m->uri, strlen(m->uri), 1);
        gw_buf_addc(&w->o, '"');
    }
    if (w->need_pj)
        root_decl(w, w->mp, TF_XJ_NS, 1, write);
    for (int i = 0; i < 32; i++) {
        const char *p = prefix_name("xsi", i);
        if (((w->xsi_used >> i) & 1) || (w->need_nil && strcmp(p, w->np) == 0))
            if (!declares(w, v, p))
                root_decl(w, p, TF_XJ_XSI, 0, write);
    }
}

/* Bind the prefixes an object declares ("@xmlns:p" members), before its element's name. */
static void
bind_decls(struct jx *w, const struct jv *obj)
{
    size_t al = w->c->attr_prefix_len;

    if (obj->t != J_OBJ)
        return;
    for (size_t i = 0; i < obj->n; i++) {
        const struct jmem *m = &obj->mems[i];
        if (is_attr_key(w->c, m) && is_decl(w, m->k + al, m->kn - al) && m->kn > al + 6)
            bind(w, m->k + al + 6, m->kn - al - 6, 0);
    }
}

static int
scalar(const struct jv *v)
{
    return v->t == J_STR || v->t == J_NUM || v->t == J_TRUE || v->t == J_FALSE;
}

static void
put_scalar(struct jx *w, const struct jv *v, int attr)
{
    if (v->t == J_STR)
        put_text(w, v->s, v->n, attr);
    else if (v->t == J_NUM)
        gw_buf_add(&w->o, v->s, v->n);
    else
        gw_buf_adds(&w->o, v->t == J_TRUE ? "true" : "false");
}

/* Namespaces in XML 1.0 forbids: binding a prefix to "", binding xmlns, xml to another
 * namespace, or another prefix (or the default) to the xml or xmlns namespaces. */
static int
decl_allowed(const char *name, size_t n, const struct jv *v)
{
    static const char xml_ns[] = "http://www.w3.org/XML/1998/namespace";
    static const char xmlns_ns[] = "http://www.w3.org/2000/xmlns/";
    int is_xml = n == 9 && memcmp(name + 6, "xml", 3) == 0;
    int to_xml = v->t == J_STR && v->n == strlen(xml_ns) && memcmp(v->s, xml_ns, v->n) == 0;

    if (v->t != J_STR)
        return 0;
    if (v->n == strlen(xmlns_ns) && memcmp(v->s, xmlns_ns, v->n) == 0)
        return 0;
    if (n == 5)
        return !to_xml;
    if (v->n == 0 || (n == 11 && memcmp(name + 6, "xmlns", 5) == 0))
        return 0;
    return is_xml == to_xml;
}

/* The name of an attribute (decl: a namespace declaration), within the name limit. */
static int
put_attr_name(struct jx *w, const struct jmem *m, const char *name, size_t n, int decl)
{
    size_t at = w->o.len;

    if (decl) {
        gw_buf_adds(&w->o, "xmlns");
        if (n > 5) {
            gw_buf_addc(&w->o, ':');
            put_encoded(w, name + 6, n - 6);
        }
    } else {
        put_name(w, name, n);
    }
    if (w->o.len - at > w->l->xml.max_name_len && !w->o.over) {
        jx_fail(w, "key \"%.*s\" makes an XML name longer than the limit (%zu)",
                (int)(m->kn < 32 ? m->kn : 32), m->k, w->l->xml.max_name_len);
        return -1;
    }
    return 0;
}

/* The attributes of an object: namespace declarations first (they bind prefixes the other
 * names may use), then the others. */
static void
put_attrs(struct jx *w, const struct jv *obj)
{
    size_t al = w->c->attr_prefix_len;

    for (int pass = 0; pass < 2 && !jx_stop(w); pass++) {
        for (size_t i = 0; i < obj->n && !jx_stop(w); i++) {
            const struct jmem *m = &obj->mems[i];
            const char *name = m->k + al;
            size_t n = m->kn - al;
            if (!is_attr_key(w->c, m) || is_decl(w, name, n) != (pass == 0))
                continue;
            if (!scalar(&m->v)) {
                jx_fail(w, "member \"%.*s\": an attribute must be a string, a number or a "
                        "boolean", (int)(m->kn > 64 ? 64 : m->kn), m->k);
                return;
            }
            if (pass == 0 && !decl_allowed(name, n, &m->v)) {
                jx_fail(w, "member \"%.*s\": this namespace declaration is not allowed in XML",
                        (int)(m->kn > 64 ? 64 : m->kn), m->k);
                return;
            }
            gw_buf_addc(&w->o, ' ');
            if (put_attr_name(w, m, name, n, pass == 0) < 0)
                return;
            gw_buf_add(&w->o, "=\"", 2);
            put_scalar(w, &m->v, 1);
            gw_buf_addc(&w->o, '"');
        }
    }
}

/* A marker attribute: ' pj:name="value"' (with the markers' prefix). */
static void
put_marker(struct jx *w, const char *name, const char *value)
{
    if (w->c->no_markers)
        return;
    w->used_pj = 1;
    gw_buf_addc(&w->o, ' ');
    gw_buf_adds(&w->o, w->mp);
    gw_buf_addc(&w->o, ':');
    gw_buf_adds(&w->o, name);
    gw_buf_add(&w->o, "=\"", 2);
    gw_buf_adds(&w->o, value);
    gw_buf_addc(&w->o, '"');
}

/* Markers of this element: pj:array, pj:wrapper. */
enum { MARK_NONE, MARK_ARRAY, MARK_EMPTY };
enum { EL_PLAIN, EL_ROOT, EL_WRAPPER, EL_ITEM };

static void write_elem(struct jx *w, const char *key, size_t kn, int how, const struct jv *v,
                       const struct tf_xj_path *t, unsigned flags, int mark);
static void write_content(struct jx *w, const struct jv *obj, const struct tf_xj_path *t,
                          unsigned flags, int doc);

static int
typed_string(const struct jv *v, unsigned flags)
{
    return ((flags & TF_XJ_NUMBER) && tf_xj_number_ok(v->s, v->n)) ||
           ((flags & TF_XJ_BOOLEAN) && is_bool(v->s, v->n));
}

/* Everything of an element after its name: attributes, then the content and the end tag. Returns
 * 1 when the element has content (an end tag is due), 0 when it was closed with "/>". */
static int
write_body(struct jx *w, const struct jv *v, const struct tf_xj_path *t, unsigned flags)
{
    static const char *const type_name[] = {
        [J_NUM] = "number", [J_TRUE] = "boolean", [J_FALSE] = "boolean",
    };

    switch (v->t) {
    case J_OBJ:
        if (v->n == 0) {
            put_marker(w, "type", "object");
            gw_buf_add(&w->o, "/>", 2);
            return 0;
        }
        put_attrs(w, v);
        for (size_t i = 0, ec = (size_t)elem_content(w->c, v); i < v->n; i++) {
            if (!gives_nothing(w->c, &v->mems[i], (int)ec)) {
                gw_buf_addc(&w->o, '>');
                write_content(w, v, t, flags, 0);
                return 1;
            }
        }
        gw_buf_add(&w->o, "/>", 2);
        return 0;
    case J_ARR:
        put_marker(w, "type", "array");
        if (v->n == 0) {
            gw_buf_add(&w->o, "/>", 2);
            return 0;
        }
        gw_buf_addc(&w->o, '>');
        w->depth++;
        for (size_t i = 0; i < v->n && !jx_stop(w); i++) {
            if (w->c->pretty)
                out_indent(&w->o, w->depth);
            write_elem(w, w->item, strlen(w->item), EL_ITEM, &v->items[i], t, flags, MARK_NONE);
        }
        w->depth--;
        if (w->c->pretty)
            out_indent(&w->o, w->depth);
        return 1;
    case J_NULL:
        if (!w->c->nil_empty) {
            w->used_nil = 1;
            gw_buf_addc(&w->o, ' ');
            gw_buf_adds(&w->o, w->np);
            gw_buf_adds(&w->o, ":nil=\"true\"");
        }
        gw_buf_add(&w->o, "/>", 2);
        return 0;
    default:
        if (w->c->types && v->t != J_STR)
            put_marker(w, "type", type_name[v->t]);
        if (w->c->types && v->t == J_STR && typed_string(v, flags))
            put_marker(w, "type", "string");
        if (v->t == J_STR && v->n == 0) {
            gw_buf_add(&w->o, "/>", 2);
            return 0;
        }
        gw_buf_addc(&w->o, '>');
        put_scalar(w, v, 0);
        return 1;
    }
}

/* One element for key: how says whether the key is written as is (pj:item, the root name) and
 * whether it is the root (declarations, pj:wrapper). t: the trie node of its members. */
static void
write_elem(struct jx *w, const char *key, size_t kn, int how, const struct jv *v,
           const struct tf_xj_path *t, unsigned flags, int mark)
{
    size_t scope = w->nscope, name_at, name_len;

    if (kn > w->l->xml.max_name_len) {
        jx_fail(w, "key \"%.*s\" makes an XML name longer than the limit (%zu)",
                (int)(kn < 32 ? kn : 32), key, w->l->xml.max_name_len);
        return;
    }
    if (how == EL_ROOT || how == EL_WRAPPER)
        root_decls(w, v, 0);
    bind_decls(w, v);
    gw_buf_addc(&w->o, '<');
    name_at = w->o.len;
    if (how == EL_ITEM || how == EL_WRAPPER)
        gw_buf_add(&w->o, key, kn);
    else
        put_name(w, key, kn);
    name_len = w->o.len - name_at;
    if (name_len > w->l->xml.max_name_len && !w->o.over) {
        jx_fail(w, "key \"%.*s\" makes an XML name longer than the limit (%zu)",
                (int)(kn < 32 ? kn : 32), key, w->l->xml.max_name_len);
        return;
    }
    if (how == EL_ROOT || how == EL_WRAPPER)
        root_decls(w, v, 1);
    if (how == EL_WRAPPER)
        put_marker(w, "wrapper", "true");
    if (mark != MARK_NONE)
        put_marker(w, "array", mark == MARK_ARRAY ? "true" : "empty");
    if (mark == MARK_EMPTY)
        gw_buf_add(&w->o, "/>", 2);
    else if (write_body(w, v, t, flags) && !jx_stop(w)) {
        gw_buf_add(&w->o, "</", 2);
        if (gw_buf_reserve(&w->o, name_len + 1) == 0) {
            memcpy(w->o.p + w->o.len, w->o.p + name_at, name_len);
            w->o.len += name_len;
        }
        gw_buf_addc(&w->o, '>');
    }
    w->nscope = scope;
}

/* How many nodes member m gives (an empty array of elements still gives its placeholder). */
static size_t
member_count(const struct tf_xj *c, const struct jmem *m)
{
    enum mkind k = member_kind(c, m);

    if (m->v.t == J_ARR)
        return m->v.n == 0 && k == MK_ELEM ? 1 : m->v.n;
    return k == MK_TEXT && m->v.t == J_NULL ? 0 : 1;
}

/* Node i of member m. */
static void
write_node(struct jx *w, const struct jmem *m, size_t i, const struct tf_xj_path *t, int doc,
           int ec)
{
    enum mkind k = member_kind(w->c, m);
    const struct jv *v = m->v.t == J_ARR && m->v.n > 0 ? &m->v.items[i] : &m->v;
    static const struct jv empty = { .t = J_STR };
    const struct tf_xj_path *kid = NULL;
    unsigned flags;
    int mark = MARK_NONE;

    if (k == MK_TEXT) {
        if (!scalar(v) && v->t != J_NULL)
            jx_fail(w, "\"%s\" must hold strings, numbers or booleans", w->c->text_key);
        else if (!text_is_nothing(v, ec))
            put_scalar(w, v, 0);
        return;
    }
    if (k == MK_COMMENT) {
        put_comment(w, v);
        return;
    }
    flags = key_flags(w->c, t, m->k, m->kn, &kid);
    if (m->v.t == J_ARR && m->v.n == 0) {
        v = &empty;
        mark = MARK_EMPTY;
    } else if (m->v.t == J_ARR && m->v.n == 1 && !(flags & TF_XJ_ARRAY)) {
        mark = MARK_ARRAY;
    }
    write_elem(w, m->k, m->kn, doc ? EL_ROOT : EL_PLAIN, v, kid,
               flags & ~(unsigned)TF_XJ_ARRAY, mark);
}

static void
write_one(struct jx *w, const struct jv *obj, size_t mi, size_t *cursor,
          const struct tf_xj_path *t, int indent, int doc, int ec)
{
    const struct jmem *m = &obj->mems[mi];
    size_t i = cursor[mi]++;

    if (i >= member_count(w->c, m))
        return;
    if (w->c->no_markers && m->v.t == J_ARR && m->v.n == 0)
        return; /* an empty array leaves no trace without markers */
    if (member_kind(w->c, m) == MK_TEXT &&
        text_is_nothing(m->v.t == J_ARR ? &m->v.items[i] : &m->v, ec))
        return;
    if (indent)
        out_indent(&w->o, w->depth);
    write_node(w, m, i, t, doc, ec);
    if (doc)
        gw_buf_addc(&w->o, '\n');
}

/* Member index of key k in obj (not an attribute, not #order), or SIZE_MAX. */
static size_t
find_member(const struct tf_xj *c, const struct jv *obj, const struct jv *k)
{
    for (size_t i = 0; i < obj->n; i++) {
        const struct jmem *m = &obj->mems[i];
        enum mkind mk = member_kind(c, m);
        if (mk != MK_ATTR && mk != MK_ORDER && m->kn == k->n && memcmp(m->k, k->s, k->n) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* "#order" first (each entry writes the next node of that key), then what is left, in member
 * order. */
static void
write_content(struct jx *w, const struct jv *obj, const struct tf_xj_path *t, unsigned flags,
              int doc)
{
    size_t *cursor = out_alloc(&w->o, obj->n * sizeof *cursor), wrote = 0;
    const struct jv *order = NULL;
    int indent = 0, ec = elem_content(w->c, obj);

    (void)flags;
    memset(cursor, 0, obj->n * sizeof *cursor);
    for (size_t i = 0; i < obj->n; i++) {
        enum mkind k = member_kind(w->c, &obj->mems[i]);
        if (k == MK_ORDER)
            order = &obj->mems[i].v;
        if (k == MK_ATTR || k == MK_ORDER)
            cursor[i] = SIZE_MAX;
        indent |= k == MK_TEXT && !gives_nothing(w->c, &obj->mems[i], ec);
    }
    indent = w->c->pretty && !doc && !indent;
    if (order != NULL && order->t != J_ARR) {
        jx_fail(w, "\"#order\" must be an array of keys");
        return;
    }
    w->depth += !doc;
    for (size_t i = 0; order != NULL && i < order->n && !jx_stop(w); i++) {
        size_t mi = order->items[i].t == J_STR ? find_member(w->c, obj, &order->items[i])
                                               : SIZE_MAX;
        if (mi != SIZE_MAX && obj->n > 0 && mi < obj->n) {
            write_one(w, obj, mi, cursor, t, indent, doc, ec);
            wrote++;
        }
    }
    for (size_t i = 0; i < obj->n && !jx_stop(w); i++)
        while (cursor[i] != SIZE_MAX && cursor[i] < member_count(w->c, &obj->mems[i]) &&
               !jx_stop(w)) {
            write_one(w, obj, i, cursor, t, indent, doc, ec);
            wrote++;
        }
    w->depth -= !doc;
    if (indent && wrote > 0)
        out_indent(&w->o, w->depth);
}

/* The prefixes keys and declarations of object member m use: "xsi", "xsi1".. in keys (they are
 * declared on the root), and "pj".. / "xsi".. bound to other namespaces (the markers and
 * xsi:nil then take another prefix). */
static void
note_prefixes(struct jx *w, const struct jmem *m)
{
    size_t skip = is_attr_key(w->c, m) ? w->c->attr_prefix_len : 0;
    const char *k = m->k + skip, *colon = memchr(k, ':', m->kn - skip);
    int i;

    if (w->c->ns == TF_XJ_NS_STRIP || colon == NULL)
        return;
    if ((i = prefix_index("xsi", k, (size_t)(colon - k))) >= 0)
        w->xsi_used |= 1u << i;
    if (!skip || !is_decl(w, k, m->kn - skip) || m->v.t != J_STR)
        return;
    k += 6;
    size_t n = m->kn - skip - 6;
    if ((i = prefix_index("pj", k, n)) >= 0 && !(m->v.n == strlen(TF_XJ_NS) &&
                                                 memcmp(m->v.s, TF_XJ_NS, m->v.n) == 0))
        w->pj_taken |= 1u << i;
    if ((i = prefix_index("xsi", k, n)) >= 0 && !(m->v.n == strlen(TF_XJ_XSI) &&
                                                  memcmp(m->v.s, TF_XJ_XSI, m->v.n) == 0))
        w->xsi_taken |= 1u << i;
}

/* What the root element will have to declare: only what the writer will use, so that two JSON
 * documents with the same XML get the same declarations. elem: v is (in) an element's value,
 * where a null is written as xsi:nil and arrays carry markers; a text, comment or attribute
 * value gets neither. */
static void
prewalk(struct jx *w, const struct jv *v, int elem)
{
    switch (v->t) {
    case J_NULL:
        w->need_nil |= elem && !w->c->nil_empty;
        break;
    case J_ARR:
        /* array markers go on elements only: a text's or comment's list is written as is */
        w->need_pj |= elem && v->n <= 1;
        for (size_t i = 0; i < v->n; i++) {
            w->need_pj |= elem && v->items[i].t == J_ARR;
            prewalk(w, &v->items[i], elem);
        }
        break;
    case J_OBJ:
        w->need_pj |= v->n == 0;
        for (size_t i = 0; i < v->n; i++) {
            note_prefixes(w, &v->mems[i]);
            prewalk(w, &v->mems[i].v, member_kind(w->c, &v->mems[i]) == MK_ELEM);
        }
        break;
    default:
        /* a type marker goes on numbers and booleans, and on strings that read as one (where a
         * path types them): plain strings need none, so that {"a": {"#text": null}} and the
         * {"a": ""} it comes back as are written alike */
        w->need_pj |= w->c->types && (v->t != J_STR || tf_xj_number_ok(v->s, v->n) ||
                                      is_bool(v->s, v->n));
        break;
    }
}

/* The first of base, base1, base2.. that is not taken. */
static const char *
choose_prefix(const char *base, uint32_t taken)
{
    int i = 0;

    while (i < 31 && ((taken >> i) & 1))
        i++;
    return prefix_name(base, i);
}

/* The one member that can be the root element, or SIZE_MAX when the value needs a wrapper. */
static size_t
root_member(const struct tf_xj *c, const struct jv *v)
{
    size_t found = SIZE_MAX;

    if (v->t != J_OBJ)
        return SIZE_MAX;
    for (size_t i = 0; i < v->n; i++) {
        enum mkind k = member_kind(c, &v->mems[i]);
        if (k == MK_ATTR || (k == MK_TEXT && !gives_nothing(c, &v->mems[i], 1)) ||
            (k == MK_ELEM && found != SIZE_MAX))
            return SIZE_MAX;
        if (k == MK_ELEM)
            found = i;
    }
    if (found != SIZE_MAX && v->mems[found].v.t == J_ARR)
        return SIZE_MAX;
    return found;
}

static void
write_document(struct jx *w, const struct jv *v)
{
    size_t r = root_member(w->c, v);
    int need_pj = w->need_pj, need_nil = w->need_nil;

    prewalk(w, v, 1);
    if (w->exact) { /* the taken prefixes from the walk, the declarations as given */
        w->need_pj = need_pj;
        w->need_nil = need_nil;
    }
    w->mp = choose_prefix("pj", w->pj_taken);
    w->np = choose_prefix("xsi", w->xsi_taken);
    snprintf(w->item, sizeof w->item, "%s%sitem", w->c->no_markers ? "" : w->mp,
             w->c->no_markers ? "" : ":");
    w->need_pj &= !w->c->no_markers;
    gw_buf_adds(&w->o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (r != SIZE_MAX) {
        write_content(w, v, &w->c->paths, 0, 1);
        return;
    }
    if (!w->exact)
        w->need_pj = !w->c->no_markers;
    write_elem(w, w->c->root, strlen(w->c->root), EL_WRAPPER, v, &w->c->paths, 0, MARK_NONE);
    gw_buf_addc(&w->o, '\n');
}

char *
tf_json_to_xml(const struct tf_xj *c, const char *buf, size_t len, struct tf_ctx *x,
               size_t *outlen, enum tf_threat *why, char *err, size_t errlen)
{
    struct tf_limits def;
    struct jx w = { .c = c != NULL ? c : tf_xj_defaults(), .err = err, .errlen = errlen };
    struct jv root;

    if (x->limits == NULL)
        tf_limits_default(&def);
    w.l = x->limits != NULL ? x->limits : &def;
    *why = TF_THREAT_OK;
    if ((uint64_t)len > w.l->max_body) {
        *why = TF_THREAT_TOO_LARGE;
        snprintf(err, errlen, "JSON: body of %zu bytes exceeds the limit of %llu bytes", len,
                 (unsigned long long)w.l->max_body);
        return NULL;
    }
    if (jb_parse(buf, len, w.l, x, &root, why, err, errlen) < 0)
        return NULL;
    out_init(&w.o, x, len * 2 + 64);
    write_document(&w, &root);
    if (!w.failed && !w.o.over && (w.need_pj != w.used_pj || w.need_nil != w.used_nil)) {
        /* the walk before writing estimates what the root must declare without following the
         * configured paths; when it declared something unused, write again declaring exactly
         * what was used, so that documents with the same XML get the same declarations */
        struct jx again = { .c = w.c, .l = w.l, .err = err, .errlen = errlen, .exact = 1,
                            .need_pj = w.used_pj, .need_nil = w.used_nil };
        free(w.scope);
        w = again;
        out_init(&w.o, x, len * 2 + 64);
        write_document(&w, &root);
    }
    free(w.scope);
    if (w.failed) {
        *why = w.why;
        return NULL;
    }
    if (w.o.over) {
        *why = TF_THREAT_TOO_LARGE;
        snprintf(err, errlen, "XML output exceeds the body limit of %zu bytes", w.o.max);
        return NULL;
    }
    return out_finish(&w.o, outlen);
}

/* ==== the transforms ========================================================================= */

static int
fail_body(struct tf_ctx *x, const struct tf_message *m, enum tf_threat why, const char *who,
          const char *err)
{
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL, "%s: %s", who, err);
    if (why == TF_THREAT_TOO_LARGE)
        return x->fail(x, 413, "body-too-large", NULL, "%s: %s", who, err);
    return x->fail(x, tf_threat_status(why), "invalid-body", NULL, "%s: %s", who, err);
}

/* A body of another media type: skipped, or refused when the step is strict. */
static int
wrong_type(const struct tf_xj *c, const struct tf_message *m, struct tf_ctx *x, const char *who,
           const char *want)
{
    const struct tf_header *h = x->header_get(m, "content-type");
    int n = h != NULL ? (int)(h->value_len > 100 ? 100 : h->value_len) : 4;
    const char *v = h != NULL ? h->value : "none";

    if (!c->strict)
        return TF_SKIP;
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL,
                       "%s: the upstream's body is not %s (Content-Type: %.*s)", who, want, n, v);
    return x->fail(x, 415, "unsupported-media-type", NULL,
                   "%s: the body is not %s (Content-Type: %.*s)", who, want, n, v);
}

static int
xml_to_json_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct tf_xj *c = inst;
    enum tf_threat why;
    char err[256];
    xmlDocPtr doc;
    char *out;
    size_t len;

    if (m->body == NULL || m->body_len == 0)
        return TF_SKIP;
    if (!tf_is_xml(m, x))
        return wrong_type(c, m, x, "xml_to_json", "XML");
    doc = tf_xml_parse(m->body, m->body_len, x->limits, &why, err, sizeof err);
    if (doc == NULL)
        return fail_body(x, m, why, "xml_to_json", err);
    out = tf_xml_to_json(c, doc, x, &len, &why, err, sizeof err);
    xmlFreeDoc(doc);
    if (out == NULL)
        return fail_body(x, m, why, "xml_to_json", err);
    m->body = out;
    m->body_len = len;
    x->header_set(x, m, "Content-Type", "application/json", 16);
    return TF_DONE;
}

static int
json_to_xml_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct tf_xj *c = inst;
    enum tf_threat why;
    char err[256];
    char *out;
    size_t len;

    if (m->body == NULL || m->body_len == 0)
        return TF_SKIP;
    if (!tf_is_json(m, x))
        return wrong_type(c, m, x, "json_to_xml", "JSON");
    out = tf_json_to_xml(c, m->body, m->body_len, x, &len, &why, err, sizeof err);
    if (out == NULL)
        return fail_body(x, m, why, "json_to_xml", err);
    m->body = out;
    m->body_len = len;
    x->header_set(x, m, "Content-Type", "application/xml", 15);
    return TF_DONE;
}

static void *
xj_create(const struct tf_conf *cc)
{
    return tf_xj_create(cc);
}

static void
xj_destroy(void *inst)
{
    tf_xj_free(inst);
}

const struct tf_ops tf_xml_to_json_ops = {
    .abi = TF_ABI_VERSION,
    .name = "xml_to_json",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = xj_create,
    .apply = xml_to_json_apply,
    .destroy = xj_destroy,
};

const struct tf_ops tf_json_to_xml_ops = {
    .abi = TF_ABI_VERSION,
    .name = "json_to_xml",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = xj_create,
    .apply = json_to_xml_apply,
    .destroy = xj_destroy,
};
