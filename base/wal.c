/* wal.c: see wal.h; what the last run left is read by wal_open.c. */
#include "wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* ---- segments ---- */

static void
seg_path(const struct gw_wal *w, uint64_t base, char *path, size_t n)
{
    snprintf(path, n, "%s/wal-%016" PRIx64 ".seg", w->dir, base);
}

void
wal_spare_path(const struct gw_wal *w, char *path, size_t n)
{
    snprintf(path, n, "%s/spare.seg", w->dir);
}

/* A new segment is the spare when there is one: its blocks are allocated and its pages most
 * likely still cached, where a new file's pages are allocated and zeroed on first touch. What the
 * spare held before stays in it until written over: the writer zeroes the header after each record
 * (where the records end), and recovery takes only records whose chain numbers go on from the
 * checkpoint's (see recover). */
static int
seg_reuse(struct gw_wal *w, struct seg *s, const char *path)
{
    char spare[4096];

    if (w->spare_fd < 0)
        return -1;
    wal_spare_path(w, spare, sizeof spare);
    if (rename(spare, path) < 0) {
        gw_log(GW_LOG_WARN, "%s log: cannot reuse %s: %s", w->name, spare, strerror(errno));
        unlink(spare);
        close(w->spare_fd);
        w->spare_fd = -1;
        return -1;
    }
    s->fd = w->spare_fd;
    w->spare_fd = -1;
    return 0;
}

static int
seg_map(struct gw_wal *w, struct seg *s, int create, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;

    seg_path(w, s->base, path, sizeof path);
    if (create && seg_reuse(w, s, path) == 0) {
        s->size = w->seg_size;
    } else if ((s->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0),
                             0600)) < 0) {
        goto fail;
    } else if (create) {
        /* the blocks are reserved now: a full disk fails here, never as SIGBUS on a store */
        int rc = posix_fallocate(s->fd, 0, (off_t)w->seg_size);
        if (rc != 0) {
            errno = rc;
            goto fail_unlink;
        }
        s->size = w->seg_size;
    } else {
        if (fstat(s->fd, &st) < 0)
            goto fail;
        s->size = (size_t)st.st_size & ~(size_t)7;
    }
    s->map = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        goto fail;
    }
    return 0;
fail_unlink:
    unlink(path);
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    return -1;
}

/* Unmap and close a segment; `retire`: its records are no longer needed, and the file becomes the
 * spare if there is none (else it is deleted). */
void
wal_seg_drop(struct gw_wal *w, struct seg *s, int retire)
{
    char path[4096], spare[4096];
    int kept = 0;

    if (s->map != NULL)
        munmap((void *)s->map, s->size);
    if (retire) {
        seg_path(w, s->base, path, sizeof path);
        wal_spare_path(w, spare, sizeof spare);
        pthread_mutex_lock(&w->lock);
        if (w->spare_fd < 0 && s->fd >= 0 && s->size == w->seg_size && rename(path, spare) == 0) {
            w->spare_fd = s->fd;
            kept = 1;
        }
        pthread_mutex_unlock(&w->lock);
        if (!kept && unlink(path) < 0)
            gw_log(GW_LOG_WARN, "%s log: cannot remove %s: %s", w->name, path, strerror(errno));
    }
    if (!kept && s->fd >= 0)
        close(s->fd);
}

int
wal_seg_push(struct gw_wal *w, uint64_t base, int create, char *err, size_t errlen)
{
    struct seg s = {.base = base, .fd = -1};
    int rc = 0;

    /* made outside the lock (a new file's blocks are allocated): the writers never wait for it */
    if (seg_map(w, &s, create, err, errlen) < 0)
        return -1;
    pthread_mutex_lock(&w->lock);
    if (w->nsegs == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        struct seg *p = realloc(w->segs, cap * sizeof *p);
        if (p == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            w->segs = p;
            w->cap = cap;
        }
    }
    if (rc == 0)
        w->segs[w->nsegs++] = s;
    pthread_mutex_unlock(&w->lock);
    if (rc < 0)
        wal_seg_drop(w, &s, 0);
    return rc;
}

/* The segment holding lsn, copied out under the lock (NULL when it is gone or not yet there). */
static int
seg_find(struct gw_wal *w, uint64_t lsn, struct seg *out)
{
    int found = 0;

    pthread_mutex_lock(&w->lock);
    for (size_t i = w->nsegs; i-- > 0;) {
        const struct seg *s = &w->segs[i];
        if (lsn >= s->base) {
            if (lsn < s->base + s->size)
                *out = *s, found = 1;
            break;
        }
    }
    if (!found && w->nsegs > 0 && lsn < w->segs[0].base)
        *out = w->segs[0], found = -1; /* before the first segment: start there */
    pthread_mutex_unlock(&w->lock);
    return found;
}

/* ---- records ---- */

/* Is there a whole record at off in s, and (check_crc) intact? */
static int
rec_whole(const struct seg *s, size_t off, int check_crc)
{
    const struct rec_hdr *h = (const struct rec_hdr *)(s->map + off);

    return off + HDR <= s->size && h->magic == REC_MAGIC && h->len <= s->size - off - HDR &&
           h->keylen <= h->len && (!check_crc || rec_crc(h) == h->crc);
}

int
wal_rec_valid(const struct seg *s, size_t off)
{
    return rec_whole(s, off, 1);
}

/* From a damaged place, the next intact record in the segment (its offset), or the segment's end. */
size_t
wal_resync(const struct seg *s, size_t off)
{
    for (off = (off + 8) & ~(size_t)7; off + HDR <= s->size; off += 8)
        if (wal_rec_valid(s, off))
            return off;
    return s->size;
}

/* What the reader gets of the record h at lsn (key and value point into h's memory). */
static void
rec_out(struct gw_wal_rec *r, uint64_t lsn, const struct rec_hdr *h, int in_ring)
{
    r->lsn = lsn;
    r->next = lsn + rec_size(h->len);
    r->seq = h->seq;
    memcpy(r->hash, h->hash, 32);
    r->key = (const char *)h + HDR;
    r->keylen = h->keylen;
    r->value = r->key + h->keylen;
    r->len = h->len - h->keylen;
    r->in_ring = in_ring;
}

/* Where the segment that holds position lsn begins and how long it is: a segment on disk, or one
 * the shipper has not made yet (they follow the last one, seg_size each). 0, or -1 before the
 * first segment. Shipper's thread. */
static int
seg_bounds(struct gw_wal *w, uint64_t lsn, uint64_t *base, size_t *size)
{
    struct seg s;
    int found;

    if (lsn - w->rb_base < w->rb_size) { /* the last answer's: a segment's bounds never change */
        *base = w->rb_base;
        *size = w->rb_size;
        return 0;
    }
    if ((found = seg_find(w, lsn, &s)) < 0)
        return -1;
    if (found == 0) {
        pthread_mutex_lock(&w->lock);
        s = w->segs[w->nsegs - 1];
        pthread_mutex_unlock(&w->lock);
        s.base += s.size;
        s.size = w->seg_size;
        s.base += (lsn - s.base) / s.size * s.size;
    }
    *base = w->rb_base = s.base;
    *size = w->rb_size = s.size;
    return 0;
}

/* A record at lsn not yet on disk: in the ring, where nothing overwrites it before the shipper
 * (this thread) has copied it (see gw_wal_append). */
static int
read_ring(struct gw_wal *w, uint64_t lsn, struct gw_wal_rec *r)
{
    uint64_t end = atomic_load_explicit(&w->end, memory_order_acquire), base;
    size_t size;

    while (lsn < end) {
        const struct rec_hdr *h = (const struct rec_hdr *)(void *)gw_ring_at(w->ring, lsn);
        if (seg_bounds(w, lsn, &base, &size) < 0)
            return 0;
        if (lsn - base + HDR > size || h->magic != REC_MAGIC) {
            lsn = base + size; /* the writers went on in the next segment */
            continue;
        }
        rec_out(r, lsn, h, 1);
        return 1;
    }
    return 0;
}

int
gw_wal_read(struct gw_wal *w, uint64_t lsn, struct gw_wal_rec *r)
{
    for (;;) {
        struct seg s;
        size_t off;
        int found;

        if (lsn >= atomic_load_explicit(&w->end, memory_order_acquire))
            return 0;
        if (lsn >= atomic_load_explicit(&w->copied, memory_order_relaxed))
            return read_ring(w, lsn, r);
        if (w->rseg.map != NULL && lsn >= w->rseg.base && lsn < w->rseg.base + w->rseg.size) {
            s = w->rseg;
        } else {
            if ((found = seg_find(w, lsn, &s)) == 0)
                return 0;
            if (found < 0)
                lsn = s.base;
            w->rseg = s;
        }
        off = (size_t)(lsn - s.base);
        if (off + HDR > s.size || ((const struct rec_hdr *)(s.map + off))->magic == 0) {
            lsn = s.base + s.size; /* the rest of this segment is unused */
            continue;
        }
        /* what this process appended went from memory to memory: its checksum is for later */
        if (!rec_whole(&s, off, lsn < w->opened_end)) {
            size_t next = wal_resync(&s, off);
            gw_log(GW_LOG_WARN, "%s log: damaged record at %" PRIu64 ": %zu bytes skipped",
                   w->name, lsn, next - off);
            lsn = s.base + next;
            continue;
        }
        rec_out(r, lsn, (const struct rec_hdr *)(s.map + off), 0);
        return 1;
    }
}

int
gw_wal_append(struct gw_wal *w, size_t keylen, size_t len, gw_wal_fill_fn fill, void *arg)
{
    size_t need = rec_size(keylen + len), size, np, total = 0;
    struct gw_wal_piece piece[GW_WAL_PIECES];
    struct rec_hdr h = {.magic = 0, .keylen = (uint16_t)keylen};
    uint64_t end, base;
    char *o;

    if (keylen > UINT16_MAX || need > w->seg_size / 2 || need + HDR > w->ring_size / 2)
        return -1;
    pthread_mutex_lock(&w->lock);
    end = atomic_load_explicit(&w->end, memory_order_relaxed);
    base = w->wbase;
    size = w->wsize;
    if (end - base + need > size) { /* on in the next segment */
        end = base += size;
        size = w->seg_size;
    }
    /* the log's bound, and the ring's: the shipper has not copied what is within its size back */
    if (end + need - atomic_load(&w->acked) > w->max_bytes ||
        end + need + HDR - atomic_load_explicit(&w->copied, memory_order_acquire) > w->ring_size)
        goto fail;
    h.seq = w->seq + 1;
    np = fill(arg, h.seq, w->hash, piece, h.hash);
    for (size_t i = 0; i < np; i++)
        total += piece[i].n;
    if (np > GW_WAL_PIECES || total > keylen + len)
        goto fail;
    h.len = (uint32_t)total;
    need = rec_size(total);
    o = gw_ring_at(w->ring, end);
    memcpy(o, &h, HDR);
    for (size_t i = 0, at = HDR; i < np; at += piece[i].n, i++)
        if (piece[i].n > 0) /* (an empty piece may have no place: a message without a key) */
            memcpy(o + at, piece[i].p, piece[i].n);
    memset(o + HDR + total, 0, need - HDR - total);
    /* the checksum over the record as copied, one run in this core's cache (over the pieces, a
     * call each, it took five times as long) */
    ((struct rec_hdr *)(void *)o)->crc = rec_crc((const struct rec_hdr *)(const void *)o);
    if (end - base + need + HDR <= size) /* the records end here */
        memset(o + need, 0, HDR);
    /* whole: the magic last (a writer killed before it leaves no record, see recover_ring) */
    atomic_store_explicit((_Atomic uint32_t *)(void *)o, REC_MAGIC, memory_order_release);
    w->wbase = base;
    w->wsize = size;
    w->seq = h.seq;
    memcpy(w->hash, h.hash, 32);
    atomic_store_explicit(&w->end, end + need, memory_order_release);
    pthread_mutex_unlock(&w->lock);
    if (w->watch != 0 && !atomic_load_explicit(&w->tight, memory_order_relaxed) &&
        gw_wal_room(w) < w->watch)
        atomic_store(&w->tight, 1);
    return 0;
fail:
    pthread_mutex_unlock(&w->lock);
    return -1;
}

/* ---- from the ring to the segments ---- */

/* The segment at base, made when it is not there yet (the one after the last). Shipper. */
static int
seg_at(struct gw_wal *w, uint64_t lsn, struct seg *out)
{
    char err[256] = "";
    struct seg last;

    if (seg_find(w, lsn, out) == 1)
        return 0;
    pthread_mutex_lock(&w->lock);
    last = w->segs[w->nsegs - 1];
    pthread_mutex_unlock(&w->lock);
    /* only this thread adds segments */
    if (lsn >= last.base + last.size &&
        wal_seg_push(w, last.base + last.size, 1, err, sizeof err) == 0) {
        pthread_mutex_lock(&w->lock);
        *out = w->segs[w->nsegs - 1];
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    gw_log(GW_LOG_ERROR, "%s log: cannot add a segment at %" PRIu64 ": %s", w->name, lsn,
           lsn < last.base + last.size ? "before the log" : err);
    return -1;
}

int
wal_put(int fd, const char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k, off += (uint64_t)k;
    }
    return 0;
}

/* Copy [copied, end) from the ring into the segments, and a zeroed header after the last record
 * (where the records end, in a reused segment that holds its past after them). */
void
wal_copy_out(struct gw_wal *w, uint64_t end)
{
    static const char zero[HDR];
    uint64_t p = atomic_load_explicit(&w->copied, memory_order_relaxed);

    while (p < end) {
        struct seg s;
        uint64_t stop;
        if (seg_at(w, p, &s) < 0)
            return; /* logged; tried again on the next turn */
        stop = end < s.base + s.size ? end : s.base + s.size;
        if (wal_put(s.fd, gw_ring_at(w->ring, p), (size_t)(stop - p), p - s.base) < 0 ||
            (stop == end && end - s.base + HDR <= s.size &&
             wal_put(s.fd, zero, HDR, end - s.base) < 0)) {
            gw_log(GW_LOG_ERROR, "%s log: cannot write segment %" PRIx64 ": %s; the records "
                   "wait in memory", w->name, s.base, strerror(errno));
            return;
        }
        p = stop;
        atomic_store_explicit(&w->copied, p, memory_order_release);
    }
    gw_ring_set_copied(w->ring, p);
}

/* The shipper made room: clear tight once there is enough (an appender sets it again when not). */
static void
loosen(struct gw_wal *w)
{
    if (atomic_load_explicit(&w->tight, memory_order_relaxed) && gw_wal_room(w) >= w->watch)
        atomic_store(&w->tight, 0);
}

void
gw_wal_flush(struct gw_wal *w)
{
    wal_copy_out(w, atomic_load_explicit(&w->end, memory_order_acquire));
    loosen(w);
}

void
gw_wal_flush_some(struct gw_wal *w)
{
    uint64_t end = atomic_load_explicit(&w->end, memory_order_acquire);

    if (end - atomic_load_explicit(&w->copied, memory_order_relaxed) > w->ring_size / 4)
        gw_wal_flush(w);
}

/* Before the checkpoint moves to lsn past what was copied to disk (the records between are in
 * Kafka and never go to disk): the segments up to the one holding lsn are made, so that the next
 * start finds the log's end there, and a zeroed header at lsn marks where the records on disk
 * end (the segment may be a reused one that holds its past there). */
static int
skip_prepare(struct gw_wal *w, uint64_t lsn)
{
    static const char zero[HDR];
    uint64_t p = atomic_load_explicit(&w->copied, memory_order_relaxed);
    struct seg s;

    for (;;) {
        if (seg_at(w, p, &s) < 0)
            return -1;
        if (lsn < s.base + s.size)
            break;
        p = s.base + s.size;
    }
    if (lsn - s.base + HDR <= s.size && wal_put(s.fd, zero, HDR, lsn - s.base) < 0) {
        gw_log(GW_LOG_ERROR, "%s log: cannot write segment %" PRIx64 ": %s", w->name, s.base,
               strerror(errno));
        return -1;
    }
    return 0;
}

void
gw_wal_watch(struct gw_wal *w, uint64_t bytes)
{
    w->watch = bytes;
    atomic_store(&w->tight, gw_wal_room(w) < bytes);
}

int
gw_wal_tight(const struct gw_wal *w)
{
    return atomic_load_explicit(&w->tight, memory_order_relaxed);
}

/* ---- checkpoint, trimming, syncing ---- */

uint32_t
wal_ckpt_crc(const struct ckpt *c)
{
    return crc32_gzip_refl(0, (const unsigned char *)c + 8, sizeof *c - 8);
}

void
gw_wal_ack(struct gw_wal *w, uint64_t lsn, uint64_t seq, const unsigned char hash[32])
{
    struct ckpt c = {CKPT_MAGIC, 0, lsn, seq, {0}};

    int skip = lsn > atomic_load(&w->copied);

    if (lsn <= atomic_load(&w->acked) || (skip && skip_prepare(w, lsn) < 0))
        return;
    memcpy(c.hash, hash, 32);
    c.crc = wal_ckpt_crc(&c);
    if (pwrite(w->ckpt_fd, &c, sizeof c, 0) != (ssize_t)sizeof c) {
        gw_log(GW_LOG_ERROR, "%s log: cannot write the checkpoint: %s", w->name, strerror(errno));
        if (skip)
            return; /* the records stay in the ring, and go to disk if Kafka is slow */
    }
    w->ckpt_dirty = 1;
    atomic_store(&w->acked, lsn);
    /* the ring's room over the skipped records is freed only now: after a crash, the checkpoint
     * on file is past them, and the start reads on from it in the ring */
    if (skip) {
        atomic_store_explicit(&w->copied, lsn, memory_order_release);
        gw_ring_set_copied(w->ring, lsn);
    }
    loosen(w);
    /* the segments wholly acknowledged go, never the one being written */
    for (;;) {
        struct seg gone;
        pthread_mutex_lock(&w->lock);
        if (w->nsegs < 2 || w->segs[0].base + w->segs[0].size > lsn) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        gone = w->segs[0];
        memmove(w->segs, w->segs + 1, (w->nsegs - 1) * sizeof *w->segs);
        w->nsegs--;
        pthread_mutex_unlock(&w->lock);
        if (w->rseg.base == gone.base)
            w->rseg.map = NULL;
        wal_seg_drop(w, &gone, 1);
    }
}

void
gw_wal_sync(struct gw_wal *w)
{
    uint64_t end = atomic_load(&w->copied);
    int fds[64];
    size_t n = 0;

    if (w->ckpt_dirty) { /* first: past the records Kafka has, which are not written to disk */
        w->ckpt_dirty = 0;
        fdatasync(w->ckpt_fd);
    }
    if (end != w->synced) {
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < w->nsegs && n < 64; i++)
            if (w->segs[i].base + w->segs[i].size > w->synced && w->segs[i].base < end)
                fds[n++] = w->segs[i].fd;
        pthread_mutex_unlock(&w->lock);
        /* only this thread closes segments, so the descriptors stay valid */
        for (size_t i = 0; i < n; i++)
            if (fdatasync(fds[i]) < 0)
                gw_log(GW_LOG_ERROR, "%s log: fdatasync: %s", w->name, strerror(errno));
        w->synced = end;
    }
}

uint64_t
gw_wal_used(const struct gw_wal *w)
{
    uint64_t acked = atomic_load(&w->acked); /* first: it never passes the end read after it */

    return atomic_load(&w->end) - acked;
}

uint64_t
gw_wal_room(const struct gw_wal *w)
{
    /* acked and copied first: read after the end, either may have passed the end read */
    uint64_t acked = atomic_load(&w->acked), copied = atomic_load(&w->copied);
    uint64_t end = atomic_load(&w->end), used = end - acked, ring = end - copied;
    uint64_t size = w->ring_size;
    uint64_t a = used < w->max_bytes ? w->max_bytes - used : 0, b = ring < size ? size - ring : 0;

    return a < b ? a : b;
}

uint64_t
gw_wal_max(const struct gw_wal *w)
{
    return w->max_bytes;
}

uint64_t
gw_wal_opened_records(const struct gw_wal *w)
{
    return w->opened_recs;
}

uint64_t
gw_wal_acked(const struct gw_wal *w)
{
    return atomic_load(&w->acked);
}

uint64_t
gw_wal_end(const struct gw_wal *w)
{
    return atomic_load(&w->end);
}

void
gw_wal_chain_tail(struct gw_wal *w, uint64_t *seq, unsigned char hash[32])
{
    pthread_mutex_lock(&w->lock);
    *seq = w->seq;
    memcpy(hash, w->hash, 32);
    pthread_mutex_unlock(&w->lock);
}

uint64_t
gw_wal_id(const struct gw_wal *w)
{
    return w->id;
}
