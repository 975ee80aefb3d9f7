/* verify.c: see verify.h.
 *
 * Each node keeps the first message seen for each of its seq numbers (an `ev`), found again by a
 * hash table on (node, seq). A later message with the same node and seq is a replay when its id,
 * hash and canonical content are the same (the shipper sent it again after a lost acknowledgement)
 * and a conflicting duplicate otherwise. Order can only be judged within a partition, since a
 * node's events are spread over partitions by partner: a second table keeps, per (partition,
 * node), the highest seq seen there. Gaps, links and alterations are found at report time, on the
 * events sorted by seq.
 */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "jsonw.h"
#include "text.h"

/* Where a message was, and the seq it held: the head of every record kept, so one comparison
 * sorts them all. */
struct at {
    int64_t seq;
    int64_t offset;
    int32_t partition;
};

/* The first message seen with a node's seq. `calc` is the hash recomputed from the content. */
struct ev {
    struct at at;
    unsigned char id[16], prev[32], hash[32], calc[32];
};

enum { DIFF_ID = 1, DIFF_CONTENT = 2, DIFF_HASH = 4 };

struct conflict {
    struct at at;
    struct at first;
    unsigned differs; /* DIFF_* */
};

struct disorder {
    struct at at;
    struct at after; /* the higher seq seen before it in the same partition */
};

struct vnode {
    char *name;
    struct ev *ev; /* in arrival order */
    size_t nev, capev;
    struct conflict *conflicts;
    size_t nconflicts, capconflicts;
    struct disorder *disorders;
    size_t ndisorders, capdisorders;
    uint64_t replayed;
};

struct unreadable {
    int64_t offset;
    int32_t partition;
    const char *reason; /* a literal */
};

/* Open addressing on a pair of keys; a slot whose v is 0 is empty, values are stored plus one. */
struct slot {
    uint64_t a, b, v;
};

struct table {
    struct slot *s;
    size_t cap, n; /* cap is 0 or a power of two */
};

struct au_verify {
    json_t *names; /* node name -> index in nodes */
    struct vnode *nodes;
    size_t nnodes, capnodes;
    struct table seqs;  /* (node, seq) -> index in the node's ev */
    struct table marks; /* (partition, node) -> index in mark */
    struct at *mark;
    size_t nmark, capmark;
    struct unreadable *bad;
    size_t nbad, capbad;
    uint64_t messages;
    int oom;
};

/* What one message says, when it is an event. `node` points into the parsed JSON. */
struct parsed {
    const char *node;
    int64_t seq;
    unsigned char id[16], prev[32], hash[32], calc[32];
};

static const char OOM[] = "out of memory";

/* Room for element n in an array of cap elements of size bytes: the array, grown when needed, or
 * NULL (the old array is then left as it was). */
static void *
grow(void *arr, size_t *cap, size_t n, size_t size)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 16;
    if ((p = reallocarray(arr, ncap, size)) == NULL)
        return NULL;
    *cap = ncap;
    return p;
}

static uint64_t
mix(uint64_t a, uint64_t b)
{
    uint64_t x = (a * 0x9e3779b97f4a7c15ULL) ^ b;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* The slot of (a, b), or the empty slot where it would go. cap must not be 0. */
static struct slot *
tab_find(const struct table *t, uint64_t a, uint64_t b)
{
    size_t i = mix(a, b) & (t->cap - 1);

    while (t->s[i].v != 0 && (t->s[i].a != a || t->s[i].b != b))
        i = (i + 1) & (t->cap - 1);
    return &t->s[i];
}

/* The value of (a, b) plus one, or 0 when it is not there. */
static uint64_t
tab_get(const struct table *t, uint64_t a, uint64_t b)
{
    return t->cap == 0 ? 0 : tab_find(t, a, b)->v;
}

/* Set (a, b) to v. Returns 0, or -1 when out of memory. */
static int
tab_set(struct table *t, uint64_t a, uint64_t b, uint64_t v)
{
    struct slot *s;

    if ((t->n + 1) * 2 > t->cap) {
        struct table nt = {.cap = t->cap ? t->cap * 2 : 64};
        if ((nt.s = calloc(nt.cap, sizeof *nt.s)) == NULL)
            return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->s[i].v != 0)
                *tab_find(&nt, t->s[i].a, t->s[i].b) = t->s[i];
        nt.n = t->n;
        free(t->s);
        *t = nt;
    }
    s = tab_find(t, a, b);
    if (s->v == 0)
        t->n++;
    *s = (struct slot){.a = a, .b = b, .v = v + 1};
    return 0;
}

struct au_verify *
au_verify_new(void)
{
    struct au_verify *v = calloc(1, sizeof *v);

    if (v != NULL && (v->names = json_object()) == NULL) {
        free(v);
        return NULL;
    }
    return v;
}

void
au_verify_free(struct au_verify *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->nnodes; i++) {
        free(v->nodes[i].name);
        free(v->nodes[i].ev);
        free(v->nodes[i].conflicts);
        free(v->nodes[i].disorders);
    }
    free(v->nodes);
    json_decref(v->names);
    free(v->seqs.s);
    free(v->marks.s);
    free(v->mark);
    free(v->bad);
    free(v);
}

/* Member `name` of ev as n bytes spelled in 2n lowercase hex digits. Returns 0 or -1. */
static int
hex_member(const json_t *ev, const char *name, unsigned char *out, size_t n)
{
    const json_t *j = json_object_get(ev, name);

    if (!json_is_string(j) || json_string_length(j) != 2 * n)
        return -1;
    return au_hex_decode(json_string_value(j), out, n);
}

/* Check the members the chain needs and recompute the hash. Returns NULL when the message is an
 * event (p filled, pointing into ev), OOM, or why it is not one. */
static const char *
check_event(const json_t *ev, struct parsed *p)
{
    const json_t *j;
    struct gw_buf b = {0};
    const char *why = NULL;

    if (!json_is_object(ev))
        return "not a JSON object";
    j = json_object_get(ev, "v");
    if (!json_is_integer(j))
        return "no \"v\" (the schema version)";
    if (json_integer_value(j) < 1 || json_integer_value(j) > AU_EVENT_VERSION)
        return "\"v\" is not 1 to 5: a schema version this verifier does not know";
    _Static_assert(AU_EVENT_VERSION == 5, "the message above names the versions known");
    j = json_object_get(ev, "node");
    if (!json_is_string(j) || json_string_length(j) == 0 ||
        strlen(json_string_value(j)) != json_string_length(j))
        return "no \"node\" (a name)";
    p->node = json_string_value(j);
    j = json_object_get(ev, "seq");
    if (!json_is_integer(j) || json_integer_value(j) < 1)
        return "no \"seq\" (a positive integer)";
    p->seq = json_integer_value(j);
    if (hex_member(ev, "prev", p->prev, sizeof p->prev) < 0)
        return "no \"prev\" (64 lowercase hex digits)";
    if (hex_member(ev, "hash", p->hash, sizeof p->hash) < 0)
        return "no \"hash\" (64 lowercase hex digits)";
    if (hex_member(ev, "id", p->id, sizeof p->id) < 0)
        return "no \"id\" (32 lowercase hex digits)";
    if (au_json_canon(&b, ev, "hash") < 0)
        why = "a number with a fraction or an exponent, which no event holds";
    else if (b.oom)
        why = OOM;
    else
        au_chain_hash(p->prev, b.p, b.len, p->calc);
    gw_buf_free(&b);
    return why;
}

static void
unreadable(struct au_verify *v, int32_t partition, int64_t offset, const char *reason)
{
    struct unreadable *u = grow(v->bad, &v->capbad, v->nbad, sizeof *v->bad);

    if (u == NULL) {
        v->oom = 1;
        return;
    }
    v->bad = u;
    v->bad[v->nbad++] =
        (struct unreadable){.partition = partition, .offset = offset, .reason = reason};
}

/* The index of the node called name, added when new. Returns 0, or -1 when out of memory. */
static int
node_index(struct au_verify *v, const char *name, size_t *ni)
{
    json_t *j = json_object_get(v->names, name);
    struct vnode *nodes;

    if (j != NULL) {
        *ni = (size_t)json_integer_value(j);
        return 0;
    }
    if ((nodes = grow(v->nodes, &v->capnodes, v->nnodes, sizeof *v->nodes)) == NULL)
        return -1;
    v->nodes = nodes;
    nodes[v->nnodes] = (struct vnode){.name = strdup(name)};
    if (nodes[v->nnodes].name == NULL)
        return -1;
    if (json_object_set_new(v->names, name, json_integer((json_int_t)v->nnodes)) < 0) {
        free(nodes[v->nnodes].name);
        return -1;
    }
    *ni = v->nnodes++;
    return 0;
}

/* Raise the node's mark in this partition to `at` if it is higher. `before` gets the mark as it
 * was (seq 0: none). Returns 0, or -1 when out of memory. */
static int
mark_see(struct au_verify *v, size_t ni, const struct at *at, struct at *before)
{
    uint64_t m = tab_get(&v->marks, (uint32_t)at->partition, ni);
    struct at *marks;

    if (m != 0) {
        *before = v->mark[m - 1];
        if (at->seq > before->seq)
            v->mark[m - 1] = *at;
        return 0;
    }
    *before = (struct at){0};
    if ((marks = grow(v->mark, &v->capmark, v->nmark, sizeof *v->mark)) == NULL)
        return -1;
    v->mark = marks;
    if (tab_set(&v->marks, (uint32_t)at->partition, ni, v->nmark) < 0)
        return -1;
    v->mark[v->nmark++] = *at;
    return 0;
}

/* A second message with a seq the node already has: a replay, or a conflict. */
static int
take_again(struct au_verify *v, size_t ni, const struct ev *first, const struct parsed *p,
           const struct at *at)
{
    struct vnode *nd = &v->nodes[ni];
    struct conflict *c;
    struct at before;
    unsigned differs = 0;

    if (memcmp(first->id, p->id, sizeof p->id) != 0)
        differs |= DIFF_ID;
    if (memcmp(first->calc, p->calc, sizeof p->calc) != 0)
        differs |= DIFF_CONTENT;
    if (memcmp(first->hash, p->hash, sizeof p->hash) != 0)
        differs |= DIFF_HASH;
    if (differs == 0) {
        nd->replayed++;
        return 0;
    }
    if ((c = grow(nd->conflicts, &nd->capconflicts, nd->nconflicts, sizeof *c)) == NULL)
        return -1;
    nd->conflicts = c;
    c[nd->nconflicts++] = (struct conflict){.at = *at, .first = first->at, .differs = differs};
    return mark_see(v, ni, at, &before);
}

/* A seq the node did not have yet. */
static int
take_first(struct au_verify *v, size_t ni, const struct parsed *p, const struct at *at)
{
    struct vnode *nd = &v->nodes[ni];
    struct disorder *d;
    struct ev *e;
    struct at before;

    if ((e = grow(nd->ev, &nd->capev, nd->nev, sizeof *e)) == NULL)
        return -1;
    nd->ev = e;
    e = &nd->ev[nd->nev];
    e->at = *at;
    memcpy(e->id, p->id, sizeof e->id);
    memcpy(e->prev, p->prev, sizeof e->prev);
    memcpy(e->hash, p->hash, sizeof e->hash);
    memcpy(e->calc, p->calc, sizeof e->calc);
    if (tab_set(&v->seqs, ni, (uint64_t)p->seq, nd->nev) < 0)
        return -1;
    nd->nev++;
    if (mark_see(v, ni, at, &before) < 0)
        return -1;
    if (before.seq <= at->seq)
        return 0;
    if ((d = grow(nd->disorders, &nd->capdisorders, nd->ndisorders, sizeof *d)) == NULL)
        return -1;
    nd->disorders = d;
    d[nd->ndisorders++] = (struct disorder){.at = *at, .after = before};
    return 0;
}

void
au_verify_add(struct au_verify *v, int32_t partition, int64_t offset, const char *value, size_t len)
{
    struct at at = {.partition = partition, .offset = offset};
    struct parsed p = {0};
    const char *why;
    json_t *ev = NULL;
    uint64_t first;
    size_t ni;
    int rc;

    v->messages++;
    if (value == NULL || len == 0) {
        unreadable(v, partition, offset, "an empty message");
        return;
    }
    /* NULs are allowed in strings: a captured body may hold them, and the gateway escapes them */
    ev = json_loadb(value, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    why = ev == NULL ? "not JSON" : check_event(ev, &p);
    if (why == OOM) {
        v->oom = 1;
    } else if (why != NULL) {
        unreadable(v, partition, offset, why);
    } else if (node_index(v, p.node, &ni) < 0) {
        v->oom = 1;
    } else {
        at.seq = p.seq;
        first = tab_get(&v->seqs, ni, (uint64_t)p.seq);
        if (first != 0)
            rc = take_again(v, ni, &v->nodes[ni].ev[first - 1], &p, &at);
        else
            rc = take_first(v, ni, &p, &at);
        if (rc < 0)
            v->oom = 1;
    }
    json_decref(ev);
}

/* --- the report --- */

static int
at_cmp(const void *a, const void *b)
{
    const struct at *x = a, *y = b;

    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return 0;
}

static int
evp_cmp(const void *a, const void *b)
{
    return at_cmp(&(*(const struct ev *const *)a)->at, &(*(const struct ev *const *)b)->at);
}

static json_t *
hex_json(const unsigned char *d, size_t n)
{
    char s[65];

    n = n < 32 ? n : 32;
    gw_hex_encode(s, d, n);
    s[2 * n] = '\0';
    return json_string(s);
}

/* {partition, offset}, with seq first when with_seq. */
static json_t *
at_json(const struct at *at, int with_seq)
{
    if (with_seq)
        return json_pack("{s:I,s:i,s:I}", "seq", (json_int_t)at->seq, "partition",
                         (int)at->partition, "offset", (json_int_t)at->offset);
    return json_pack("{s:i,s:I}", "partition", (int)at->partition, "offset",
                     (json_int_t)at->offset);
}

/* Append item (a new reference, may be NULL) to arr. Returns 0, or -1 when out of memory. */
static int
append(json_t *arr, json_t *item)
{
    return item == NULL ? -1 : json_array_append_new(arr, item);
}

/* The event's hash against its content. */
static int
check_hash(json_t *o, const struct ev *e)
{
    if (memcmp(e->hash, e->calc, 32) == 0)
        return 0;
    return append(json_object_get(o, "altered"),
                  json_pack("{s:I,s:i,s:I,s:o,s:o}", "seq", (json_int_t)e->at.seq, "partition",
                            (int)e->at.partition, "offset", (json_int_t)e->at.offset, "hash",
                            hex_json(e->hash, 32), "computed", hex_json(e->calc, 32)));
}

/* Seq N's prev against the hash of N-1 (pe), or against 64 zeros for seq 1 (pe NULL). */
static int
check_link(json_t *o, const struct ev *e, const struct ev *pe)
{
    static const unsigned char zeros[32];
    json_t *prev_at = NULL;

    if (memcmp(e->prev, pe != NULL ? pe->hash : zeros, 32) == 0)
        return 0;
    if (pe != NULL) {
        prev_at = at_json(&pe->at, 1);
        if (prev_at == NULL || json_object_set_new(prev_at, "hash", hex_json(pe->hash, 32)) < 0) {
            json_decref(prev_at);
            return -1;
        }
    }
    return append(json_object_get(o, "broken_links"),
                  json_pack("{s:I,s:i,s:I,s:o,s:o?}", "seq", (json_int_t)e->at.seq, "partition",
                            (int)e->at.partition, "offset", (json_int_t)e->at.offset, "prev",
                            hex_json(e->prev, 32), "previous", prev_at));
}

/* Gaps, links and alterations, walking the events sorted by seq. A chain that starts after seq 1
 * has no gap before its first event (retention removes the oldest messages): the caller says
 * so. */
static int
check_chain(json_t *o, const struct ev *const *ev, size_t n)
{
    const struct ev *e, *pe;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        e = ev[i];
        pe = i > 0 ? ev[i - 1] : NULL;
        rc |= check_hash(o, e);
        if (pe == NULL) {
            if (e->at.seq == 1)
                rc |= check_link(o, e, NULL);
        } else if (e->at.seq == pe->at.seq + 1) {
            rc |= check_link(o, e, pe);
        } else {
            rc |= append(json_object_get(o, "gaps"),
                         json_pack("{s:I,s:I,s:I,s:o,s:o}", "from", (json_int_t)(pe->at.seq + 1),
                                   "to", (json_int_t)(e->at.seq - 1), "missing",
                                   (json_int_t)(e->at.seq - pe->at.seq - 1), "after",
                                   at_json(&pe->at, 1), "before", at_json(&e->at, 1)));
        }
    }
    return rc;
}

static json_t *
differs_json(unsigned d)
{
    return json_pack("[s*,s*,s*]", (d & DIFF_ID) ? "id" : NULL,
                     (d & DIFF_CONTENT) ? "content" : NULL, (d & DIFF_HASH) ? "hash" : NULL);
}

/* The conflicting duplicates and the events out of order, sorted by seq. */
static int
check_arrivals(json_t *conflicts, json_t *disorders, struct vnode *nd)
{
    int rc = 0;

    if (nd->nconflicts > 0) /* the arrays are NULL while empty, which qsort may not take */
        qsort(nd->conflicts, nd->nconflicts, sizeof *nd->conflicts, at_cmp);
    if (nd->ndisorders > 0)
        qsort(nd->disorders, nd->ndisorders, sizeof *nd->disorders, at_cmp);
    for (size_t i = 0; i < nd->nconflicts && rc == 0; i++) {
        const struct conflict *c = &nd->conflicts[i];
        rc = append(conflicts,
                    json_pack("{s:I,s:i,s:I,s:o,s:o}", "seq", (json_int_t)c->at.seq, "partition",
                              (int)c->at.partition, "offset", (json_int_t)c->at.offset, "first",
                              at_json(&c->first, 0), "differs", differs_json(c->differs)));
    }
    for (size_t i = 0; i < nd->ndisorders && rc == 0; i++) {
        const struct disorder *d = &nd->disorders[i];
        rc = append(disorders, json_pack("{s:I,s:i,s:I,s:o}", "seq", (json_int_t)d->at.seq,
                                         "partition", (int)d->at.partition, "offset",
                                         (json_int_t)d->at.offset, "after", at_json(&d->after, 1)));
    }
    return rc;
}

/* One node's block of the report; adds its findings to *findings. NULL when out of memory. */
static json_t *
node_report(struct vnode *nd, uint64_t *findings)
{
    const struct ev **ev = malloc((nd->nev ? nd->nev : 1) * sizeof *ev);
    json_t *lists = json_pack("{s:[],s:[],s:[],s:[],s:[]}", "gaps", "broken_links", "altered",
                              "conflicts", "out_of_order");
    json_t *o = NULL, *first = NULL, *last = NULL, *missing = NULL;
    size_t nf = 0;

    if (ev == NULL || lists == NULL)
        goto out;
    for (size_t i = 0; i < nd->nev; i++)
        ev[i] = &nd->ev[i];
    qsort(ev, nd->nev, sizeof *ev, evp_cmp);
    if (check_chain(lists, ev, nd->nev) < 0 ||
        check_arrivals(json_object_get(lists, "conflicts"), json_object_get(lists, "out_of_order"),
                       nd) < 0)
        goto out;
    if (nd->nev > 0) {
        first = json_integer(ev[0]->at.seq);
        last = json_integer(ev[nd->nev - 1]->at.seq);
        if (ev[0]->at.seq > 1)
            missing = json_pack("{s:i,s:I}", "from", 1, "to", (json_int_t)(ev[0]->at.seq - 1));
    }
    nf = json_array_size(json_object_get(lists, "gaps")) +
         json_array_size(json_object_get(lists, "broken_links")) +
         json_array_size(json_object_get(lists, "altered")) +
         json_array_size(json_object_get(lists, "conflicts")) +
         json_array_size(json_object_get(lists, "out_of_order"));
    o = json_pack("{s:s,s:b,s:I,s:o?,s:o?,s:o?,s:I,s:I}", "node", nd->name, "clean", nf == 0,
                  "events", (json_int_t)nd->nev, "first_seq", first, "last_seq", last,
                  "missing_start", missing, "replayed", (json_int_t)nd->replayed, "findings",
                  (json_int_t)nf);
    first = last = missing = NULL; /* json_pack took them, even when it failed */
    if (o == NULL || json_object_update(o, lists) < 0) {
        json_decref(o);
        o = NULL;
        goto out;
    }
    *findings += nf;

out:
    json_decref(first);
    json_decref(last);
    json_decref(missing);
    json_decref(lists);
    free(ev);
    return o;
}

static int
node_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct vnode *const *)a)->name, (*(const struct vnode *const *)b)->name);
}

static json_t *
unreadable_json(const struct au_verify *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < v->nbad; i++) {
        const struct unreadable *u = &v->bad[i];
        if (append(a, json_pack("{s:i,s:I,s:s}", "partition", (int)u->partition, "offset",
                                (json_int_t)u->offset, "reason", u->reason)) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

json_t *
au_verify_report(struct au_verify *v)
{
    struct vnode **sorted = malloc((v->nnodes ? v->nnodes : 1) * sizeof *sorted);
    json_t *r = NULL, *nodes = json_array(), *bad = unreadable_json(v);
    uint64_t findings = v->nbad, events = 0, replayed = 0;

    if (sorted == NULL || nodes == NULL || bad == NULL)
        goto out;
    for (size_t i = 0; i < v->nnodes; i++)
        sorted[i] = &v->nodes[i];
    qsort(sorted, v->nnodes, sizeof *sorted, node_cmp);
    for (size_t i = 0; i < v->nnodes; i++) {
        if (append(nodes, node_report(sorted[i], &findings)) < 0)
            goto out;
        events += sorted[i]->nev;
        replayed += sorted[i]->replayed;
    }
    r = json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:O,s:O}", "clean", findings == 0 && !v->oom,
                  "complete", !v->oom, "messages", (json_int_t)v->messages, "events",
                  (json_int_t)events, "replayed", (json_int_t)replayed, "findings",
                  (json_int_t)findings, "nodes", nodes, "unreadable", bad);

out:
    json_decref(nodes);
    json_decref(bad);
    free(sorted);
    return r;
}
