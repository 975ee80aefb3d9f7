/* config_watch.c: inotify on the configuration's folders (see config_watch.h). */
#include "config_watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "json_loc.h"
#include "log.h"

#define MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

/* One watched folder: the names in it that matter, or any (names NULL). */
struct wdir {
    int wd;
    char *dir;
    char **names;
    size_t nnames;
    int any;
};

struct gw_watch {
    int fd;
    struct wdir *dirs;
    size_t n;
};

static void
wdir_free(struct wdir *d)
{
    for (size_t i = 0; i < d->nnames; i++)
        free(d->names[i]);
    free(d->names);
    free(d->dir);
}

static struct wdir *
find_dir(struct wdir *v, size_t n, const char *dir)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].dir, dir) == 0)
            return &v[i];
    return NULL;
}

/* Add (dir, name) to the set being built; name NULL: anything in dir. */
static void
want(struct wdir **v, size_t *n, const char *dir, const char *name)
{
    struct wdir *d = find_dir(*v, *n, dir);

    if (d == NULL) {
        struct wdir *nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (nv == NULL)
            return;
        *v = nv;
        d = &nv[(*n)++];
        memset(d, 0, sizeof *d);
        d->wd = -1;
        if ((d->dir = strdup(dir)) == NULL) {
            (*n)--;
            return;
        }
    }
    if (name == NULL) {
        d->any = 1;
        return;
    }
    for (size_t i = 0; i < d->nnames; i++)
        if (strcmp(d->names[i], name) == 0)
            return;
    char **nn = realloc(d->names, (d->nnames + 1) * sizeof *nn);
    if (nn == NULL)
        return;
    d->names = nn;
    if ((d->names[d->nnames] = strdup(name)) != NULL)
        d->nnames++;
}

/* (folder, name) of a file path. */
static void
want_file(struct wdir **v, size_t *n, const char *file)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(file, '/');

    if (slash == NULL) {
        want(v, n, ".", file);
    } else if ((size_t)(slash - file) < sizeof dir) {
        memcpy(dir, file, (size_t)(slash - file));
        dir[slash - file] = '\0';
        want(v, n, slash == file ? "/" : dir, slash + 1);
    }
}

/* What s is made of: its files' folders, consumers_dir, partners_dir and every bundle folder. */
static void
wanted(const struct pt_snapshot *s, struct wdir **v, size_t *n)
{
    const struct gw_config *c = s->config;
    struct stat cst;
    DIR *dp;
    struct dirent *e;

    want_file(v, n, c->path);
    if (c->api_keys.secret_file != NULL)
        want_file(v, n, c->api_keys.secret_file);
    if (stat(c->consumers_dir, &cst) == 0 && S_ISDIR(cst.st_mode))
        want(v, n, c->consumers_dir, NULL);
    for (size_t i = 0; i < c->nlisteners; i++)
        for (size_t j = 0; j < c->listeners[i].ncerts; j++) {
            want_file(v, n, c->listeners[i].certs[j].cert_file);
            want_file(v, n, c->listeners[i].certs[j].key_file);
        }
    if ((dp = opendir(c->partners_dir)) == NULL)
        return;
    want(v, n, c->partners_dir, NULL);
    while ((e = readdir(dp)) != NULL) {
        char *sub;
        struct stat st;
        if (e->d_name[0] == '.' || (sub = gw_path_join(c->partners_dir, e->d_name)) == NULL)
            continue;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            want(v, n, sub, NULL);
        free(sub);
    }
    closedir(dp);
}

int
gw_watch_follow(struct gw_watch *w, const struct pt_snapshot *s)
{
    struct wdir *v = NULL;
    size_t n = 0;
    int added = 0;

    wanted(s, &v, &n);
    for (size_t i = 0; i < n; i++) {
        struct wdir *old = find_dir(w->dirs, w->n, v[i].dir);
        /* the same folder gives the same descriptor back: no event is missed in between */
        v[i].wd = inotify_add_watch(w->fd, v[i].dir, MASK);
        if (v[i].wd < 0)
            gw_log(GW_LOG_WARN, "watch: cannot watch %s: %s", v[i].dir, strerror(errno));
        else if (old == NULL && w->dirs != NULL)
            added = 1;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->dirs[i].wd >= 0 && find_dir(v, n, w->dirs[i].dir) == NULL)
            inotify_rm_watch(w->fd, w->dirs[i].wd);
        wdir_free(&w->dirs[i]);
    }
    free(w->dirs);
    w->dirs = v;
    w->n = n;
    return added;
}

struct gw_watch *
gw_watch_new(const struct pt_snapshot *s)
{
    struct gw_watch *w = calloc(1, sizeof *w);

    if (w == NULL || (w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        gw_log(GW_LOG_ERROR, "watch: cannot start inotify: %s", strerror(errno));
        free(w);
        return NULL;
    }
    gw_watch_follow(w, s);
    gw_log(GW_LOG_INFO, "watching %zu folders for configuration changes", w->n);
    return w;
}

void
gw_watch_free(struct gw_watch *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        wdir_free(&w->dirs[i]);
    free(w->dirs);
    close(w->fd);
    free(w);
}

int
gw_watch_fd(const struct gw_watch *w)
{
    return w->fd;
}

static int
matters(const struct gw_watch *w, const struct inotify_event *ev)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct wdir *d = &w->dirs[i];
        if (d->wd != ev->wd)
            continue;
        if (d->any || (ev->len > 0 && strncmp(ev->name, "..", 2) == 0))
            return 1; /* "..data": a Kubernetes volume swapped its files at once */
        for (size_t j = 0; ev->len > 0 && j < d->nnames; j++)
            if (strcmp(d->names[j], ev->name) == 0)
                return 1;
    }
    return 0;
}

int
gw_watch_changed(struct gw_watch *w)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t got;
    int changed = 0;

    while ((got = read(w->fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + got;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW || matters(w, ev))
                changed = 1;
            p += sizeof *ev + ev->len;
        }
    }
    return changed;
}
