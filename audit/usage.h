/* usage.h: the pure part of `portico audit report --usage` (audit/usage.c): a period's usage per
 * caller, for billing (audit/README.md, "Usage report"). No Kafka here, so unit tests can reach
 * all of it. */
#ifndef AU_USAGE_H
#define AU_USAGE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* A --period: "2026-12" (a UTC calendar month) or "2026-12-05" (a UTC day), as the milliseconds
 * since the epoch of its first instant (*from_ms) and of the next period's (*to_ms). Returns 0, or
 * -1 when s is neither (or no such month or day). */
int au_period_parse(const char *s, int64_t *from_ms, int64_t *to_ms);

/* The usage of one period: counts per caller. */
struct au_usage;

/* A new count of the events received in [from_ms, to_ms), to be freed with au_usage_free(); NULL
 * when out of memory. */
struct au_usage *au_usage_new(int64_t from_ms, int64_t to_ms);

/* Count one event (a JSON object) if it is of kind "exchange", received in the period, and not
 * a replay (its node and seq already counted). Returns 0 (counted or left out), or -1 when out of
 * memory. */
int au_usage_add(struct au_usage *u, const json_t *ev);

/* How many events were left out as replays. */
uint64_t au_usage_replays(const struct au_usage *u);

/* The usage as a new JSON object (json_decref it), or NULL when out of memory:
 *   {"period": period, "from": RFC 3339, "to": RFC 3339, "callers": [C...]} where each C (sorted
 *   by kind, then id) is {"kind" ("anonymous", "consumer" or "partner"), "id" ("-" for
 *   anonymous), "plan" (string or null), "requests", "accepted", "refused_by_limit",
 *   "refused_other", "errors", "request_bytes", "response_bytes"}. */
json_t *au_usage_json(const struct au_usage *u, const char *period);

/* The callers of a document made by au_usage_json() as CSV (RFC 4180: a header line, CRLF line
 * ends, fields with a comma, a quote or a line end quoted, quotes doubled; a null plan is empty).
 * Returns 0, or -1 on a write error. */
int au_usage_csv(const json_t *doc, FILE *out);

void au_usage_free(struct au_usage *u);

#endif
