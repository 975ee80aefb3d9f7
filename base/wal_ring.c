/* wal_ring.c: see wal_ring.h. */
#include "wal_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING_MAGIC 0x31475250u /* "PRG1" */

/* The first page of the file; the data follows it. */
struct ring_hdr {
    uint32_t magic;
    uint32_t page;
    uint64_t size;             /* data bytes */
    uint64_t owner;            /* the log it belongs to */
    _Atomic uint64_t copied;   /* records before this position are on disk */
};

struct gw_ring {
    char *path;
    int fd;
    size_t page, size;
    char *area;                /* header page, then the data twice */
    struct ring_hdr *hdr;
    uint64_t owner;
    int found;
};

static void
unmap(struct gw_ring *r)
{
    if (r->area != NULL)
        munmap(r->area, r->page + 2 * r->size);
    r->area = NULL;
    r->hdr = NULL;
}

/* The header page, then the data at [page, page + size) and again right after it, populated now
 * (tmpfs pages, allocated by create): the writers never take a fault on the ring. */
static int
map(struct gw_ring *r)
{
    char *a = mmap(NULL, r->page + 2 * r->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (a == MAP_FAILED)
        return -1;
    r->area = a;
    if (mmap(a, r->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, r->fd, 0) == MAP_FAILED ||
        mmap(a + r->page, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
             r->fd, (off_t)r->page) == MAP_FAILED ||
        mmap(a + r->page + r->size, r->size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED | MAP_POPULATE, r->fd, (off_t)r->page) == MAP_FAILED) {
        int e = errno;
        unmap(r);
        errno = e;
        return -1;
    }
    r->hdr = (struct ring_hdr *)(void *)a;
    return 0;
}

/* A new ring file of r->size bytes of data. */
static int
create(struct gw_ring *r)
{
    unlink(r->path);
    r->fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (r->fd < 0)
        return -1;
    /* the blocks of tmpfs are taken now: a full /dev/shm fails here, never as SIGBUS on a store */
    if ((errno = posix_fallocate(r->fd, 0, (off_t)(r->page + r->size))) != 0 || map(r) < 0)
        return -1;
    r->hdr->page = (uint32_t)r->page;
    r->hdr->size = r->size;
    r->hdr->owner = r->owner;
    atomic_store(&r->hdr->copied, 0);
    r->hdr->magic = RING_MAGIC;
    r->found = 0;
    return 0;
}

/* The ring the last run left, if it is whole and of this log. */
static int
reopen(struct gw_ring *r)
{
    struct ring_hdr h;
    struct stat st;

    if ((r->fd = open(r->path, O_RDWR | O_CLOEXEC)) < 0)
        return -1;
    if (pread(r->fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.magic != RING_MAGIC ||
        h.page != r->page || h.owner != r->owner || h.size == 0 || h.size % r->page != 0 ||
        fstat(r->fd, &st) < 0 || (uint64_t)st.st_size != r->page + h.size) {
        close(r->fd);
        r->fd = -1;
        return -1;
    }
    r->size = (size_t)h.size;
    if (map(r) < 0) {
        close(r->fd);
        r->fd = -1;
        return -1;
    }
    r->found = 1;
    return 0;
}

struct gw_ring *
gw_ring_open(const char *path, size_t size, uint64_t owner, char *err, size_t errlen)
{
    struct gw_ring *r = calloc(1, sizeof *r);

    if (r == NULL || (r->path = strdup(path)) == NULL) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->fd = -1;
    r->page = (size_t)sysconf(_SC_PAGESIZE);
    r->owner = owner;
    if (reopen(r) == 0)
        return r;
    r->size = size;
    if (create(r) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        gw_ring_close(r, 1);
        return NULL;
    }
    return r;
}

void
gw_ring_close(struct gw_ring *r, int remove)
{
    if (r == NULL)
        return;
    unmap(r);
    if (r->fd >= 0)
        close(r->fd);
    if (remove)
        unlink(r->path);
    free(r->path);
    free(r);
}

int
gw_ring_reset(struct gw_ring **rp, size_t size, char *err, size_t errlen)
{
    struct gw_ring *r = *rp;

    unmap(r);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->size = size;
    if (create(r) < 0) {
        snprintf(err, errlen, "%s: %s", r->path, strerror(errno));
        return -1;
    }
    return 0;
}

int
gw_ring_found(const struct gw_ring *r)
{
    return r->found;
}

size_t
gw_ring_size(const struct gw_ring *r)
{
    return r->size;
}

char *
gw_ring_at(const struct gw_ring *r, uint64_t lsn)
{
    return r->area + r->page + (size_t)(lsn % r->size);
}

uint64_t
gw_ring_copied(const struct gw_ring *r)
{
    return atomic_load(&r->hdr->copied);
}

void
gw_ring_set_copied(struct gw_ring *r, uint64_t lsn)
{
    atomic_store_explicit(&r->hdr->copied, lsn, memory_order_release);
}
