/* http_sfv.c: see http_sfv.h. The parser follows RFC 8941 section 4.2 step by step; the
 * serializer section 4.1. */
#include "http_sfv.h"

#include <string.h>

#include "text.h"

struct sp {
    struct gw_arena *a;
    const char *s;
    size_t n, i;
    unsigned nodes;
};

static int
is_lcalpha(int c)
{
    return c >= 'a' && c <= 'z';
}

static int
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* tchar of RFC 9110 */
static int
is_tchar(int c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_b64(int c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=';
}

static int
peek(const struct sp *p)
{
    return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static void
skip_sp(struct sp *p)
{
    while (peek(p) == ' ')
        p->i++;
}

static void
skip_ows(struct sp *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        p->i++;
}

static struct gw_sfv_member *
new_node(struct sp *p)
{
    struct gw_sfv_member *m;

    if (++p->nodes > GW_SFV_MAX_NODES)
        return NULL;
    m = gw_arena_alloc(p->a, sizeof *m);
    memset(m, 0, sizeof *m);
    return m;
}

/* 4.2.3.3 */
static int
parse_key(struct sp *p, const char **key, size_t *len)
{
    size_t start = p->i;
    int c = peek(p);

    if (!is_lcalpha(c) && c != '*')
        return -1;
    while ((c = peek(p)) >= 0 &&
           (is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*'))
        p->i++;
    *len = p->i - start;
    *key = gw_arena_strndup(p->a, p->s + start, *len);
    return 0;
}

/* 4.2.4 */
static int
parse_number(struct sp *p, struct gw_sfv_item *it)
{
    int neg = 0;
    size_t digits = 0, frac = 0;
    int64_t v = 0, f = 0;
    int c;

    if (peek(p) == '-') {
        neg = 1;
        p->i++;
    }
    if (!is_digit(peek(p)))
        return -1;
    while (is_digit(c = peek(p))) {
        if (++digits > 15)
            return -1;
        v = v * 10 + (c - '0');
        p->i++;
    }
    it->type = GW_SFV_INTEGER;
    if (peek(p) == '.') {
        if (digits > 12)
            return -1;
        p->i++;
        while (is_digit(c = peek(p))) {
            if (++frac > 3)
                return -1;
            f = f * 10 + (c - '0');
            p->i++;
        }
        if (frac == 0)
            return -1;
        for (size_t k = frac; k < 3; k++)
            f *= 10;
        v = v * 1000 + f;
        it->type = GW_SFV_DECIMAL;
    }
    it->num = neg ? -v : v;
    return 0;
}

/* 4.2.5 */
static int
parse_string(struct sp *p, struct gw_sfv_item *it)
{
    size_t start = ++p->i, n = 0;
    char *out;
    int c;

    /* the length first, checking the grammar; then the copy, unescaped */
    for (;;) {
        if ((c = peek(p)) < 0)
            return -1;
        p->i++;
        if (c == '"')
            break;
        if (c == '\\') {
            c = peek(p);
            if (c != '"' && c != '\\')
                return -1;
            p->i++;
        } else if (c < 0x20 || c > 0x7e) {
            return -1;
        }
        n++;
    }
    out = gw_arena_alloc(p->a, n + 1);
    for (size_t i = start, k = 0; k < n; i++) {
        if (p->s[i] == '\\')
            i++;
        out[k++] = p->s[i];
    }
    out[n] = '\0';
    it->type = GW_SFV_STRING;
    it->str = out;
    it->len = n;
    return 0;
}

/* 4.2.6 */
static int
parse_token(struct sp *p, struct gw_sfv_item *it)
{
    size_t start = p->i;
    int c;

    p->i++;
    while ((c = peek(p)) >= 0 && (is_tchar(c) || c == ':' || c == '/'))
        p->i++;
    it->type = GW_SFV_TOKEN;
    it->len = p->i - start;
    it->str = gw_arena_strndup(p->a, p->s + start, it->len);
    return 0;
}

/* 4.2.7, strict base64 */
static int
parse_bytes(struct sp *p, struct gw_sfv_item *it)
{
    size_t start = ++p->i;
    unsigned char *out;
    long len;
    int c;

    while ((c = peek(p)) != ':') {
        if (c < 0 || !is_b64(c))
            return -1;
        p->i++;
    }
    out = gw_arena_alloc(p->a, (p->i - start) * 3 / 4 + 4);
    len = gw_base64_decode(p->s + start, p->i - start, out, 0);
    if (len < 0)
        return -1;
    p->i++;
    out[len] = '\0';
    it->type = GW_SFV_BYTES;
    it->str = (const char *)out;
    it->len = (size_t)len;
    return 0;
}

/* 4.2.3.1 */
static int
parse_bare(struct sp *p, struct gw_sfv_item *it)
{
    int c = peek(p);

    if (c == '-' || is_digit(c))
        return parse_number(p, it);
    if (c == '"')
        return parse_string(p, it);
    if (is_alpha(c) || c == '*')
        return parse_token(p, it);
    if (c == ':')
        return parse_bytes(p, it);
    if (c == '?') {
        p->i++;
        c = peek(p);
        if (c != '0' && c != '1')
            return -1;
        p->i++;
        it->type = GW_SFV_BOOLEAN;
        it->num = c == '1';
        return 0;
    }
    return -1;
}

/* Put m (keyed) into the list at *head: a key already there takes m's value in its place. */
static void
put_keyed(struct gw_sfv_member **head, struct gw_sfv_member ***tail, struct gw_sfv_member *m)
{
    for (struct gw_sfv_member *e = *head; e != NULL; e = e->next)
        if (e->key_len == m->key_len && memcmp(e->key, m->key, m->key_len) == 0) {
            e->v = m->v;
            return;
        }
    **tail = m;
    *tail = &m->next;
}

/* 4.2.3.2 */
static int
parse_params(struct sp *p, struct gw_sfv_member **out)
{
    struct gw_sfv_member *head = NULL, **tail = &head, *m;

    while (peek(p) == ';') {
        p->i++;
        skip_sp(p);
        if ((m = new_node(p)) == NULL || parse_key(p, &m->key, &m->key_len) < 0)
            return -1;
        m->v.type = GW_SFV_BOOLEAN;
        m->v.num = 1;
        if (peek(p) == '=') {
            p->i++;
            if (parse_bare(p, &m->v) < 0)
                return -1;
        }
        put_keyed(&head, &tail, m);
    }
    *out = head;
    return 0;
}

/* 4.2.3 */
static int
parse_item(struct sp *p, struct gw_sfv_item *it)
{
    return parse_bare(p, it) < 0 ? -1 : parse_params(p, &it->params);
}

/* 4.2.1.2 */
static int
parse_inner_list(struct sp *p, struct gw_sfv_item *it)
{
    struct gw_sfv_member **tail = &it->items, *m;
    int c;

    p->i++;
    it->type = GW_SFV_INNER_LIST;
    for (;;) {
        skip_sp(p);
        if (peek(p) == ')') {
            p->i++;
            return parse_params(p, &it->params);
        }
        if ((m = new_node(p)) == NULL || parse_item(p, &m->v) < 0)
            return -1;
        *tail = m;
        tail = &m->next;
        c = peek(p);
        if (c != ' ' && c != ')')
            return -1;
    }
}

static int
parse_item_or_inner(struct sp *p, struct gw_sfv_item *it)
{
    return peek(p) == '(' ? parse_inner_list(p, it) : parse_item(p, it);
}

/* After a member: the end, or a comma and the next member. 1 end, 0 go on, -1 malformed. */
static int
next_member(struct sp *p)
{
    skip_ows(p);
    if (p->i == p->n)
        return 1;
    if (peek(p) != ',')
        return -1;
    p->i++;
    skip_ows(p);
    return p->i == p->n ? -1 : 0;
}

/* The value without its leading and trailing spaces (4.2, steps 2 and 5). */
static void
sp_init(struct sp *p, struct gw_arena *a, const char *s, size_t n)
{
    *p = (struct sp){ .a = a, .s = s, .n = n };
    while (p->n > 0 && s[p->n - 1] == ' ')
        p->n--;
    skip_sp(p);
}

int
gw_sfv_parse_dict(struct gw_arena *a, const char *s, size_t n, struct gw_sfv_member **out)
{
    struct gw_sfv_member *head = NULL, **tail = &head, *m;
    struct sp p;
    int r = 1;

    sp_init(&p, a, s, n);
    r = p.i == p.n;
    while (!r) {
        if ((m = new_node(&p)) == NULL || parse_key(&p, &m->key, &m->key_len) < 0)
            return -1;
        if (peek(&p) == '=') {
            p.i++;
            if (parse_item_or_inner(&p, &m->v) < 0)
                return -1;
        } else {
            m->v.type = GW_SFV_BOOLEAN;
            m->v.num = 1;
            if (parse_params(&p, &m->v.params) < 0)
                return -1;
        }
        put_keyed(&head, &tail, m);
        if ((r = next_member(&p)) < 0)
            return -1;
    }
    *out = head;
    return 0;
}

int
gw_sfv_parse_list(struct gw_arena *a, const char *s, size_t n, struct gw_sfv_member **out)
{
    struct gw_sfv_member *head = NULL, **tail = &head, *m;
    struct sp p;
    int r;

    sp_init(&p, a, s, n);
    r = p.i == p.n;
    while (!r) {
        if ((m = new_node(&p)) == NULL || parse_item_or_inner(&p, &m->v) < 0)
            return -1;
        *tail = m;
        tail = &m->next;
        if ((r = next_member(&p)) < 0)
            return -1;
    }
    *out = head;
    return 0;
}

int
gw_sfv_parse_item(struct gw_arena *a, const char *s, size_t n, struct gw_sfv_item *out)
{
    struct sp p;

    sp_init(&p, a, s, n);
    memset(out, 0, sizeof *out);
    if (parse_item(&p, out) < 0 || p.i != p.n)
        return -1;
    return 0;
}

/* ---- lookups ------------------------------------------------------------------------------- */

const struct gw_sfv_member *
gw_sfv_get(const struct gw_sfv_member *m, const char *key)
{
    size_t len = strlen(key);

    for (; m != NULL; m = m->next)
        if (m->key != NULL && m->key_len == len && memcmp(m->key, key, len) == 0)
            return m;
    return NULL;
}

static const struct gw_sfv_item *
param(const struct gw_sfv_item *it, const char *key, enum gw_sfv_type type, int *rc)
{
    const struct gw_sfv_member *m = gw_sfv_get(it->params, key);

    *rc = m == NULL ? 0 : m->v.type == type ? 1 : -1;
    return *rc == 1 ? &m->v : NULL;
}

int
gw_sfv_param_str(const struct gw_sfv_item *it, const char *key, const char **out, size_t *len)
{
    int rc;
    const struct gw_sfv_item *v = param(it, key, GW_SFV_STRING, &rc);

    if (v != NULL) {
        *out = v->str;
        *len = v->len;
    }
    return rc;
}

int
gw_sfv_param_int(const struct gw_sfv_item *it, const char *key, int64_t *out)
{
    int rc;
    const struct gw_sfv_item *v = param(it, key, GW_SFV_INTEGER, &rc);

    if (v != NULL)
        *out = v->num;
    return rc;
}

int
gw_sfv_param_bool(const struct gw_sfv_item *it, const char *key, int *out)
{
    int rc;
    const struct gw_sfv_item *v = param(it, key, GW_SFV_BOOLEAN, &rc);

    if (v != NULL)
        *out = (int)v->num;
    return rc;
}

/* ---- serializing --------------------------------------------------------------------------- */

struct sw {
    char *out;
    size_t room, n;
    int bad;
};

static void
put(struct sw *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, w->n++)
        if (w->n < w->room)
            w->out[w->n] = s[i];
}

static void
puts_(struct sw *w, const char *s)
{
    put(w, s, strlen(s));
}

static void
put_key(struct sw *w, const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)k[i];
        if (!(is_lcalpha(c) || c == '*' ||
              (i > 0 && (is_digit(c) || c == '_' || c == '-' || c == '.'))))
            w->bad = 1;
    }
    put(w, k, n);
}

static void
put_bare(struct sw *w, const struct gw_sfv_item *it)
{
    char num[32];
    int64_t v = it->num < 0 ? -it->num : it->num;

    switch (it->type) {
    case GW_SFV_INTEGER:
        if (v > 999999999999999LL)
            w->bad = 1;
        snprintf(num, sizeof num, "%s%lld", it->num < 0 ? "-" : "", (long long)v);
        puts_(w, num);
        break;
    case GW_SFV_DECIMAL: {
        int f = (int)(v % 1000);
        char frac[4] = { (char)('0' + f / 100), (char)('0' + f / 10 % 10), (char)('0' + f % 10) };
        if (v / 1000 > 999999999999LL)
            w->bad = 1;
        for (int d = 2; d > 0 && frac[d] == '0'; d--) /* at least one fraction digit */
            frac[d] = '\0';
        snprintf(num, sizeof num, "%s%lld.%s", it->num < 0 ? "-" : "", (long long)(v / 1000),
                 frac);
        puts_(w, num);
        break;
    }
    case GW_SFV_STRING:
        put(w, "\"", 1);
        for (size_t i = 0; i < it->len; i++) {
            char c = it->str[i];
            if (c < 0x20 || c > 0x7e)
                w->bad = 1;
            if (c == '"' || c == '\\')
                put(w, "\\", 1);
            put(w, &c, 1);
        }
        put(w, "\"", 1);
        break;
    case GW_SFV_TOKEN:
        for (size_t i = 0; i < it->len; i++) {
            int c = (unsigned char)it->str[i];
            if (i == 0 ? !(is_alpha(c) || c == '*') : !(is_tchar(c) || c == ':' || c == '/'))
                w->bad = 1;
        }
        if (it->len == 0)
            w->bad = 1;
        put(w, it->str, it->len);
        break;
    case GW_SFV_BYTES: {
        char b64[4 * 64];
        put(w, ":", 1);
        for (size_t i = 0; i < it->len; i += 3 * 64) {
            size_t k = it->len - i < 3 * 64 ? it->len - i : 3 * 64;
            put(w, b64, gw_base64_encode(b64, (const unsigned char *)it->str + i, k, 0));
        }
        put(w, ":", 1);
        break;
    }
    case GW_SFV_BOOLEAN:
        puts_(w, it->num ? "?1" : "?0");
        break;
    case GW_SFV_INNER_LIST:
        w->bad = 1;
        break;
    }
}

static void
put_params(struct sw *w, const struct gw_sfv_member *m)
{
    for (; m != NULL; m = m->next) {
        put(w, ";", 1);
        put_key(w, m->key, m->key_len);
        if (m->v.type == GW_SFV_INNER_LIST)
            w->bad = 1;
        else if (!(m->v.type == GW_SFV_BOOLEAN && m->v.num == 1)) {
            put(w, "=", 1);
            put_bare(w, &m->v);
        }
    }
}

static void
put_item(struct sw *w, const struct gw_sfv_item *it)
{
    if (it->type == GW_SFV_INNER_LIST) {
        put(w, "(", 1);
        for (const struct gw_sfv_member *m = it->items; m != NULL; m = m->next) {
            if (m != it->items)
                put(w, " ", 1);
            if (m->v.type == GW_SFV_INNER_LIST)
                w->bad = 1;
            else
                put_item(w, &m->v);
        }
        put(w, ")", 1);
    } else {
        put_bare(w, it);
    }
    put_params(w, it->params);
}

static long
done(const struct sw *w)
{
    return w->bad || w->n > (size_t)0x7fffffff ? -1 : (long)w->n;
}

long
gw_sfv_write_item(char *out, size_t room, const struct gw_sfv_item *it)
{
    struct sw w = { .out = out, .room = room };

    put_item(&w, it);
    return done(&w);
}

long
gw_sfv_write_dict(char *out, size_t room, const struct gw_sfv_member *m)
{
    struct sw w = { .out = out, .room = room };

    for (const struct gw_sfv_member *e = m; e != NULL; e = e->next) {
        if (e != m)
            put(&w, ", ", 2);
        put_key(&w, e->key, e->key_len);
        if (e->v.type == GW_SFV_BOOLEAN && e->v.num == 1) {
            put_params(&w, e->v.params);
        } else {
            put(&w, "=", 1);
            put_item(&w, &e->v);
        }
    }
    return done(&w);
}

long
gw_sfv_write_list(char *out, size_t room, const struct gw_sfv_member *m)
{
    struct sw w = { .out = out, .room = room };

    for (const struct gw_sfv_member *e = m; e != NULL; e = e->next) {
        if (e != m)
            put(&w, ", ", 2);
        put_item(&w, &e->v);
    }
    return done(&w);
}
