/* wal_open.c: opening the write-ahead log: the checkpoint, the segments on disk, the records
 * after the checkpoint, and those the last run left in the memory ring (see wal.h). */
#include "wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sha256.h"
#include "text.h"

static int
read_ckpt(struct gw_wal *w, struct ckpt *c)
{
    memset(c, 0, sizeof *c);
    if (pread(w->ckpt_fd, c, sizeof *c, 0) != (ssize_t)sizeof *c)
        return memset(c, 0, sizeof *c), 0; /* a new log */
    if (c->magic != CKPT_MAGIC || wal_ckpt_crc(c) != c->crc) {
        gw_log(GW_LOG_WARN, "%s log: %s/checkpoint is damaged; shipping every record the log "
               "still holds (Kafka may get some twice)", w->name, w->dir);
        memset(c, 0, sizeof *c);
    }
    return 0;
}

static int
base_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segments on disk, in order; those wholly before the checkpoint are removed. */
static int
load_segments(struct gw_wal *w, uint64_t acked, char *err, size_t errlen)
{
    DIR *d = opendir(w->dir);
    struct dirent *e;
    uint64_t *bases = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;

    if (d == NULL) {
        snprintf(err, errlen, "%s: %s", w->dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        uint64_t base;
        char tail[8];
        if (sscanf(e->d_name, "wal-%16" SCNx64 ".se%1s", &base, tail) != 2 || strlen(e->d_name) != 24)
            continue;
        if (n == cap) {
            uint64_t *p = realloc(bases, (cap = cap ? cap * 2 : 16) * sizeof *p);
            if (p == NULL)
                goto out;
            bases = p;
        }
        bases[n++] = base;
    }
    if (n > 1)
        qsort(bases, n, sizeof *bases, base_cmp);
    for (size_t i = 0; i < n; i++) {
        if (wal_seg_push(w, bases[i], 0, err, errlen) < 0)
            goto out;
        struct seg *s = &w->segs[w->nsegs - 1];
        if (s->base + s->size <= acked && i + 1 < n) {
            wal_seg_drop(w, s, 1);
            w->nsegs--;
        }
    }
    rc = 0;
out:
    if (rc < 0 && err[0] == '\0')
        snprintf(err, errlen, "out of memory");
    free(bases);
    closedir(d);
    return rc;
}

static int
zeros(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* Zero n bytes of a segment at off (recovery: where its records end). */
static void
clear(const struct gw_wal *w, const struct seg *s, size_t off, size_t n)
{
    static const char zero[4096];

    while (n > 0) {
        size_t k = n < sizeof zero ? n : sizeof zero;
        if (wal_put(s->fd, zero, k, off) < 0) {
            gw_log(GW_LOG_ERROR, "%s log: cannot clear segment %" PRIx64 ": %s", w->name, s->base,
                   strerror(errno));
            return;
        }
        off += k, n -= k;
    }
}

/* Walk the records after the checkpoint: where the log ends, and the chain's tail. A torn record
 * at the end is reported and cleared, so that it is never read as one. */
static void
recover(struct gw_wal *w, const struct ckpt *c)
{
    uint64_t lsn = c->acked, end = c->acked;
    size_t nrec = 0;

    w->seq = c->seq;
    memcpy(w->hash, c->hash, 32);
    if (lsn < w->segs[0].base)
        lsn = end = w->segs[0].base;
    for (size_t i = 0; i < w->nsegs; i++) {
        struct seg *s = &w->segs[i];
        size_t off;
        if (lsn >= s->base + s->size)
            continue;
        off = lsn > s->base ? (size_t)(lsn - s->base) : 0;
        while (off + HDR <= s->size) {
            const struct rec_hdr *h = (const struct rec_hdr *)(s->map + off);
            if (wal_rec_valid(s, off)) {
                if (h->seq <= w->seq) {
                    /* a record from before the segment was the spare: the records end here,
                     * and so the reader finds them from now on */
                    clear(w, s, off, HDR);
                    break;
                }
                w->seq = h->seq;
                memcpy(w->hash, h->hash, 32);
                off += rec_size(h->len);
                end = s->base + off;
                nrec++;
                continue;
            }
            if (zeros(s->map + off, HDR))
                break; /* the segment's unused rest */
            size_t next = wal_resync(s, off);
            if (next < s->size && ((const struct rec_hdr *)(s->map + next))->seq <= w->seq)
                next = s->size; /* what follows is the spare's past */
            if (next >= s->size)
                gw_log(GW_LOG_WARN, "%s log: torn record at %" PRIu64 " (the process stopped "
                       "while writing it): skipped, never shipped", w->name, s->base + off);
            else
                gw_log(GW_LOG_WARN, "%s log: damaged record at %" PRIu64 ": %zu bytes skipped, "
                       "never shipped; the records after it are intact", w->name, s->base + off,
                       next - off);
            if (next >= s->size) {
                /* clear it: the next record is written over it, and nothing of it stays after */
                clear(w, s, off, s->size - off);
                break;
            }
            off = next;
        }
        lsn = s->base + s->size;
    }
    /* the writer goes on after the last record; later segments that hold nothing are dropped */
    while (w->nsegs > 1 && w->segs[w->nsegs - 1].base >= end &&
           w->segs[w->nsegs - 1].base > w->segs[0].base) {
        wal_seg_drop(w, &w->segs[w->nsegs - 1], 1);
        w->nsegs--;
    }
    if (end < w->segs[w->nsegs - 1].base)
        end = w->segs[w->nsegs - 1].base;
    atomic_store(&w->end, end);
    atomic_store(&w->copied, end);
    w->wbase = w->segs[w->nsegs - 1].base;
    w->wsize = w->segs[w->nsegs - 1].size;
    w->opened_end = end;
    w->opened_recs = nrec;
    atomic_store(&w->acked, c->acked < w->segs[0].base ? w->segs[0].base : c->acked);
    w->synced = end;
    if (nrec > 0)
        gw_log(GW_LOG_INFO, "%s log: %zu records from the last run to ship (chain at %" PRIu64
               ")", w->name, nrec, w->seq);
}

/* Is there a record at lsn in the ring that goes on from the chain's tail? */
static const struct rec_hdr *
ring_next(struct gw_wal *w, uint64_t lsn, uint64_t base, size_t size)
{
    const struct rec_hdr *h = (const struct rec_hdr *)(void *)gw_ring_at(w->ring, lsn);

    if (lsn - base + HDR > size || h->magic != REC_MAGIC || h->len > size - (lsn - base) - HDR ||
        h->len + HDR > w->ring_size / 2 || h->keylen > h->len || rec_crc(h) != h->crc ||
        h->seq != w->seq + 1)
        return NULL;
    return h;
}

/* The records the last run left in the ring and not on disk (it stopped, SIGKILL included, before
 * the shipper copied them): those that go on from the last record on disk, copied there now. */
static void
recover_ring(struct gw_wal *w)
{
    uint64_t start = atomic_load(&w->end), lsn = start, base = w->wbase;
    size_t size = w->wsize, nrec = 0;

    if (!gw_ring_found(w->ring))
        return;
    while (lsn - start < w->ring_size) {
        const struct rec_hdr *h = ring_next(w, lsn, base, size);
        if (h == NULL && (h = ring_next(w, base + size, base + size, w->seg_size)) != NULL) {
            lsn = base += size; /* the writers went on in the next segment */
            size = w->seg_size;
        }
        if (h == NULL)
            break;
        w->seq = h->seq;
        memcpy(w->hash, h->hash, 32);
        lsn += rec_size(h->len);
        nrec++;
    }
    if (nrec == 0)
        return;
    atomic_store(&w->end, lsn);
    wal_copy_out(w, lsn);
    w->wbase = base;
    w->wsize = size;
    w->opened_end = lsn;
    w->opened_recs += nrec;
    gw_log(GW_LOG_INFO, "%s log: %zu records the last run left in memory (%s) are in the log "
           "now (chain at %" PRIu64 ")", w->name, nrec, w->ring_path, w->seq);
}

/* The log's identity: a random number kept in the checkpoint file after the checkpoint, made when
 * the file has none (a new log, or one from before the ring). 0 when it cannot be kept. */
static uint64_t
log_id(struct gw_wal *w)
{
    uint64_t v[2];

    if (pread(w->ckpt_fd, v, sizeof v, ID_AT) == (ssize_t)sizeof v && v[0] != 0 &&
        v[1] == ~v[0])
        return v[0];
    if (getrandom(v, sizeof v[0], 0) != (ssize_t)sizeof v[0] || v[0] == 0)
        v[0] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL | 1;
    v[1] = ~v[0];
    if (pwrite(w->ckpt_fd, v, sizeof v, ID_AT) != (ssize_t)sizeof v)
        return 0;
    return v[0];
}

/* The ring: a file in ring_dir named after the log's folder, owned by the log's identity. */
static int
open_ring(struct gw_wal *w, const char *ring_dir, size_t ring_bytes, char *err, size_t errlen)
{
    char real[4096], name[40];
    unsigned char d[32];
    uint64_t id = w->id = log_id(w);

    if (realpath(w->dir, real) == NULL || id == 0) {
        snprintf(err, errlen, "%s: %s", w->dir, strerror(errno));
        return -1;
    }
    gw_sha256_once(real, strlen(real), d);
    gw_hex_encode(name, d, 8);
    name[16] = '\0';
    if (asprintf(&w->ring_path, "%s/portico-%s-%s.ring", ring_dir, w->name, name) < 0) {
        w->ring_path = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->ring = gw_ring_open(w->ring_path, ring_bytes, id, err, errlen);
    return w->ring != NULL ? 0 : -1;
}

/* The spare the last run left, if it is of this run's segment size. */
static void
open_spare(struct gw_wal *w)
{
    char path[4096];
    struct stat st;
    int fd;

    wal_spare_path(w, path, sizeof path);
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size == w->seg_size) {
        w->spare_fd = fd;
        return;
    }
    close(fd);
    unlink(path);
}

struct gw_wal *
gw_wal_open(const char *name, const char *dir, uint64_t max_bytes, const char *ring_dir,
            size_t ring_bytes, char *err, size_t errlen)
{
    struct gw_wal *w = calloc(1, sizeof *w);
    char path[4096];
    struct ckpt c;
    size_t seg = (size_t)(max_bytes / 8);
    pthread_mutexattr_t ma;

    err[0] = '\0';
    if (w == NULL)
        return NULL;
    pthread_mutexattr_init(&ma);
    /* held for a record's hashing and copy, about a microsecond: spinning a while beats sleeping */
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&w->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    w->ckpt_fd = -1;
    w->spare_fd = -1;
    snprintf(w->name, sizeof w->name, "%s", name);
    w->dir = strdup(dir);
    seg = seg < (4u << 20) ? (4u << 20) : seg > (64u << 20) ? (64u << 20) : seg;
    w->seg_size = seg & ~(size_t)4095;
    w->max_bytes = max_bytes;
    if (w->dir == NULL || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    if ((w->ckpt_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    read_ckpt(w, &c);
    open_spare(w);
    if (load_segments(w, c.acked, err, errlen) < 0)
        goto fail;
    if (w->nsegs == 0 && wal_seg_push(w, c.acked & ~(uint64_t)7, 1, err, errlen) < 0)
        goto fail;
    recover(w, &c);
    if (open_ring(w, ring_dir, ring_bytes, err, errlen) < 0)
        goto fail;
    w->ring_size = gw_ring_size(w->ring); /* the last run's, while its records are read */
    recover_ring(w);
    if (gw_ring_size(w->ring) != ring_bytes && gw_ring_reset(&w->ring, ring_bytes, err, errlen) < 0)
        goto fail;
    w->ring_size = ring_bytes;
    gw_ring_set_copied(w->ring, atomic_load(&w->copied));
    return w;
fail:
    gw_wal_close(w);
    return NULL;
}

void
gw_wal_close(struct gw_wal *w)
{
    if (w == NULL)
        return;
    if (w->ring != NULL && w->nsegs > 0)
        gw_wal_flush(w);
    /* every record on disk: the ring has nothing the next start needs */
    gw_ring_close(w->ring, w->ring != NULL && atomic_load(&w->copied) == atomic_load(&w->end));
    free(w->ring_path);
    for (size_t i = 0; i < w->nsegs; i++)
        wal_seg_drop(w, &w->segs[i], 0);
    free(w->segs);
    if (w->ckpt_fd >= 0)
        close(w->ckpt_fd);
    if (w->spare_fd >= 0)
        close(w->spare_fd);
    pthread_mutex_destroy(&w->lock);
    free(w->dir);
    free(w);
}
