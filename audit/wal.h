/* wal.h: the audit write-ahead log: records kept before the answer leaves, until Kafka has them.
 *
 * Writers append records to a ring in a memory file system (wal_ring.h): a copy under a lock, with
 * no system call, and the record is safe from a crash of the process (SIGKILL included) as soon as
 * au_wal_append returns. The shipper copies the ring into the log's segment files on disk
 * (`wal-<first position in hex>.seg`, preallocated) before each sync (au_wal_flush), and
 * au_wal_sync() makes them safe from a crash of the machine (fdatasync, on a configured period);
 * records Kafka acknowledged before then are not written at all (au_wal_ack). On open, the records
 * the last run left in the ring and not on disk are copied there first.
 *
 * A record is a 56-byte header (magic, CRC-32 of the rest, payload length, key length, the event's
 * chain number and hash) and the payload: the Kafka key, then the event. Positions ("lsn") are
 * byte offsets that only grow, across segments. The shipper reads records in order, and once Kafka
 * acknowledged them au_wal_ack() moves the trim point: a `checkpoint` file keeps it (with the chain
 * number and hash there) and segments wholly before it are retired: one is kept as `spare.seg`, to
 * be the next new segment (allocated, its pages cached), the others are deleted. On open, records
 * after the checkpoint are found again; a torn record (a crash in the middle of a write) is skipped
 * with a warning, never read back as an event.
 */
#ifndef AU_WAL_H
#define AU_WAL_H

#include <stddef.h>
#include <stdint.h>

struct au_wal;

struct au_wal_rec {
    uint64_t lsn, next;       /* where it is, where the next one starts */
    uint64_t seq;
    unsigned char hash[32];
    const char *key;          /* into the mapped segment: valid until the record is acknowledged */
    size_t keylen;
    const char *value;
    size_t len;
    int in_ring;              /* key and value are in the ring, where they are written over once
                                 copied to disk (au_wal_flush): copy them before that */
};

/* A record's payload in pieces, in order (the key first). */
struct au_wal_piece {
    const void *p;
    size_t n;
};
#define AU_WAL_PIECES 8

/* Give a record's payload as at most AU_WAL_PIECES pieces (at most keylen + len bytes in all, as
 * reserved), given its chain number and the previous record's hash; write the record's own hash
 * into `hash`. The pieces stay valid until au_wal_append returns. Returns how many there are. */
typedef size_t (*au_wal_fill_fn)(void *arg, uint64_t seq, const unsigned char prev[32],
                               struct au_wal_piece *pieces, unsigned char hash[32]);

/* Open (create) the log in `dir`, bounded to about max_bytes of records not yet acknowledged.
 * Returns NULL with a message in err. */
struct au_wal *au_wal_open(const char *dir, uint64_t max_bytes, const char *ring_dir,
                           size_t ring_bytes, char *err, size_t errlen);
void au_wal_close(struct au_wal *w);

/* Append one record of keylen + at most len payload bytes: `fill` runs under the log's lock with
 * the next chain number. Returns 0, or -1 when the log is full (nothing written) or cannot grow. */
int au_wal_append(struct au_wal *w, size_t keylen, size_t len, au_wal_fill_fn fill, void *arg);

/* Used bytes (appended and not yet acknowledged) and the bound. */
uint64_t au_wal_used(const struct au_wal *w);
/* What may still be appended: the room in the log's bound, or in the ring while the shipper has
 * not copied it to disk, whichever is less. */
uint64_t au_wal_room(const struct au_wal *w);
/* Watch the room: au_wal_tight() is true from when it falls under `bytes` (an append sees it)
 * until the shipper finds it above again. A cheap first look for every exchange: only when the
 * log is tight is the room itself read (it is on lines the writers change all the time). */
void au_wal_watch(struct au_wal *w, uint64_t bytes);
int au_wal_tight(const struct au_wal *w);
uint64_t au_wal_max(const struct au_wal *w);
/* How many records the last run left to ship, found by au_wal_open(). */
uint64_t au_wal_opened_records(const struct au_wal *w);

/* Reading, from the shipper's thread: the first position not yet acknowledged, the end, and the
 * record at lsn (1), none there yet (0). A damaged stretch is skipped with a warning. */
uint64_t au_wal_acked(const struct au_wal *w);
uint64_t au_wal_end(const struct au_wal *w);
int au_wal_read(struct au_wal *w, uint64_t lsn, struct au_wal_rec *r);

/* Everything before `lsn` is in Kafka; `seq` and `hash` are those of the record that ends there.
 * Records the checkpoint and retires the segments wholly before it. */
void au_wal_ack(struct au_wal *w, uint64_t lsn, uint64_t seq, const unsigned char hash[32]);

/* fdatasync what was written since the last call (checkpoint, then segments). */
void au_wal_sync(struct au_wal *w);
/* Copy what the writers appended from the ring into the segments, but for what Kafka has already
 * acknowledged (au_wal_ack moved the checkpoint past it without writing it): before each sync. */
void au_wal_flush(struct au_wal *w);
/* The same, only when more than a quarter of the ring is in use (shipper, every turn). */
void au_wal_flush_some(struct au_wal *w);

/* The last record's chain number and hash (0 and zeros for a new log). */
void au_wal_chain_tail(struct au_wal *w, uint64_t *seq, unsigned char hash[32]);

#endif
