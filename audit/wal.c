/* wal.c: see wal.h. */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/crc.h>

#include "log.h"

#define REC_MAGIC 0x31574150u  /* "PAW1" */
#define CKPT_MAGIC 0x314b4350u /* "PCK1" */

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

/* A segment is mapped twice. Records are read through `map`, read-only: librdkafka holds pointers
 * into it until Kafka acknowledges. They are written through `wmap`, whose written pages the shipper
 * unmaps as the writer leaves them (from `wlo` on it is still mapped): the kernel writes a dirty
 * page back by making every writable mapping of it read-only again, one cross-CPU TLB flush per
 * page, which with a whole segment mapped for writing cost the shipper a third of its time. */
struct seg {
    uint64_t base;
    size_t size;
    int fd;
    const char *map;
    char *wmap;
    size_t wlo;
};

struct au_wal {
    pthread_mutex_t lock;
    char *dir;
    uint64_t max_bytes;
    size_t seg_size;
    struct seg *segs;      /* in order; appended by writers, trimmed by the shipper (under lock) */
    size_t nsegs, cap;
    _Atomic uint64_t end;  /* the next record goes here; published after the record is whole */
    _Atomic uint64_t acked;
    uint64_t seq;          /* the chain's tail (under lock) */
    unsigned char hash[32];
    int ckpt_fd;
    int ckpt_dirty;
    int spare_fd;          /* a trimmed segment kept for the next one (under lock), or -1 */
    uint64_t synced;       /* shipper: appended bytes before this are on disk */
    uint64_t opened_end;   /* the end of what the last run left: records after it are this run's */
    uint64_t opened_recs;  /* how many records the last run left to ship */
    size_t page;
    struct seg rseg;       /* shipper: the segment it reads, copied once rather than per record */
};

static size_t
rec_size(size_t payload)
{
    return (HDR + payload + 7) & ~(size_t)7;
}

static uint32_t
rec_crc(const struct rec_hdr *h)
{
    const unsigned char *p = (const unsigned char *)h + 8;
    return crc32_gzip_refl(0, p, HDR - 8 + h->len);
}

/* ---- segments ---- */

static void
seg_path(const struct au_wal *w, uint64_t base, char *path, size_t n)
{
    snprintf(path, n, "%s/wal-%016" PRIx64 ".seg", w->dir, base);
}

static void
spare_path(const struct au_wal *w, char *path, size_t n)
{
    snprintf(path, n, "%s/spare.seg", w->dir);
}

/* A new segment is the spare when there is one: its blocks are allocated and its pages most
 * likely still cached, where a new file's pages are allocated and zeroed on first touch. What the
 * spare held before stays in it until written over: the writer zeroes the header after each record
 * (where the records end), and recovery takes only records whose chain numbers go on from the
 * checkpoint's (see recover). */
static int
seg_reuse(struct au_wal *w, struct seg *s, const char *path)
{
    char spare[4096];

    if (w->spare_fd < 0)
        return -1;
    spare_path(w, spare, sizeof spare);
    if (rename(spare, path) < 0) {
        gw_log(GW_LOG_WARN, "audit log: cannot reuse %s: %s", spare, strerror(errno));
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
seg_map(struct au_wal *w, struct seg *s, int create, char *err, size_t errlen)
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
    s->wlo = 0;
    s->wmap = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (s->wmap == MAP_FAILED) {
        s->wmap = NULL;
        goto fail;
    }
    s->map = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        munmap(s->wmap, s->size);
        s->wmap = NULL;
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
static void
seg_drop(struct au_wal *w, struct seg *s, int retire)
{
    char path[4096], spare[4096];
    int kept = 0;

    if (s->map != NULL)
        munmap((void *)s->map, s->size);
    if (s->wmap != NULL && s->wlo < s->size)
        munmap(s->wmap + s->wlo, s->size - s->wlo);
    if (retire) {
        seg_path(w, s->base, path, sizeof path);
        spare_path(w, spare, sizeof spare);
        pthread_mutex_lock(&w->lock);
        if (w->spare_fd < 0 && s->fd >= 0 && s->size == w->seg_size && rename(path, spare) == 0) {
            w->spare_fd = s->fd;
            kept = 1;
        }
        pthread_mutex_unlock(&w->lock);
        if (!kept && unlink(path) < 0)
            gw_log(GW_LOG_WARN, "audit log: cannot remove %s: %s", path, strerror(errno));
    }
    if (!kept && s->fd >= 0)
        close(s->fd);
}

static int
seg_push(struct au_wal *w, uint64_t base, int create, char *err, size_t errlen)
{
    struct seg s = {.base = base, .fd = -1};

    if (w->nsegs == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        struct seg *p = realloc(w->segs, cap * sizeof *p);
        if (p == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        w->segs = p;
        w->cap = cap;
    }
    if (seg_map(w, &s, create, err, errlen) < 0)
        return -1;
    w->segs[w->nsegs++] = s;
    return 0;
}

/* The segment holding lsn, copied out under the lock (NULL when it is gone or not yet there). */
static int
seg_find(struct au_wal *w, uint64_t lsn, struct seg *out)
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

static int
rec_valid(const struct seg *s, size_t off)
{
    return rec_whole(s, off, 1);
}

static int
zeros(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* From a damaged place, the next intact record in the segment (its offset), or the segment's end. */
static size_t
resync(const struct seg *s, size_t off)
{
    for (off = (off + 8) & ~(size_t)7; off + HDR <= s->size; off += 8)
        if (rec_valid(s, off))
            return off;
    return s->size;
}

int
au_wal_read(struct au_wal *w, uint64_t lsn, struct au_wal_rec *r)
{
    for (;;) {
        struct seg s;
        size_t off;
        int found;

        if (lsn >= atomic_load_explicit(&w->end, memory_order_acquire))
            return 0;
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
            size_t next = resync(&s, off);
            gw_log(GW_LOG_WARN, "audit log: damaged record at %" PRIu64 ": %zu bytes skipped", lsn,
                   next - off);
            lsn = s.base + next;
            continue;
        }
        const struct rec_hdr *h = (const struct rec_hdr *)(s.map + off);
        r->lsn = lsn;
        r->next = lsn + rec_size(h->len);
        r->seq = h->seq;
        memcpy(r->hash, h->hash, 32);
        r->key = s.map + off + HDR;
        r->keylen = h->keylen;
        r->value = r->key + h->keylen;
        r->len = h->len - h->keylen;
        return 1;
    }
}

int
au_wal_append(struct au_wal *w, size_t keylen, size_t len, au_wal_fill_fn fill, void *arg)
{
    size_t need = rec_size(keylen + len);
    struct seg *s;
    uint64_t end;
    struct rec_hdr *h;
    char err[256];

    if (keylen > UINT16_MAX || need > w->seg_size / 2)
        return -1;
    pthread_mutex_lock(&w->lock);
    end = atomic_load_explicit(&w->end, memory_order_relaxed);
    if (end + need - atomic_load(&w->acked) > w->max_bytes)
        goto fail;
    s = &w->segs[w->nsegs - 1];
    if (end - s->base + need > s->size) {
        uint64_t base = s->base + s->size;
        if (seg_push(w, base, 1, err, sizeof err) < 0) {
            gw_log(GW_LOG_ERROR, "audit log: cannot add a segment: %s", err);
            goto fail;
        }
        s = &w->segs[w->nsegs - 1];
        end = base;
    }
    h = (struct rec_hdr *)(s->wmap + (end - s->base));
    h->keylen = (uint16_t)keylen;
    h->flags = 0;
    h->seq = w->seq + 1;
    h->len = (uint32_t)fill(arg, h->seq, w->hash, (char *)h + HDR, h->hash);
    need = rec_size(h->len);
    if (end - s->base + need + HDR <= s->size) /* the records end here (a reused segment goes on */
        memset((char *)h + need, 0, HDR);      /* with its past, never to be read as records) */
    h->crc = rec_crc(h);
    h->magic = REC_MAGIC;
    w->seq = h->seq;
    memcpy(w->hash, h->hash, 32);
    atomic_store_explicit(&w->end, end + need, memory_order_release);
    pthread_mutex_unlock(&w->lock);
    return 0;
fail:
    pthread_mutex_unlock(&w->lock);
    return -1;
}

/* ---- checkpoint, trimming, syncing ---- */

static uint32_t
ckpt_crc(const struct ckpt *c)
{
    return crc32_gzip_refl(0, (const unsigned char *)c + 8, sizeof *c - 8);
}

void
au_wal_ack(struct au_wal *w, uint64_t lsn, uint64_t seq, const unsigned char hash[32])
{
    struct ckpt c = {CKPT_MAGIC, 0, lsn, seq, {0}};

    if (lsn <= atomic_load(&w->acked))
        return;
    atomic_store(&w->acked, lsn);
    memcpy(c.hash, hash, 32);
    c.crc = ckpt_crc(&c);
    if (pwrite(w->ckpt_fd, &c, sizeof c, 0) != (ssize_t)sizeof c)
        gw_log(GW_LOG_ERROR, "audit log: cannot write the checkpoint: %s", strerror(errno));
    w->ckpt_dirty = 1;
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
        seg_drop(w, &gone, 1);
    }
}

void
au_wal_unmap_written(struct au_wal *w)
{
    uint64_t end = atomic_load_explicit(&w->end, memory_order_acquire);
    struct { char *p; size_t n; } gone[8];
    size_t n = 0;

    /* the writers only ever write at the end and after it: the pages wholly before it are done */
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->nsegs && n < 8; i++) {
        struct seg *s = &w->segs[i];
        size_t done = end >= s->base + s->size ? s->size
                      : end > s->base          ? (size_t)(end - s->base) / w->page * w->page
                                               : 0;
        if (done > s->wlo) {
            gone[n].p = s->wmap + s->wlo;
            gone[n++].n = done - s->wlo;
            s->wlo = done;
        }
    }
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < n; i++)
        munmap(gone[i].p, gone[i].n);
}

void
au_wal_sync(struct au_wal *w)
{
    uint64_t end = atomic_load(&w->end);
    int fds[64];
    size_t n = 0;

    if (end != w->synced) {
        au_wal_unmap_written(w);
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < w->nsegs && n < 64; i++)
            if (w->segs[i].base + w->segs[i].size > w->synced && w->segs[i].base < end)
                fds[n++] = w->segs[i].fd;
        pthread_mutex_unlock(&w->lock);
        /* only this thread closes segments, so the descriptors stay valid */
        for (size_t i = 0; i < n; i++)
            if (fdatasync(fds[i]) < 0)
                gw_log(GW_LOG_ERROR, "audit log: fdatasync: %s", strerror(errno));
        w->synced = end;
    }
    if (w->ckpt_dirty) {
        w->ckpt_dirty = 0;
        fdatasync(w->ckpt_fd);
    }
}

/* ---- opening: what the last run left ---- */

static int
read_ckpt(struct au_wal *w, struct ckpt *c)
{
    memset(c, 0, sizeof *c);
    if (pread(w->ckpt_fd, c, sizeof *c, 0) != (ssize_t)sizeof *c)
        return memset(c, 0, sizeof *c), 0; /* a new log */
    if (c->magic != CKPT_MAGIC || ckpt_crc(c) != c->crc) {
        gw_log(GW_LOG_WARN, "audit log: %s/checkpoint is damaged; shipping every record the log "
               "still holds (Kafka may get some twice: `portico audit verify` counts them as "
               "replays)", w->dir);
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
load_segments(struct au_wal *w, uint64_t acked, char *err, size_t errlen)
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
        if (seg_push(w, bases[i], 0, err, errlen) < 0)
            goto out;
        struct seg *s = &w->segs[w->nsegs - 1];
        if (s->base + s->size <= acked && i + 1 < n) {
            seg_drop(w, s, 1);
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

/* Walk the records after the checkpoint: where the log ends, and the chain's tail. A torn record
 * at the end is reported and cleared, so that it is never read as one. */
static void
recover(struct au_wal *w, const struct ckpt *c)
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
            if (rec_valid(s, off)) {
                if (h->seq <= w->seq) {
                    /* a record from before the segment was the spare: the records end here,
                     * and so the reader finds them from now on */
                    memset(s->wmap + off, 0, HDR);
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
            size_t next = resync(s, off);
            if (next < s->size && ((const struct rec_hdr *)(s->map + next))->seq <= w->seq)
                next = s->size; /* what follows is the spare's past */
            if (next >= s->size)
                gw_log(GW_LOG_WARN, "audit log: torn record at %" PRIu64 " (the process stopped "
                       "while writing it): skipped, never shipped", s->base + off);
            else
                gw_log(GW_LOG_WARN, "audit log: damaged record at %" PRIu64 ": %zu bytes skipped, "
                       "never shipped; the records after it are intact", s->base + off,
                       next - off);
            if (next >= s->size) {
                /* clear it: the next record is written over it, and nothing of it stays after */
                memset(s->wmap + off, 0, s->size - off);
                break;
            }
            off = next;
        }
        lsn = s->base + s->size;
    }
    /* the writer goes on after the last record; later segments that hold nothing are dropped */
    while (w->nsegs > 1 && w->segs[w->nsegs - 1].base >= end &&
           w->segs[w->nsegs - 1].base > w->segs[0].base) {
        seg_drop(w, &w->segs[w->nsegs - 1], 1);
        w->nsegs--;
    }
    if (end < w->segs[w->nsegs - 1].base)
        end = w->segs[w->nsegs - 1].base;
    atomic_store(&w->end, end);
    w->opened_end = end;
    w->opened_recs = nrec;
    atomic_store(&w->acked, c->acked < w->segs[0].base ? w->segs[0].base : c->acked);
    w->synced = end;
    if (nrec > 0)
        gw_log(GW_LOG_INFO, "audit log: %zu records from the last run to ship (chain at %" PRIu64
               ")", nrec, w->seq);
}

/* The spare the last run left, if it is of this run's segment size. */
static void
open_spare(struct au_wal *w)
{
    char path[4096];
    struct stat st;
    int fd;

    spare_path(w, path, sizeof path);
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size == w->seg_size) {
        w->spare_fd = fd;
        return;
    }
    close(fd);
    unlink(path);
}

struct au_wal *
au_wal_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    struct au_wal *w = calloc(1, sizeof *w);
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
    w->page = (size_t)sysconf(_SC_PAGESIZE);
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
    if (w->nsegs == 0 && seg_push(w, c.acked & ~(uint64_t)7, 1, err, errlen) < 0)
        goto fail;
    recover(w, &c);
    return w;
fail:
    au_wal_close(w);
    return NULL;
}

void
au_wal_close(struct au_wal *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->nsegs; i++)
        seg_drop(w, &w->segs[i], 0);
    free(w->segs);
    if (w->ckpt_fd >= 0)
        close(w->ckpt_fd);
    if (w->spare_fd >= 0)
        close(w->spare_fd);
    pthread_mutex_destroy(&w->lock);
    free(w->dir);
    free(w);
}

uint64_t
au_wal_used(const struct au_wal *w)
{
    return atomic_load(&w->end) - atomic_load(&w->acked);
}

uint64_t
au_wal_max(const struct au_wal *w)
{
    return w->max_bytes;
}

uint64_t
au_wal_opened_records(const struct au_wal *w)
{
    return w->opened_recs;
}

uint64_t
au_wal_acked(const struct au_wal *w)
{
    return atomic_load(&w->acked);
}

uint64_t
au_wal_end(const struct au_wal *w)
{
    return atomic_load(&w->end);
}

void
au_wal_chain_tail(struct au_wal *w, uint64_t *seq, unsigned char hash[32])
{
    pthread_mutex_lock(&w->lock);
    *seq = w->seq;
    memcpy(hash, w->hash, 32);
    pthread_mutex_unlock(&w->lock);
}
