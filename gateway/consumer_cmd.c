/* consumer_cmd.c: `portico consumer new | key | revoke` (see consumer_cmd.h). */
#include "consumer_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "config.h"
#include "consumer.h"
#include "consumer_store.h"
#include "diag.h"
#include "json_loc.h"
#include "limiter.h"
#include "text.h"

struct cmd {
    const char *sub;            /* "new", "key", "revoke": for messages */
    const char *config;         /* -c portico.json */
    const char *plan, *name;    /* new: --plan, --name */
    int64_t expires;            /* --expires, s since the epoch; 0: never */
    const char *id, *kid;       /* the arguments */
    struct gw_config *cfg;
    struct gw_hmac_sha256 mac;  /* under api_keys.secret_file's secret */
    char *file;                 /* consumers_dir/ID.json */
};

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: portico consumer new ID --plan PLAN [--name NAME] [--expires TIME] -c FILE\n"
        "       portico consumer key ID [--expires TIME] -c FILE\n"
        "       portico consumer revoke ID KID -c FILE\n"
        "\n"
        "The consumers of consumers_dir (one ID.json each, for GitOps) and their API keys. A key\n"
        "is printed once, when it is made, and kept nowhere: the file holds only its keyed hash\n"
        "(HMAC-SHA-256 under api_keys.secret_file's secret). The gateway sees a change at its\n"
        "next reload (SIGHUP). Consumers and keys made through the admin API (POST /consumers)\n"
        "are the running node's: change those there.\n"
        "\n"
        "  -c FILE         portico.json: its consumers_dir, api_keys.secret_file and plans\n"
        "new               a consumer on a plan, with its first key (an existing file is never\n"
        "                  overwritten)\n"
        "  --plan PLAN     one of portico.json's \"plans\"\n"
        "  --name NAME     the consumer's display name\n"
        "key               one more key for the consumer (to rotate: revoke the old one once\n"
        "                  the consumer uses the new one)\n"
        "  --expires TIME  new, key: the key stops working then, in UTC as\n"
        "                  2027-01-01T00:00:00Z (default: never)\n"
        "revoke            the key KID (the 12 hex digits printed with it, after \"ptk_\") stops\n"
        "                  working\n"
        "\n"
        "Exit status: 0 done, 1 refused or failed, 2 usage.\n");
}

static void fail(const struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(const struct cmd *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "portico consumer %s: ", c->sub);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The options and the npos arguments (ID, then KID) of a subcommand. 0, 1 after --help, or 2
 * after saying what is wrong. */
static int
parse(struct cmd *c, int argc, char **argv, int npos)
{
    static const struct option opts[] = {
        {"plan", required_argument, NULL, 'p'},    {"name", required_argument, NULL, 'n'},
        {"expires", required_argument, NULL, 'e'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int ch, isnew = strcmp(c->sub, "new") == 0, iskey = strcmp(c->sub, "key") == 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c->config = optarg; break;
        case 'h': usage(stdout); return 1;
        case 'p':
        case 'n':
            if (!isnew) {
                fail(c, "--%s goes with portico consumer new", ch == 'p' ? "plan" : "name");
                return 2;
            }
            *(ch == 'p' ? &c->plan : &c->name) = optarg;
            break;
        case 'e':
            if (!isnew && !iskey) {
                fail(c, "--expires goes with portico consumer new or key");
                return 2;
            }
            if (pt_time_parse(optarg, &c->expires) < 0) {
                fail(c, "--expires \"%s\": expected a UTC time as 2027-01-01T00:00:00Z", optarg);
                return 2;
            }
            if (c->expires <= (int64_t)time(NULL)) {
                fail(c, "--expires %s is past: a key made now would never work", optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "(portico consumer help)\n");
            return 2;
        }
    }
    if (argc - optind != npos) {
        fail(c, argc - optind < npos ? "which %s? (portico consumer help)"
                                     : "unexpected argument \"%s\" (portico consumer help)",
             argc - optind < npos ? (optind == argc ? "consumer id" : "key id")
                                  : argv[optind + npos]);
        return 2;
    }
    c->id = argv[optind];
    c->kid = npos > 1 ? argv[optind + 1] : NULL;
    if (!pt_consumer_id_valid(c->id)) {
        fail(c, "\"%s\" is not a consumer id: 1 to 64 of a-z 0-9 . _ -, starting with a letter "
             "or digit", c->id);
        return 2;
    }
    if (c->kid != NULL && !pt_kid_valid(c->kid)) {
        fail(c, "\"%s\" is not a key id: 12 lowercase hex digits (a key is ptk_<key id>_...)",
             c->kid);
        return 2;
    }
    if (isnew && c->plan == NULL) {
        fail(c, "--plan PLAN is required: the plan of portico.json's \"plans\" the consumer is "
             "on");
        return 2;
    }
    if (c->config == NULL) {
        fail(c, "-c FILE is required: portico.json, which names consumers_dir and "
             "api_keys.secret_file");
        return 2;
    }
    return 0;
}

/* portico.json (refused with any error in it), the secret, and the consumer's file name. 0, or
 * -1 after saying why. */
static int
load_config(struct cmd *c)
{
    struct gw_diag d = {0};
    char err[512], name[80];
    const char *secret;

    c->cfg = gw_config_load(c->config, &d);
    if (c->cfg == NULL || d.errors > 0) {
        gw_diag_print(&d, stderr);
        fail(c, "%s cannot be used as it is (portico check -c %s lists its problems)", c->config,
             c->config);
        gw_diag_free(&d);
        return -1;
    }
    gw_diag_free(&d);
    if ((secret = c->cfg->api_keys.secret_file) == NULL) {
        fail(c, "%s names no api_keys.secret_file: keys are hashed under its secret (make one "
             "with openssl rand -hex 32 > secret, then \"api_keys\": {\"secret_file\": "
             "\"secret\"})", c->config);
        return -1;
    }
    if (pt_key_secret_load(secret, NULL, &c->mac, err, sizeof err) < 0) {
        fail(c, "api_keys.secret_file: %s", err);
        return -1;
    }
    snprintf(name, sizeof name, "%s.json", c->id);
    if ((c->file = gw_path_join(c->cfg->consumers_dir, name)) == NULL) {
        fail(c, "out of memory");
        return -1;
    }
    return 0;
}

/* One entry of "keys": {"kid", "hash", "created", "expires"?}. */
static json_t *
key_object(const struct pt_key *k)
{
    char hash[65], created[32], expires[32];
    json_t *o;

    gw_hex_encode(hash, k->hash, sizeof k->hash);
    hash[64] = '\0';
    pt_time_format(k->created, created);
    o = json_pack("{s:s, s:s, s:s}", "kid", k->kid, "hash", hash, "created", created);
    if (o != NULL && k->expires > 0) {
        pt_time_format(k->expires, expires);
        json_object_set_new(o, "expires", json_string(expires));
    }
    return o;
}

/* The folder of path, made with its parents when missing. 1 made, 0 there already, -1 (errno). */
static int
make_dirs(const char *dir)
{
    char *p = strdup(dir);
    int rc = 0;

    if (p == NULL)
        return -1;
    for (char *s = p + 1; rc == 0 && *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (rc == 0)
        rc = mkdir(p, 0755) == 0 ? 1 : errno == EEXIST ? 0 : -1;
    free(p);
    return rc;
}

/* doc into path, whole or not at all: written and synced into a temporary file beside it (a
 * dot-file, which the gateway never reads), then renamed into place; replace: an existing file
 * is replaced, else it is left alone (-1 with errno EEXIST). 0, or -1 with errno set. */
static int
write_atomic(const char *path, const json_t *doc, mode_t mode, int replace)
{
    const char *slash = strrchr(path, '/');
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *tmp = NULL, *dir;
    size_t len, off = 0;
    int fd = -1, saved = 0, dfd;

    if (text == NULL || asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0,
                                 path, slash ? slash + 1 : path) < 0) {
        free(text);
        errno = ENOMEM;
        return -1;
    }
    len = strlen(text);
    text[len++] = '\n'; /* json_dumps's NUL becomes the last line's end */
    if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, mode) < 0)
        goto fail;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (replace ? rename(tmp, path) < 0
                : renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0 &&
                      (errno != EINVAL || link(tmp, path) < 0 || unlink(tmp) < 0))
        goto fail;
    /* the rename itself, on disk (best effort: the file is whole either way) */
    dir = slash != NULL ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
    if (dir != NULL && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    free(text);
    free(tmp);
    return 0;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(text);
    free(tmp);
    errno = saved;
    return -1;
}

/* A new key into key (shown once) and k, with --expires. 0, or -1 after saying why. */
static int
make_key(const struct cmd *c, char key[PT_KEY_LEN + 1], struct pt_key *k)
{
    if (pt_key_make(&c->mac, key, k) < 0) {
        fail(c, "the random generator failed: no key made");
        return -1;
    }
    k->expires = c->expires;
    return 0;
}

/* The key, on a line of its own, once, and what to do with it. */
static void
show_key(const struct cmd *c, char key[PT_KEY_LEN + 1], const struct pt_key *k)
{
    char t[32];

    if (k->expires > 0)
        pt_time_format(k->expires, t);
    printf("key %s of consumer %s (%s%s):\n%s\n", k->kid, c->id,
           k->expires > 0 ? "expires " : "never expires", k->expires > 0 ? t : "", key);
    printf("note: this is the only time the key is shown: it is kept nowhere (%s holds its keyed "
           "hash only). Hand it to the consumer now; a lost key cannot be shown again (make "
           "another with portico consumer key %s, then revoke the lost one).\n", c->file, c->id);
    printf("next: portico check -c %s, then reload the gateway (SIGHUP)\n", c->config);
    fflush(stdout);
    OPENSSL_cleanse(key, PT_KEY_LEN + 1);
}

/* Is the id a consumer the admin API made, as the node's store file says (read, not written)? */
static int
made_at_run_time(const struct cmd *c)
{
    char err[256];
    int found = 0;

    if (c->cfg->api_keys.store_file != NULL &&
        gw_cstore_open(c->cfg->api_keys.store_file, err, sizeof err) == 0) {
        found = gw_cstore_consumer(c->id) != NULL;
        gw_cstore_close();
        gw_limits_free_all(); /* (what the store's consumers counted in) */
    }
    return found;
}

/* portico consumer new ID --plan PLAN [--name NAME] [--expires TIME] -c FILE */
static int
cmd_new(struct cmd *c)
{
    struct gw_diag d = {0};
    const struct gw_jctx jc = {.file = c->cfg->path, .dir = c->cfg->dir, .loc = c->cfg->loc,
                               .d = &d};
    struct pt_plan **plans = NULL;
    size_t nplans = 0;
    char key[PT_KEY_LEN + 1];
    struct pt_key k;
    struct stat st;
    json_t *doc = NULL, *keys;
    int rc = 1, made;

    if (pt_plans_load(&jc, c->cfg->root, &plans, &nplans) < 0 || d.errors > 0) {
        gw_diag_print(&d, stderr);
        fail(c, "%s: its \"plans\" cannot be read", c->config);
        goto out;
    }
    if (pt_plan_find(plans, nplans, c->plan) == NULL) {
        char names[256] = "";
        for (size_t i = 0, o = 0; i < nplans && o < sizeof names; i++)
            o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "",
                                  plans[i]->name);
        fail(c, "no plan is named \"%s\" in %s (its \"plans\": %s)", c->plan, c->config,
             nplans > 0 ? names : "none");
        goto out;
    }
    if (lstat(c->file, &st) == 0) {
        fail(c, "%s already exists: a consumer's file is never overwritten (portico consumer key "
             "%s adds a key to it)", c->file, c->id);
        goto out;
    }
    if (made_at_run_time(c)) {
        fail(c, "consumer %s was made through the admin API (the node's store, %s): one id, one "
             "consumer", c->id, c->cfg->api_keys.store_file);
        goto out;
    }
    if ((made = make_dirs(c->cfg->consumers_dir)) < 0) {
        fail(c, "cannot make the consumers folder %s: %s", c->cfg->consumers_dir,
             strerror(errno));
        goto out;
    }
    if (made)
        printf("made %s, the consumers folder\n", c->cfg->consumers_dir);
    if (make_key(c, key, &k) < 0)
        goto out;
    doc = json_pack("{s:s}", "id", c->id);
    if (doc != NULL && c->name != NULL)
        json_object_set_new(doc, "name", json_string(c->name));
    if (doc == NULL || json_object_set_new(doc, "plan", json_string(c->plan)) < 0 ||
        (keys = json_array()) == NULL || json_object_set_new(doc, "keys", keys) < 0 ||
        json_array_append_new(keys, key_object(&k)) < 0) {
        fail(c, "out of memory");
        goto out;
    }
    if (write_atomic(c->file, doc, 0644, 0) < 0) {
        fail(c, errno == EEXIST ? "%s already exists: a consumer's file is never overwritten"
                                : "cannot write %s: %s", c->file, strerror(errno));
        goto out;
    }
    printf("wrote %s: consumer %s on plan %s\n", c->file, c->id, c->plan);
    show_key(c, key, &k);
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    for (size_t i = 0; i < nplans; i++)
        pt_plan_free(plans[i]);
    free(plans);
    gw_diag_free(&d);
    json_decref(doc);
    return rc;
}

/* The consumer's file as it is (*mode: its permissions) and its "keys" (made when absent). NULL
 * after saying why. */
static json_t *
read_consumer(const struct cmd *c, json_t **keys, mode_t *mode)
{
    json_error_t jerr;
    struct stat st;
    json_t *doc;

    if (stat(c->file, &st) < 0) {
        if (errno == ENOENT)
            fail(c, "no consumer %s: %s does not exist (portico consumer new %s --plan PLAN "
                 "makes it; a consumer made through the admin API is changed there)", c->id,
                 c->file, c->id);
        else
            fail(c, "%s: %s", c->file, strerror(errno));
        return NULL;
    }
    *mode = st.st_mode & 07777;
    if ((doc = json_load_file(c->file, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        fail(c, "%s:%d:%d: %s", c->file, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        fail(c, "%s: not a JSON object", c->file);
        goto bad;
    }
    if ((*keys = json_object_get(doc, "keys")) == NULL &&
        json_object_set_new(doc, "keys", *keys = json_array()) < 0) {
        fail(c, "out of memory");
        goto bad;
    }
    if (!json_is_array(*keys)) {
        fail(c, "%s: \"keys\" is not an array", c->file);
        goto bad;
    }
    return doc;
bad:
    json_decref(doc);
    return NULL;
}

/* portico consumer key ID [--expires TIME] -c FILE */
static int
cmd_key(struct cmd *c)
{
    char key[PT_KEY_LEN + 1];
    json_t *keys, *doc;
    struct pt_key k;
    mode_t mode = 0644;
    int rc = 1;

    if ((doc = read_consumer(c, &keys, &mode)) == NULL)
        return 1;
    if (make_key(c, key, &k) < 0)
        goto out;
    if (json_array_append_new(keys, key_object(&k)) < 0) {
        fail(c, "out of memory");
        goto out;
    }
    if (write_atomic(c->file, doc, mode, 1) < 0) {
        fail(c, "cannot write %s: %s", c->file, strerror(errno));
        goto out;
    }
    printf("wrote %s: consumer %s has %zu key%s\n", c->file, c->id, json_array_size(keys),
           json_array_size(keys) == 1 ? "" : "s");
    show_key(c, key, &k);
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    json_decref(doc);
    return rc;
}

/* portico consumer revoke ID KID -c FILE */
static int
cmd_revoke(struct cmd *c)
{
    json_t *keys, *doc, *k, *found = NULL;
    mode_t mode = 0644;
    size_t i;
    int rc = 1;

    if ((doc = read_consumer(c, &keys, &mode)) == NULL)
        return 1;
    json_array_foreach(keys, i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid != NULL && strcmp(kid, c->kid) == 0)
            found = k;
    }
    if (!json_is_object(found)) {
        fail(c, "%s holds no key %s of consumer %s (a key made through the admin API is "
             "revoked there: DELETE /consumers/%s/keys/%s)", c->file, c->kid, c->id, c->id,
             c->kid);
        goto out;
    }
    if (json_is_true(json_object_get(found, "revoked"))) {
        printf("key %s of consumer %s was revoked already (%s)\n", c->kid, c->id, c->file);
        rc = 0;
        goto out;
    }
    if (json_object_set_new(found, "revoked", json_true()) < 0 ||
        write_atomic(c->file, doc, mode, 1) < 0) {
        fail(c, "cannot write %s: %s", c->file, strerror(errno));
        goto out;
    }
    printf("wrote %s: key %s of consumer %s is revoked\n", c->file, c->kid, c->id);
    printf("next: portico check -c %s, then reload the gateway (SIGHUP): the key works until "
           "then\n", c->config);
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int
gw_cmd_consumer(int argc, char **argv)
{
    static const struct {
        const char *name;
        int npos;
        int (*run)(struct cmd *);
    } subs[] = {{"new", 1, cmd_new}, {"key", 1, cmd_key}, {"revoke", 2, cmd_revoke}};
    const char *sub = argc > 1 ? argv[1] : "help";
    struct cmd c = {.sub = sub};
    int rc;

    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        if ((rc = parse(&c, argc - 1, argv + 1, subs[i].npos)) != 0)
            return rc == 1 ? 0 : 2;
        rc = load_config(&c) < 0 ? 1 : subs[i].run(&c);
        OPENSSL_cleanse(&c.mac, sizeof c.mac);
        gw_config_free(c.cfg);
        free(c.file);
        return rc;
    }
    fprintf(stderr, "portico consumer: unknown subcommand \"%s\"\n\n", sub);
    usage(stderr);
    return 2;
}
