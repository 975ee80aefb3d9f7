/* wal.h: a write-ahead log: records kept before the answer leaves, until Kafka has them (the
 * audit's; it needs nothing above base/, so that a connector may keep one too).
 *
 * Writers append records to a ring in a memory file system (wal_ring.h): a copy under a lock, with
 * no system call, and the record is safe from a crash of the process (SIGKILL included) as soon as
 * gw_wal_append returns. The shipper copies the ring into the log's segment files on disk
 * (`wal-<first position in hex>.seg`, preallocated) before each sync (gw_wal_flush), and
 * gw_wal_sync() makes them safe from a crash of the machine (fdatasync, on a configured period);
 * records Kafka acknowledged before then are not written at all (gw_wal_ack). On open, the records
 * the last run left in the ring and not on disk are copied there first.
 *
 * A record is a 56-byte header (magic, CRC-32 of the rest, payload length, key length, the record's
 * chain number and hash) and the payload: the Kafka key, then the value. Positions ("lsn") are
 * byte offsets that only grow, across segments. The shipper reads records in order, and once Kafka
 * acknowledged them gw_wal_ack() moves the trim point: a `checkpoint` file keeps it (with the chain
 * number and hash there) and segments wholly before it are retired: one is kept as `spare.seg`, to
 * be the next new segment (allocated, its pages cached), the others are deleted. On open, records
 * after the checkpoint are found again; a torn record (a crash in the middle of a write) is skipped
 * with a warning, never read back as a record.
 */
#ifndef GW_WAL_H
#define GW_WAL_H

#include <stddef.h>
#include <stdint.h>

struct gw_wal;

struct gw_wal_rec {
    uint64_t lsn, next;       /* where it is, where the next one starts */
    uint64_t seq;
    unsigned char hash[32];
    const char *key;          /* into the mapped segment: valid until the record is acknowledged */
    size_t keylen;
    const char *value;
    size_t len;
    int in_ring;              /* key and value are in the ring, where they are written over once
                                 copied to disk (gw_wal_flush): copy them before that */
};

/* A record's payload in pieces, in order (the key first). */
struct gw_wal_piece {
    const void *p;
    size_t n;
};
#define GW_WAL_PIECES 8

/* Give a record's payload as at most GW_WAL_PIECES pieces (at most keylen + len bytes in all, as
 * reserved), given its chain number and the previous record's hash; write the record's own hash
 * into `hash`. The pieces stay valid until gw_wal_append returns. Returns how many there are. */
typedef size_t (*gw_wal_fill_fn)(void *arg, uint64_t seq, const unsigned char prev[32],
                               struct gw_wal_piece *pieces, unsigned char hash[32]);

/* Open (create) the log `name` ("audit": its messages and its ring's file name say it) in `dir`,
 * bounded to about max_bytes of records not yet acknowledged. Returns NULL with a message in
 * err. */
struct gw_wal *gw_wal_open(const char *name, const char *dir, uint64_t max_bytes,
                           const char *ring_dir, size_t ring_bytes, char *err, size_t errlen);
void gw_wal_close(struct gw_wal *w);

/* Append one record of keylen + at most len payload bytes: `fill` runs under the log's lock with
 * the next chain number. Returns 0, or -1 when the log is full (nothing written) or cannot grow. */
int gw_wal_append(struct gw_wal *w, size_t keylen, size_t len, gw_wal_fill_fn fill, void *arg);

/* Used bytes (appended and not yet acknowledged) and the bound. */
uint64_t gw_wal_used(const struct gw_wal *w);
/* What may still be appended: the room in the log's bound, or in the ring while the shipper has
 * not copied it to disk, whichever is less. */
uint64_t gw_wal_room(const struct gw_wal *w);
/* Watch the room: gw_wal_tight() is true from when it falls under `bytes` (an append sees it)
 * until the shipper finds it above again. A cheap first look for every exchange: only when the
 * log is tight is the room itself read (it is on lines the writers change all the time). */
void gw_wal_watch(struct gw_wal *w, uint64_t bytes);
int gw_wal_tight(const struct gw_wal *w);
uint64_t gw_wal_max(const struct gw_wal *w);
/* The log's identity: a random number made with the log and kept with it (never 0). */
uint64_t gw_wal_id(const struct gw_wal *w);
/* How many records the last run left to ship, found by gw_wal_open(). */
uint64_t gw_wal_opened_records(const struct gw_wal *w);

/* Reading, from the shipper's thread: the first position not yet acknowledged, the end, and the
 * record at lsn (1), none there yet (0). A damaged stretch is skipped with a warning. */
uint64_t gw_wal_acked(const struct gw_wal *w);
uint64_t gw_wal_end(const struct gw_wal *w);
int gw_wal_read(struct gw_wal *w, uint64_t lsn, struct gw_wal_rec *r);

/* Everything before `lsn` is in Kafka; `seq` and `hash` are those of the record that ends there.
 * Records the checkpoint and retires the segments wholly before it. */
void gw_wal_ack(struct gw_wal *w, uint64_t lsn, uint64_t seq, const unsigned char hash[32]);

/* fdatasync what was written since the last call (checkpoint, then segments). */
void gw_wal_sync(struct gw_wal *w);
/* Copy what the writers appended from the ring into the segments, but for what Kafka has already
 * acknowledged (gw_wal_ack moved the checkpoint past it without writing it): before each sync. */
void gw_wal_flush(struct gw_wal *w);
/* The same, only when more than a quarter of the ring is in use (shipper, every turn). */
void gw_wal_flush_some(struct gw_wal *w);

/* The last record's chain number and hash (0 and zeros for a new log). */
void gw_wal_chain_tail(struct gw_wal *w, uint64_t *seq, unsigned char hash[32]);

#endif
