/* wal_int.h: the write-ahead log's insides, shared by wal.c (writing, reading, copying to disk,
 * trimming) and wal_open.c (what the last run left). Not for other files: wal.h is the log. */
#ifndef GW_WAL_INT_H
#define GW_WAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <isa-l/crc.h>

#include "wal.h"
#include "wal_ring.h"

#define REC_MAGIC 0x31574150u  /* "PAW1" */
#define CKPT_MAGIC 0x314b4350u /* "PCK1" */
#define ID_AT 64               /* where the log's identity is in the checkpoint file */

struct rec_hdr {
    uint32_t magic;
    uint32_t crc;    /* CRC-32 (gzip's) of everything after it: the rest of the header, the payload */
    uint32_t len;    /* payload bytes: key, then value */
    uint16_t keylen;
    uint16_t flags;
    uint64_t seq;
    unsigned char hash[32];
};
_Static_assert(sizeof(struct rec_hdr) == 56, "the record header is 56 bytes on disk");
#define HDR sizeof(struct rec_hdr)

struct ckpt {
    uint32_t magic;
    uint32_t crc;
    uint64_t acked;
    uint64_t seq;
    unsigned char hash[32];
};

/* A segment on disk. Records are written into it by the shipper (pwrite, from the ring) and read
 * through `map`, read-only: librdkafka holds pointers into it until Kafka acknowledges. */
struct seg {
    uint64_t base;
    size_t size;
    int fd;
    const char *map;
};

struct gw_wal {
    pthread_mutex_t lock;  /* the writers' position and chain; changes to segs */
    char name[16];         /* what the log is ("audit"), for messages and its ring's file name */
    char *dir;
    uint64_t id;           /* the log's identity (log_id in wal_open.c) */
    uint64_t max_bytes;
    size_t seg_size;
    struct gw_ring *ring;  /* where the writers' records are until they are on disk */
    char *ring_path;
    struct seg *segs;      /* in order; added and trimmed by the shipper (under lock) */
    size_t nsegs, cap;
    _Atomic uint64_t end;  /* the next record goes here; published after the record is whole */
    _Atomic uint64_t acked;
    _Atomic uint64_t copied; /* the records before it are in the segments (shipper) */
    uint64_t wbase;        /* the segment the writers fill, by position: base and size (under */
    size_t wsize;          /* lock); a record never straddles two segments */
    uint64_t seq;          /* the chain's tail (under lock) */
    unsigned char hash[32];
    int ckpt_fd;
    int ckpt_dirty;
    int spare_fd;          /* a trimmed segment kept for the next one (shipper), or -1 */
    uint64_t synced;       /* shipper: appended bytes before this are on disk */
    uint64_t opened_end;   /* the end of what the last run left: records after it are this run's */
    uint64_t opened_recs;  /* how many records the last run left to ship */
    struct seg rseg;       /* shipper: the segment it reads, copied once rather than per record */
    uint64_t rb_base;      /* shipper: the bounds of the segment it reads in the ring */
    size_t rb_size;
    size_t ring_size;      /* gw_ring_size(ring), read on every append without a call */
    uint64_t watch;        /* tight is set when the room falls under this */
    /* on a line of its own: read by every exchange (gw_wal_tight), written seldom */
    _Alignas(64) _Atomic int tight;
    char tight_pad[64 - sizeof(int)];
};

static inline size_t
rec_size(size_t payload)
{
    return (HDR + payload + 7) & ~(size_t)7;
}

static inline uint32_t
rec_crc(const struct rec_hdr *h)
{
    const unsigned char *p = (const unsigned char *)h + 8;
    return crc32_gzip_refl(0, p, HDR - 8 + h->len);
}

/* wal.c */
void wal_spare_path(const struct gw_wal *w, char *path, size_t n);
int wal_seg_push(struct gw_wal *w, uint64_t base, int create, char *err, size_t errlen);
void wal_seg_drop(struct gw_wal *w, struct seg *s, int retire);
int wal_rec_valid(const struct seg *s, size_t off);
size_t wal_resync(const struct seg *s, size_t off);
int wal_put(int fd, const char *p, size_t n, uint64_t off);
void wal_copy_out(struct gw_wal *w, uint64_t end);
uint32_t wal_ckpt_crc(const struct ckpt *c);

#endif
