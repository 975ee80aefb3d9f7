/* verify.h: checking the audit topic's hash chains (audit/verify.c; the report as text:
 * audit/verify_print.c), with no Kafka in it.
 *
 * Feed every message of the topic, partition by partition in offset order (partitions may be
 * interleaved), then ask for the report. Each node's events form one chain (seq 1, 2, 3 ..., each
 * `prev` the `hash` of the one before, each `hash` SHA-256(prev || canonical text)); the report
 * says, per node, what is missing, altered, linked wrongly, duplicated or out of order, and where
 * (partition:offset).
 */
#ifndef AU_VERIFY_H
#define AU_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct au_verify;

/* A new, empty verifier, to be freed with au_verify_free(); NULL when out of memory. */
struct au_verify *au_verify_new(void);

/* Take one message: `value` (len bytes, need not be NUL-terminated; NULL for an empty message) at
 * partition:offset. A message that is not an event is remembered as unreadable. Out of memory is
 * remembered too and makes the report say it is incomplete (see au_verify_report). */
void au_verify_add(struct au_verify *v, int32_t partition, int64_t offset, const char *value,
                   size_t len);

/* The report on everything added so far, as a new JSON object (json_decref it), or NULL when
 * memory ran out. Its members:
 *   clean       true when there are no findings (replays and a chain that starts after seq 1
 *               because retention removed its beginning are not findings)
 *   complete    false when memory ran out while adding: the report is then not to be trusted
 *   messages, events (distinct node and seq), replayed, findings: counts
 *   nodes       one object per node, sorted by name: node, clean, events, first_seq, last_seq,
 *               missing_start ({from, to} or null), replayed, findings, and the lists gaps
 *               ({from, to, missing, after, before}), broken_links ({seq, partition, offset, prev,
 *               previous: {seq, partition, offset, hash} or null for seq 1}), altered ({seq,
 *               partition, offset, hash, computed}), conflicts ({seq, partition, offset, first:
 *               {partition, offset}, differs: ["id", "content", "hash"]}) and out_of_order ({seq,
 *               partition, offset, after: {seq, partition, offset}}), each sorted by seq
 *   unreadable  [{partition, offset, reason}] in the order they were added
 * The verifier is left as it was: more messages may be added and the report asked again. */
json_t *au_verify_report(struct au_verify *v);

/* Print a report made by au_verify_report() as text for people: one block per node, then the
 * unreadable messages, then a last line "result: clean ..." or "result: NOT CLEAN ...". Strings
 * from the topic are printed with control characters replaced. Returns 0, or -1 on a write
 * error. */
int au_verify_print(const json_t *report, FILE *out);

/* Free the verifier; NULL is allowed. */
void au_verify_free(struct au_verify *v);

#endif
