/* verify_print.c: a verify report (verify.h) as text for people: one block per node with its
 * gaps, broken links, alterations, conflicting duplicates, events out of order and replays, then
 * the messages that are not events, then the result line. It reads only the report's JSON, so
 * that the text says nothing the JSON does not. */
#include "verify.h"

#include <stdio.h>

#include <jansson.h>

static json_int_t
ival(const json_t *o, const char *name)
{
    return json_integer_value(json_object_get(o, name));
}

/* A string from the topic: control characters could drive the terminal, so they become '?'. */
static void
put_safe(FILE *out, const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* "seq N at P:O" for an object with seq, partition and offset. */
static void
put_at(FILE *out, const json_t *o)
{
    fprintf(out, "seq %lld at %lld:%lld", (long long)ival(o, "seq"),
            (long long)ival(o, "partition"), (long long)ival(o, "offset"));
}

static void
print_gaps(const json_t *n, FILE *out)
{
    size_t i;
    const json_t *g;

    json_array_foreach(json_object_get(n, "gaps"), i, g)
    {
        if (ival(g, "missing") == 1)
            fprintf(out, "  gap: seq %lld is missing (", (long long)ival(g, "from"));
        else
            fprintf(out, "  gap: seq %lld to %lld are missing, %lld events (",
                    (long long)ival(g, "from"), (long long)ival(g, "to"),
                    (long long)ival(g, "missing"));
        fputs("after ", out);
        put_at(out, json_object_get(g, "after"));
        fputs(", before ", out);
        put_at(out, json_object_get(g, "before"));
        fputs(")\n", out);
    }
}

static void
print_links(const json_t *n, FILE *out)
{
    size_t i;
    const json_t *f, *p;

    json_array_foreach(json_object_get(n, "broken_links"), i, f)
    {
        fputs("  broken link: ", out);
        put_at(out, f);
        if (json_is_null(p = json_object_get(f, "previous"))) {
            fputs(": its prev is not 64 zeros, as the first event's must be\n", out);
            continue;
        }
        fprintf(out, ": its prev is not the hash of seq %lld (at %lld:%lld)\n",
                (long long)ival(p, "seq"), (long long)ival(p, "partition"),
                (long long)ival(p, "offset"));
    }
    json_array_foreach(json_object_get(n, "altered"), i, f)
    {
        fputs("  altered: ", out);
        put_at(out, f);
        fputs(": its hash does not match its content\n", out);
    }
}

static void
print_arrivals(const json_t *n, FILE *out)
{
    size_t i, j;
    const json_t *f, *p, *d;

    json_array_foreach(json_object_get(n, "conflicts"), i, f)
    {
        p = json_object_get(f, "first");
        fputs("  conflicting duplicate: ", out);
        put_at(out, f);
        fprintf(out, " is not the seq %lld seen first at %lld:%lld (different",
                (long long)ival(f, "seq"), (long long)ival(p, "partition"),
                (long long)ival(p, "offset"));
        json_array_foreach(json_object_get(f, "differs"), j, d)
            fprintf(out, "%s %s", j > 0 ? "," : "", json_string_value(d));
        fputs(")\n", out);
    }
    json_array_foreach(json_object_get(n, "out_of_order"), i, f)
    {
        fputs("  out of order: ", out);
        put_at(out, f);
        fputs(" comes after ", out);
        put_at(out, json_object_get(f, "after"));
        fprintf(out, " in partition %lld\n", (long long)ival(f, "partition"));
    }
    if (ival(n, "replayed") > 0)
        fprintf(out,
                "  replayed: %lld message%s repeat%s an event unchanged (benign: shipped again)\n",
                (long long)ival(n, "replayed"), ival(n, "replayed") == 1 ? "" : "s",
                ival(n, "replayed") == 1 ? "s" : "");
}

static void
print_node(const json_t *n, FILE *out)
{
    const json_t *ms = json_object_get(n, "missing_start");
    json_int_t nf = ival(n, "findings");

    fputs("node ", out);
    put_safe(out, json_string_value(json_object_get(n, "node")));
    fprintf(out, ": %lld event%s, seq %lld to %lld: ", (long long)ival(n, "events"),
            ival(n, "events") == 1 ? "" : "s", (long long)ival(n, "first_seq"),
            (long long)ival(n, "last_seq"));
    if (nf == 0)
        fputs("clean\n", out);
    else
        fprintf(out, "%lld finding%s\n", (long long)nf, nf == 1 ? "" : "s");
    if (json_is_object(ms))
        fprintf(out,
                "  note: the chain starts at seq %lld; seq %lld to %lld are not in the topic "
                "(removed by its retention, or never shipped)\n",
                (long long)ival(n, "first_seq"), (long long)ival(ms, "from"),
                (long long)ival(ms, "to"));
    print_gaps(n, out);
    print_links(n, out);
    print_arrivals(n, out);
}

int
au_verify_print(const json_t *report, FILE *out)
{
    const json_t *nodes = json_object_get(report, "nodes");
    const json_t *bad = json_object_get(report, "unreadable");
    const json_t *j;
    size_t i;

    json_array_foreach(nodes, i, j) print_node(j, out);
    if (json_array_size(nodes) == 0)
        fputs("no audit events in the topic\n", out);
    if (json_array_size(bad) > 0)
        fprintf(out, "%zu message%s not an audit event:\n", json_array_size(bad),
                json_array_size(bad) == 1 ? " is" : "s are");
    json_array_foreach(bad, i, j)
        fprintf(out, "  %lld:%lld: %s\n", (long long)ival(j, "partition"),
                (long long)ival(j, "offset"), json_string_value(json_object_get(j, "reason")));
    if (!json_is_true(json_object_get(report, "complete")))
        fputs("result: INCOMPLETE: memory ran out while reading the topic\n", out);
    else if (json_is_true(json_object_get(report, "clean")))
        fputs("result: clean", out);
    else
        fprintf(out, "result: NOT CLEAN: %lld finding%s", (long long)ival(report, "findings"),
                ival(report, "findings") == 1 ? "" : "s");
    if (json_is_true(json_object_get(report, "complete")))
        fprintf(out, " (%lld event%s from %zu node%s in %lld message%s, %lld replayed)\n",
                (long long)ival(report, "events"), ival(report, "events") == 1 ? "" : "s",
                json_array_size(nodes), json_array_size(nodes) == 1 ? "" : "s",
                (long long)ival(report, "messages"), ival(report, "messages") == 1 ? "" : "s",
                (long long)ival(report, "replayed"));
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
