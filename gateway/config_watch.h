/* config_watch.h: the configuration watch ("reload": {"watch": true}): inotify on the folders of
 * what the configuration is made of, so that a changed file reloads the node without a signal.
 *
 * Watched: portico.json's folder (for portico.json itself and the listeners' certificates and
 * keys there), the folder of each listener certificate and key and of the API keys' secret,
 * consumers_dir (anything in it), partners_dir (a bundle added or removed) and every bundle
 * folder (anything in it). Replacing a file by a rename (what
 * certificate tools do), writing it in place, or swapping a Kubernetes-style "..data" link all
 * count. The caller debounces: many writes make one reload, once they have been quiet a while.
 */
#ifndef GW_CONFIG_WATCH_H
#define GW_CONFIG_WATCH_H

#include "snapshot.h"

struct gw_watch;

/* Watch what s is made of. NULL (logged) when inotify is not to be had. */
struct gw_watch *gw_watch_new(const struct pt_snapshot *s);
void gw_watch_free(struct gw_watch *w);

/* The descriptor to poll for reading. */
int gw_watch_fd(const struct gw_watch *w);

/* Read what the kernel queued: 1 when a watched file changed, else 0. */
int gw_watch_changed(struct gw_watch *w);

/* Watch what s is made of now (after a reload, taken or not: a new bundle folder). Returns 1 when
 * a folder was added to the watch (what was written in it before may not have been seen: look
 * again), else 0. */
int gw_watch_follow(struct gw_watch *w, const struct pt_snapshot *s);

#endif
