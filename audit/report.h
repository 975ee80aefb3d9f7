/* report.h: the pure parts of `portico audit tail` and `report` (audit/report.c): times, filters,
 * percentiles, the per-partner and per-route report and the rows of the tail table. No Kafka here,
 * so unit tests can reach all of it. */
#ifndef AU_REPORT_H
#define AU_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* An RFC 3339 time ("2026-12-02T17:28:10.123Z"; 't' or a space for 'T', 'z' for 'Z', an offset
 * "+01:00" instead of Z, fractions of a second of any length, cut to milliseconds), or a date
 * alone ("2026-12-02", midnight UTC), as milliseconds since the epoch in *ms. Returns 0, or -1
 * when s is not one. */
int au_time_parse(const char *s, int64_t *ms);

/* A --since or --until argument: a time au_time_parse() takes, or a duration before now_ms: a
 * positive integer followed by s, m, h or d ("30s", "10m", "2h", "1d"). Returns 0 (*ms set), or
 * -1. */
int au_time_arg(const char *s, int64_t now_ms, int64_t *ms);

/* Milliseconds since the epoch as "2026-12-02T17:28:10.123Z" in out (at least 32 bytes). */
void au_time_format(int64_t ms, char *out, size_t outlen);

/* The pct-th percentile (1 to 100) of n values sorted in ascending order, by nearest rank: the
 * value of rank ceil(pct * n / 100), counted from 1. 0 when n is 0. */
int64_t au_percentile(const int64_t *sorted, size_t n, unsigned pct);

/* Which events to keep. A NULL string, a zero status_max and the INT64_MIN / INT64_MAX bounds
 * keep everything; partner or route "-" keeps events where it is null. */
struct au_filter {
    const char *partner, *route, *outcome;
    int status_min, status_max;
    int64_t since_ms, until_ms; /* time.received in [since, until) */
};

/* A filter that keeps everything. */
void au_filter_init(struct au_filter *f);

/* Set the status range from "404" or a class "4xx" (1xx to 5xx). Returns 0, or -1 when s is
 * neither. */
int au_filter_status(struct au_filter *f, const char *s);

/* 1 when the event passes the filter, 0 when not (an event without the members a filter looks at
 * does not pass it). */
int au_filter_match(const struct au_filter *f, const json_t *ev);

/* The report: counts per partner and route. */
struct au_report;

/* A new report, to be freed with au_report_free(); NULL when out of memory. */
struct au_report *au_report_new(void);

/* Count one event (a JSON object). Returns 0, or -1 when out of memory. */
int au_report_add(struct au_report *r, const json_t *ev);

/* The report as a new JSON object (json_decref it), or NULL when out of memory:
 *   {"events": N, "groups": [G...], "total": G} where each G (groups sorted by partner, then
 *   route) is {"partner", "route" (strings, or null), "count", "ok", "refused", "error",
 *   "refused_rate" (refused / count) and "error_rate" (error / count: the gateway or the
 *   upstream failed; a refusal is not an error), both rounded to 4 decimals, "latency_ms":
 *   {"p50", "p95", "p99"} (nearest rank of latency_us, in ms), "request_bytes" (sum of
 *   request.bytes: as the partner sent them), "response_bytes" (sum of response.bytes_out: as the
 *   partner got them)}; total has no partner and route. Dump it with JSON_REAL_PRECISION(15) to
 *   keep the numbers short. */
json_t *au_report_json(struct au_report *r);

/* Print a report made by au_report_json() as a table. Returns 0, or -1 on a write error. */
int au_report_print(const json_t *report, FILE *out);

void au_report_free(struct au_report *r);

/* `tail --format table`: the header line, then one line per event. */
void au_tail_header(FILE *out);
void au_tail_row(const json_t *ev, FILE *out);

#endif
