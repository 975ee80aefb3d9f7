/* wal_ring.h: the write-ahead log's memory tier: a ring in a file of a memory file system.
 *
 * Writers copy their records into the ring; the shipper copies the ring into the log's segment
 * files on disk (wal.c) every turn. The ring is a file in tmpfs (/dev/shm by default), so what a
 * writer stored outlives the process, SIGKILL included, and the next start finds it; it does not
 * outlive the machine, and neither does the page cache of the segments until they are synced.
 *
 * Why not write the segments' mapped pages directly, as the log did first: a store into a page of
 * a file on disk that is mapped for writing traps into the kernel whenever the page is new to the
 * mapping or was written back since (the kernel write-protects a page to write it back), once per
 * 4 KiB, about three events; on a virtual machine each trap costs microseconds, most of what an
 * event cost the gateway. A tmpfs file is never written back: the ring's pages, once touched,
 * stay mapped and writable, and a record costs a copy.
 *
 * The ring's data is mapped twice, back to back, so a record that wraps past its end is still
 * one run of memory. Position `lsn` of the log is at gw_ring_at(r, lsn): positions are the log's
 * own, the ring holds the last `size` bytes of them.
 */
#ifndef GW_WAL_RING_H
#define GW_WAL_RING_H

#include <stddef.h>
#include <stdint.h>

struct gw_ring;

/* Open the ring at `path`, or make it of `size` bytes (a multiple of the page size). A ring the
 * last run left keeps its own size until gw_ring_reset. `owner` says which log it belongs to (a
 * ring of another log is found empty). Returns NULL with a message in err. */
struct gw_ring *gw_ring_open(const char *path, size_t size, uint64_t owner, char *err,
                             size_t errlen);
/* Unmap and close; `remove`: the ring's file too (every record is on disk). NULL is a no-op. */
void gw_ring_close(struct gw_ring *r, int remove);

/* Did the ring come from the last run of this log (so that it may hold records not on disk)? */
int gw_ring_found(const struct gw_ring *r);
size_t gw_ring_size(const struct gw_ring *r);
/* Where position lsn is: at least gw_ring_size() bytes from there are one run of memory. */
char *gw_ring_at(const struct gw_ring *r, uint64_t lsn);
/* How far the records are on disk, as kept in the ring's header (for the next start). */
uint64_t gw_ring_copied(const struct gw_ring *r);
void gw_ring_set_copied(struct gw_ring *r, uint64_t lsn);

/* Make the ring anew at `size` bytes for this log (after its records were recovered). */
int gw_ring_reset(struct gw_ring **r, size_t size, char *err, size_t errlen);

#endif
