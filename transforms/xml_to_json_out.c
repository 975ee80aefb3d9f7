/* xml_to_json_out.c: what the XML to JSON walk writes (xml_to_json.c), as JSON text in the
 * exchange's arena or, when the next step of the chain takes a JSON document, as that document
 * (json_tree.h) with no text in between. Both take the same calls in the same order, so the tree
 * written out (tf_jv_write) is the text, byte for byte, pretty or not. */
#include "xml_to_json_int.h"

#include <string.h>

#include "text.h"
#include "xj_convention.h"

/* Where the next value goes in the tree: the member keyed last, the next item, or the root. */
static struct jv *
slot(struct xj *w)
{
    struct jv *c;

    if (w->nopen == 0)
        return &w->root;
    c = w->open[w->nopen - 1];
    if (c->t == J_OBJ)
        return tf_jv_add(w->x, c, w->key, w->key_len);
    return tf_jv_push(w->x, c);
}

void
xj_key(struct xj *w, const char *key, int *first)
{
    size_t n = strlen(key);

    if (w->tree) {
        *first = 0;
        w->key = tf_jv_dup(w->x, key, n);
        w->key_len = n;
        return;
    }
    if (!*first)
        gw_buf_addc(&w->o, ',');
    *first = 0;
    if (w->c->pretty)
        tf_xj_out_indent(&w->o, w->depth);
    gw_json_str(&w->o, key, n, 0);
    gw_buf_add(&w->o, ": ", w->c->pretty ? 2 : 1);
}

void
xj_open(struct xj *w, int array, int on_one_line)
{
    w->depth++;
    w->one_line = on_one_line;
    if (w->tree) {
        struct jv *v = slot(w);
        *v = array ? tf_jv_array() : tf_jv_object();
        if (on_one_line)
            v->flags |= JV_INLINE;
        if (w->nopen == w->open_cap) {
            size_t cap = w->open_cap ? w->open_cap * 2 : 32;
            struct jv **more = w->x->alloc(w->x, cap * sizeof *more);
            if (w->nopen > 0)
                memcpy(more, w->open, w->nopen * sizeof *more);
            w->open = more;
            w->open_cap = cap;
        }
        w->open[w->nopen++] = v;
        return;
    }
    gw_buf_addc(&w->o, array ? '[' : '{');
}

void
xj_item(struct xj *w, size_t i)
{
    if (w->tree)
        return;
    if (i > 0)
        gw_buf_addc(&w->o, ',');
    if (w->c->pretty && !w->one_line)
        tf_xj_out_indent(&w->o, w->depth);
}

void
xj_close(struct xj *w, int array, int any)
{
    w->depth--;
    w->one_line = 0;
    if (w->tree) {
        w->nopen--;
        return;
    }
    if (any && w->c->pretty)
        tf_xj_out_indent(&w->o, w->depth);
    gw_buf_addc(&w->o, array ? ']' : '}');
}

void
xj_string(struct xj *w, const char *s, size_t n)
{
    if (w->tree)
        *slot(w) = tf_jv_string(tf_jv_dup(w->x, s, n), n);
    else
        gw_json_str(&w->o, s, n, 0);
}

void
xj_literal(struct xj *w, const char *s, size_t n)
{
    struct jv *v;

    if (!w->tree) {
        gw_buf_add(&w->o, s, n);
        return;
    }
    v = slot(w);
    if (n == 4 && memcmp(s, "null", 4) == 0)
        *v = (struct jv){ .t = J_NULL };
    else if (n == 4 && memcmp(s, "true", 4) == 0)
        *v = (struct jv){ .t = J_TRUE };
    else if (n == 5 && memcmp(s, "false", 5) == 0)
        *v = (struct jv){ .t = J_FALSE };
    else
        *v = (struct jv){ .t = J_NUM, .s = tf_jv_dup(w->x, s, n), .n = n };
}

void
xj_empty(struct xj *w, int array)
{
    xj_open(w, array, 0);
    xj_close(w, array, 0);
}
