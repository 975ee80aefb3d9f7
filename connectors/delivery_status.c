/* delivery_status.c: the deliveries' standings by id, for GET on a deliveries: route (see
 * delivery_int.h). A hash table under a lock: the delivery thread writes, workers read. The
 * pending are all kept (the log bounds them); of the ended, the last `keep`. */
#include "delivery_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "text.h"

#define BUCKETS 65536

struct entry {
    char *id;
    char *partner;             /* who may ask ("" for a public route's) */
    struct dv_status s;
    struct entry *hnext;       /* in its bucket */
    struct entry *newer;       /* among the ended, oldest first */
    int listed;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry **buckets;
static struct entry *oldest, *newest;
static size_t nended, keep;

void
dv_status_init(size_t k)
{
    pthread_mutex_lock(&lock);
    if (buckets == NULL)
        buckets = gw_xcalloc(BUCKETS, sizeof *buckets);
    keep = k;
    pthread_mutex_unlock(&lock);
}

void
dv_status_free(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; buckets != NULL && i < BUCKETS; i++)
        for (struct entry *e = buckets[i], *n; e != NULL; e = n) {
            n = e->hnext;
            free(e->id);
            free(e->partner);
            free(e);
        }
    free(buckets);
    buckets = NULL;
    oldest = newest = NULL;
    nended = 0;
    pthread_mutex_unlock(&lock);
}

static struct entry **
find(const char *id)
{
    struct entry **p = &buckets[gw_str_hash(id) % BUCKETS];

    while (*p != NULL && strcmp((*p)->id, id) != 0)
        p = &(*p)->hnext;
    return p;
}

/* Forget the oldest ended entry. */
static void
evict(void)
{
    struct entry *e = oldest, **p = find(e->id);

    oldest = e->newer;
    if (oldest == NULL)
        newest = NULL;
    nended--;
    *p = e->hnext;
    free(e->id);
    free(e->partner);
    free(e);
}

void
dv_status_set(const char *id, const char *partner, const struct dv_status *s)
{
    struct entry **p, *e;

    pthread_mutex_lock(&lock);
    if (buckets == NULL)
        goto out;
    p = find(id);
    if ((e = *p) == NULL) {
        e = *p = gw_xcalloc(1, sizeof *e);
        e->id = gw_xstrdup(id);
        e->partner = gw_xstrdup(partner != NULL ? partner : "");
    }
    e->s = *s;
    if (s->state != CN_DV_PENDING && !e->listed) {
        e->listed = 1;
        if (newest != NULL)
            newest->newer = e;
        else
            oldest = e;
        newest = e;
        nended++;
        while (nended > keep && oldest != NULL)
            evict();
    }
out:
    pthread_mutex_unlock(&lock);
}

int
dv_status_get(const char *id, const char *partner, struct dv_status *out)
{
    struct entry *e;
    int found = 0;

    pthread_mutex_lock(&lock);
    if (buckets != NULL && (e = *find(id)) != NULL &&
        strcmp(e->partner, partner != NULL ? partner : "") == 0) {
        *out = e->s;
        found = 1;
    }
    pthread_mutex_unlock(&lock);
    return found;
}
