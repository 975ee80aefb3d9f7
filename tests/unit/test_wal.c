/* test_audit_wal.c: the audit write-ahead log: records come back in order after a reopen, the
 * checkpoint trims what Kafka has, a torn last record is skipped (never read as a record), the
 * bound holds, the chain continues across restarts, and a reused segment's old records are never
 * read again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "wal.h"

#define RING_BYTES (8u << 20) /* the log's memory ring, in the test's own folder */

struct rec {
    const char *key;
    char value[2048];
};

/* The fill callback: the key, then the value; its hash is the previous one plus one in byte 0
 * (the log only carries the hash; the chain rule is audit.c's). */
static size_t
fill(void *arg, uint64_t seq, const unsigned char prev[32], struct gw_wal_piece *pieces,
     unsigned char hash[32])
{
    const struct rec *r = arg;

    pieces[0] = (struct gw_wal_piece){r->key, strlen(r->key)};
    pieces[1] = (struct gw_wal_piece){r->value, strlen(r->value)};
    memcpy(hash, prev, 32);
    hash[0] = (unsigned char)(prev[0] + 1);
    hash[31] = (unsigned char)seq;
    return 2;
}

/* A record of about 200 bytes; `pad` more make it longer. */
static int
append_padded(struct gw_wal *w, const char *key, int i, int pad)
{
    struct rec r = {key, ""};

    snprintf(r.value, sizeof r.value, "{\"event\":%d,\"pad\":\"%0*d\"}", i, 100 + pad, i);
    return gw_wal_append(w, strlen(key), strlen(r.value), fill, &r);
}

static int
append(struct gw_wal *w, const char *key, int i)
{
    return append_padded(w, key, i, 0);
}

static char *
tmpdir(void)
{
    char tmpl[] = "/tmp/portico-wal-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static void
rmdir_all(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

/* Read every record from lsn on; returns how many, checking values count up from first. */
static int
read_all(struct gw_wal *w, uint64_t lsn, int first, uint64_t *end)
{
    struct gw_wal_rec r;
    int n = 0;

    while (gw_wal_read(w, lsn, &r) == 1) {
        char want[64];
        int len = snprintf(want, sizeof want, "{\"event\":%d,", first + n);
        assert_int_equal(r.keylen, 4);
        assert_memory_equal(r.key, "acme", 4);
        assert_true(r.len > (size_t)len);
        assert_memory_equal(r.value, want, (size_t)len);
        lsn = r.next;
        n++;
    }
    if (end != NULL)
        *end = lsn;
    return n;
}

static void
test_reopen_keeps_order(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    uint64_t seq;
    unsigned char hash[32];

    (void)state;
    assert_non_null(w);
    for (int i = 0; i < 100; i++)
        assert_int_equal(append(w, "acme", i), 0);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 100);
    gw_wal_close(w);

    w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 100);
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 100);
    assert_int_equal(hash[0], 100);
    assert_int_equal(append(w, "acme", 100), 0); /* the chain goes on */
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 101);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 101);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

static void
test_ack_trims(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    struct gw_wal_rec r;
    uint64_t lsn, seq;
    unsigned char hash[32];

    (void)state;
    assert_non_null(w);
    for (int i = 0; i < 10; i++)
        assert_int_equal(append(w, "acme", i), 0);
    /* Kafka has the first four */
    lsn = gw_wal_acked(w);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(gw_wal_read(w, lsn, &r), 1);
        lsn = r.next;
    }
    gw_wal_ack(w, lsn, r.seq, r.hash);
    assert_int_equal(gw_wal_acked(w), lsn);
    gw_wal_close(w);

    w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(gw_wal_acked(w), lsn);
    assert_int_equal(read_all(w, gw_wal_acked(w), 4, NULL), 6);
    /* everything acknowledged: the chain's tail still comes back from the checkpoint */
    uint64_t end;
    read_all(w, lsn, 4, &end);
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 10);
    struct gw_wal_rec last;
    uint64_t at = lsn;
    while (gw_wal_read(w, at, &last) == 1 && last.next < end)
        at = last.next;
    gw_wal_ack(w, end, last.seq, last.hash);
    gw_wal_close(w);
    w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 0);
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 10);
    assert_int_equal(hash[0], 10);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

/* The only segment file of dir, opened read-write. */
static int
open_segment(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    int fd = -1;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "wal-", 4) == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            fd = open(path, O_RDWR);
        }
    closedir(d);
    assert_true(fd >= 0);
    return fd;
}

static void
test_torn_last_record(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    uint64_t end, last_start = 0;
    struct gw_wal_rec r;
    int fd;

    (void)state;
    assert_non_null(w);
    for (int i = 0; i < 5; i++)
        assert_int_equal(append(w, "acme", i), 0);
    for (uint64_t at = gw_wal_acked(w); gw_wal_read(w, at, &r) == 1; at = r.next)
        last_start = r.lsn;
    end = gw_wal_end(w);
    gw_wal_close(w);

    /* a crash in the middle of writing the last record: its second half never made it */
    fd = open_segment(dir);
    uint64_t mid = last_start + (end - last_start) / 2;
    char zeros[4096] = {0};
    assert_int_equal(pwrite(fd, zeros, (size_t)(end - mid), (off_t)mid), (ssize_t)(end - mid));
    close(fd);

    w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 4); /* the torn one is not a record */
    assert_int_equal(gw_wal_end(w), last_start);                /* and is written over */
    assert_int_equal(append(w, "acme", 4), 0);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 5);
    gw_wal_close(w);

    /* garbage in the middle: the records after it are still found */
    fd = open_segment(dir);
    assert_int_equal(pwrite(fd, "garbage!", 8, 200), 8);
    close(fd);
    w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    int n = 0;
    for (uint64_t at = gw_wal_acked(w); gw_wal_read(w, at, &r) == 1; at = r.next)
        n++;
    assert_int_equal(n, 4); /* one damaged record skipped, the others intact */
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

static void
test_bound(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 1 << 20, dir, RING_BYTES, err, sizeof err);
    int n = 0;

    (void)state;
    assert_non_null(w);
    while (append(w, "acme", n) == 0)
        n++;
    /* about 1 MiB of ~200-byte records, and not one more */
    assert_true(n > 4000 && n < 6000);
    assert_true(gw_wal_used(w) <= gw_wal_max(w));
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), n);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

static ino_t
inode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void
test_across_segments(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err); /* 8 MiB segments */
    struct gw_wal_rec r;
    uint64_t lsn;
    int total = 0;

    (void)state;
    assert_non_null(w);
    /* 120,000 records of about 200 bytes: three segments; ship and acknowledge as we go */
    lsn = gw_wal_acked(w);
    for (int i = 0; i < 120000; i++) {
        assert_int_equal(append(w, "acme", i), 0);
        if (i % 1000 == 999) {
            while (gw_wal_read(w, lsn, &r) == 1) {
                lsn = r.next;
                total++;
            }
            gw_wal_ack(w, lsn, r.seq, r.hash);
        }
    }
    assert_int_equal(total, 120000);
    assert_true(gw_wal_used(w) < 4096);
    gw_wal_close(w);
    /* the segments Kafka had are gone, but for one kept as the spare */
    assert_true(inode_of(dir, "spare.seg") != 0);
    DIR *d = opendir(dir);
    struct dirent *e;
    int segs = 0;
    while ((e = readdir(d)) != NULL)
        segs += strncmp(e->d_name, "wal-", 4) == 0;
    closedir(d);
    assert_int_equal(segs, 1);
    rmdir_all(dir);
    free(dir);
}

/* The live segment's inode (the only wal-*.seg file of dir). */
static ino_t
live_inode(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    ino_t ino = 0;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "wal-", 4) == 0) {
            ino = inode_of(dir, e->d_name);
            n++;
        }
    closedir(d);
    assert_int_equal(n, 1);
    return ino;
}

/* A retired segment becomes the spare and then the next segment, with its old records still in it
 * past the new ones: they are never read, not while running, not after a reopen. */
static void
test_spare_reused(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 32 << 20, dir, RING_BYTES, err, sizeof err); /* 4 MiB segments */
    struct gw_wal_rec r;
    ino_t spares[64];
    size_t nspares = 0;
    uint64_t lsn;
    int n = 0;

    (void)state;
    assert_non_null(w);
    /* 100,000 records: the first 60,000 of 190 to 240 bytes, the others of about 1,700, so that a
     * file's second life ends its segment where its first had records; the reader checks that
     * the values count up, so one old record read would fail it */
    lsn = gw_wal_acked(w);
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(append_padded(w, "acme", i, (i < 60000 ? 0 : 1500) + i * 37 % 50), 0);
        if (i % 1000 == 999) {
            uint64_t next, at = lsn;
            n += read_all(w, lsn, n, &next);
            while (gw_wal_read(w, at, &r) == 1 && r.next < next) /* the last one read */
                at = r.next;
            lsn = next;
            gw_wal_ack(w, lsn, r.seq, r.hash);
            gw_wal_flush(w); /* as the shipper does, every turn */
            ino_t ino = inode_of(dir, "spare.seg");
            if (ino != 0 && (nspares == 0 || spares[nspares - 1] != ino) && nspares < 64)
                spares[nspares++] = ino;
        }
    }
    assert_int_equal(n, 100000);
    /* the file written now was a spare before */
    ino_t live = live_inode(dir);
    int reused = 0;
    for (size_t i = 0; i < nspares; i++)
        reused |= spares[i] == live;
    assert_true(reused);
    /* records not yet in Kafka, in a reused segment, then a restart */
    for (int i = 100000; i < 105000; i++) {
        assert_int_equal(append_padded(w, "acme", i, 1500 + i * 37 % 50), 0);
        if (i % 1000 == 999)
            gw_wal_flush(w); /* the shipper's copy to disk, which frees the ring */
    }
    gw_wal_close(w);
    w = gw_wal_open("test", dir, 32 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 100000, NULL), 5000);
    assert_int_equal(append(w, "acme", 105000), 0);
    assert_int_equal(read_all(w, gw_wal_acked(w), 100000, NULL), 5001);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

/* A child appends `n` records of `pad` bytes more than usual and is killed (SIGKILL) before any
 * of them is copied to disk: they are only in the ring. */
static void
append_then_die(const char *dir, int first, int n, int pad)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct gw_wal *w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
        if (w == NULL)
            _exit(2);
        for (int i = first; i < first + n; i++)
            if (append_padded(w, "acme", i, pad) != 0)
                _exit(3);
        raise(SIGKILL);
        _exit(4);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* SIGKILL right after the appends: every record is found on the next open, from the ring, and
 * the chain goes on from the last one; a clean close then leaves no ring behind. */
static void
test_ring_survives_sigkill(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w;
    uint64_t seq;
    unsigned char hash[32];

    (void)state;
    append_then_die(dir, 0, 300, 0);
    w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 300);
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 300);
    assert_int_equal(append(w, "acme", 300), 0);
    gw_wal_close(w);
    /* the second run's records on disk, the first's too; the ring file is gone */
    w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 301);
    gw_wal_close(w);
    DIR *d = opendir(dir);
    struct dirent *e;
    int rings = 0;
    while ((e = readdir(d)) != NULL)
        rings += strstr(e->d_name, ".ring") != NULL;
    closedir(d);
    assert_int_equal(rings, 0);
    rmdir_all(dir);
    free(dir);
}

/* Killed with records in the ring on both sides of a segment's end (64 MiB of log: 8 MiB
 * segments; 6,000 records of about 1.7 KB, 10 MB, copied to disk up to the 2,000th): all found. */
static void
test_ring_across_segments_after_sigkill(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);

    (void)state;
    assert_non_null(w);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(append_padded(w, "acme", i, 1500), 0);
    gw_wal_flush(w);
    /* the child takes the log over where it stands: close without removing what is on disk */
    gw_wal_close(w);
    append_then_die(dir, 2000, 4000, 1500);
    w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 6000);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

/* The ring bounds what waits for the shipper's copy: appends fail when it is full (the log's
 * room says so beforehand), and go on once the shipper copied it to disk. */
static void
test_ring_full_until_flushed(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    int i = 0;

    (void)state;
    assert_non_null(w);
    gw_wal_watch(w, 1 << 20);
    assert_false(gw_wal_tight(w));
    while (append_padded(w, "acme", i, 1500) == 0) {
        /* tight from the append that left less than 1 MiB of the ring, not before */
        assert_int_equal(gw_wal_tight(w), gw_wal_room(w) < (1 << 20));
        i++;
    }
    assert_true(i > 4000 && i < 5000); /* 8 MiB of about 1.7 KB records */
    assert_true(gw_wal_room(w) < 4096);
    assert_true(gw_wal_tight(w));
    gw_wal_flush(w);
    assert_true(gw_wal_room(w) > RING_BYTES - 4096);
    assert_false(gw_wal_tight(w));
    assert_int_equal(append_padded(w, "acme", i, 1500), 0);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), i + 1);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

/* A ring left by another log in the same folder (the folder emptied and a new log begun) is not
 * taken for this one's. */
static void
test_ring_of_another_log_ignored(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w;

    (void)state;
    append_then_die(dir, 0, 100, 0);
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".ring") != NULL)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 0);
    assert_int_equal(append(w, "acme", 0), 0);
    assert_int_equal(read_all(w, gw_wal_acked(w), 0, NULL), 1);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

/* Does any segment file of dir hold the bytes s? */
static int
segments_hold(const char *dir, const char *s)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    int found = 0;

    while (d != NULL && (e = readdir(d)) != NULL && !found) {
        struct stat st;
        char *buf;
        int fd;
        if (strstr(e->d_name, ".seg") == NULL)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_true((fd = open(path, O_RDONLY)) >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_non_null(buf = malloc((size_t)st.st_size));
        assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
        found = memmem(buf, (size_t)st.st_size, s, strlen(s)) != NULL;
        free(buf);
        close(fd);
    }
    closedir(d);
    return found;
}

/* Acknowledge every record from lsn on, as the shipper does once Kafka has them. */
static void
ack_all(struct gw_wal *w)
{
    struct gw_wal_rec r;
    uint64_t lsn = gw_wal_acked(w), seq = 0;
    unsigned char hash[32] = {0};

    while (gw_wal_read(w, lsn, &r) == 1) {
        lsn = r.next;
        seq = r.seq;
        memcpy(hash, r.hash, 32);
    }
    gw_wal_ack(w, lsn, seq, hash);
}

/* What Kafka acknowledged before the shipper's copy never goes to disk; what it has not goes at
 * the copy; both survive a restart as they should (the acknowledged not shipped again, the chain
 * going on after all of them). */
static void
test_acked_never_written(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    uint64_t seq;
    unsigned char hash[32];

    (void)state;
    assert_non_null(w);
    for (int i = 0; i < 50; i++)
        assert_int_equal(append(w, "acme", i), 0);
    ack_all(w);
    gw_wal_flush(w);
    for (int i = 50; i < 100; i++)
        assert_int_equal(append(w, "acme", i), 0);
    gw_wal_flush(w);
    assert_false(segments_hold(dir, "{\"event\":0,"));
    assert_false(segments_hold(dir, "{\"event\":49,"));
    assert_true(segments_hold(dir, "{\"event\":50,"));
    assert_true(segments_hold(dir, "{\"event\":99,"));
    assert_int_equal(read_all(w, gw_wal_acked(w), 50, NULL), 50);
    gw_wal_close(w);
    w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 50, NULL), 50);
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 100);
    assert_int_equal(hash[0], 100);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

/* Killed after Kafka acknowledged records the shipper never copied to disk, with more appended
 * after them (only in the ring): the next start reads on from the checkpoint in the ring, finds
 * those, and the chain goes on from the last. */
static void
test_sigkill_after_acked_in_ring(void **state)
{
    char *dir = tmpdir(), err[256];
    struct gw_wal *w;
    uint64_t seq;
    unsigned char hash[32];
    pid_t pid = fork();
    int status;

    (void)state;
    assert_true(pid >= 0);
    if (pid == 0) {
        w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
        if (w == NULL)
            _exit(2);
        for (int i = 0; i < 3000; i++)
            if (append_padded(w, "acme", i, 1500) != 0)
                _exit(3);
        ack_all(w); /* 5 MB the writers may now write over in the ring */
        for (int i = 3000; i < 6000; i++)
            if (append_padded(w, "acme", i, 1500) != 0)
                _exit(3);
        raise(SIGKILL);
        _exit(4);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_false(segments_hold(dir, "{\"event\":0,"));
    w = gw_wal_open("test", dir, 64 << 20, dir, RING_BYTES, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(read_all(w, gw_wal_acked(w), 3000, NULL), 3000);
    gw_wal_chain_tail(w, &seq, hash);
    assert_int_equal(seq, 6000);
    assert_int_equal(append(w, "acme", 6000), 0);
    assert_int_equal(read_all(w, gw_wal_acked(w), 3000, NULL), 3001);
    gw_wal_close(w);
    rmdir_all(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_keeps_order),
        cmocka_unit_test(test_ack_trims),
        cmocka_unit_test(test_torn_last_record),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_across_segments),
        cmocka_unit_test(test_spare_reused),
        cmocka_unit_test(test_ring_survives_sigkill),
        cmocka_unit_test(test_ring_across_segments_after_sigkill),
        cmocka_unit_test(test_ring_full_until_flushed),
        cmocka_unit_test(test_ring_of_another_log_ignored),
        cmocka_unit_test(test_acked_never_written),
        cmocka_unit_test(test_sigkill_after_acked_in_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
