/* partner_cmd.c: `portico partner new | csr | expiry`, onboarding a partner from the command
 * line: the usage, the dispatch, and what the subcommands share (partner_cli.h): messages, where
 * the bundles are, reading certificates, writing files with the mode they need.
 */
#include "partner_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "bundle.h"
#include "json_loc.h"
#include "partner_cli.h"

void
pt_cli_usage(FILE *out)
{
    fprintf(
        out,
        "usage: portico partner new ID --ca FILE [--client-cert FILE] [--no-pin] [--name NAME]\n"
        "                           [--route NAME=METHODS,PATH,UPSTREAM]... [-c FILE | -d DIR]\n"
        "       portico partner csr ID [--cn NAME] [--key-type ec|rsa] [-c FILE | -d DIR]\n"
        "       portico partner expiry [--days N] [--json] [-c FILE | -d DIR]\n"
        "       portico partner diff -c FILE [--admin HOST:PORT] [--cert F --key F] [--cacert F]\n"
        "\n"
        "Onboard a partner: scaffold its bundle (new), make our outbound private key and the\n"
        "certificate signing request the partner signs (csr), list every certificate the\n"
        "configuration names, soonest to expire first (expiry); what a reload of the files\n"
        "would change on the running node, asked through its admin API (diff: portico partner\n"
        "diff --help).\n"
        "\n"
        "  -c FILE        portico.json: the bundles are in its partners_dir (expiry: its\n"
        "                 listeners' server certificates are listed too)\n"
        "  -d DIR         the partners folder itself\n"
        "new\n"
        "  --ca FILE      the CA certificate(s) that issue the partner's client certificates,\n"
        "                 copied into the bundle as ca.pem\n"
        "  --client-cert FILE\n"
        "                 one of the partner's client certificates, which the CA must have\n"
        "                 issued: its subject (in RFC 2253 order, as the gateway compares it),\n"
        "                 DNS and URI SANs and SHA-256 fingerprint become the identity\n"
        "  --no-pin       leave the fingerprint out (a renewed certificate then still matches)\n"
        "  --name NAME    the partner's display name (default: ID)\n"
        "  --route NAME=METHODS,PATH,UPSTREAM\n"
        "                 a route of the partner (repeatable): METHODS joined with '+', or '*'\n"
        "                 for every method; PATH exact, or a prefix ending in '*'; UPSTREAM a\n"
        "                 URL or an upstream set: orders=GET+POST,/initech/orders/*,http://10.0.0.5:8080\n"
        "csr\n"
        "  --cn NAME      the common name of the CSR's subject (default: portico)\n"
        "  --key-type T   ec (P-256, the default) or rsa (3072 bits)\n"
        "expiry\n"
        "  --days N       what expires within N days fails the run (default 30)\n"
        "  --json         the list as JSON\n"
        "\n"
        "Exit status: 0 done (expiry: nothing expires within N days), 1 refused or failed\n"
        "(expiry: something expires within N days, or could not be read), 2 usage.\n");
}

int
pt_cmd_partner(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "help";

    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        pt_cli_usage(stdout);
        return 0;
    }
    if (strcmp(sub, "new") == 0)
        return pt_cli_new(argc - 1, argv + 1);
    if (strcmp(sub, "csr") == 0)
        return pt_cli_csr(argc - 1, argv + 1);
    if (strcmp(sub, "expiry") == 0)
        return pt_cli_expiry(argc - 1, argv + 1);
    fprintf(stderr, "portico partner: unknown subcommand \"%s\"\n\n", sub);
    pt_cli_usage(stderr);
    return 2;
}

void
pt_cli_fail(const struct pt_cli *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "portico partner %s: ", c->sub);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

char *
pt_cli_partners_dir(struct pt_cli *c)
{
    const char *name = "partners.d";
    json_error_t jerr;
    json_t *j;

    if (c->dir != NULL)
        return strdup(c->dir);
    if (c->config == NULL) {
        pt_cli_fail(c, "where are the bundles? give -c FILE (portico.json) or -d DIR");
        return NULL;
    }
    if ((c->root = json_load_file(c->config, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        pt_cli_fail(c, "%s:%d:%d: %s", c->config, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(c->root)) {
        pt_cli_fail(c, "%s: not a JSON object", c->config);
        return NULL;
    }
    if ((j = json_object_get(c->root, "partners_dir")) != NULL) {
        if (!json_is_string(j)) {
            pt_cli_fail(c, "%s: partners_dir must be a string", c->config);
            return NULL;
        }
        name = json_string_value(j);
    }
    return pt_cli_config_path(c, name);
}

char *
pt_cli_config_path(const struct pt_cli *c, const char *name)
{
    const char *slash = strrchr(c->config, '/');
    char *dir, *out;

    dir = slash != NULL ? strndup(c->config, (size_t)(slash - c->config + (slash == c->config)))
                        : strdup(".");
    out = dir != NULL ? gw_path_join(dir, name) : NULL;
    free(dir);
    return out;
}

int
pt_cli_bundle_dir(struct pt_cli *c, const char *partners_dir, const char *id, char **out)
{
    if (!pt_partner_id_valid(id)) {
        pt_cli_fail(c, "\"%s\" is not a partner id: 1 to 64 of a-z 0-9 . _ -, starting with a "
                    "letter or digit", id);
        return -1;
    }
    if ((*out = gw_path_join(partners_dir, id)) == NULL) {
        pt_cli_fail(c, "out of memory");
        return -1;
    }
    return 0;
}

STACK_OF(X509) *
pt_cli_load_certs(const struct pt_cli *c, const char *file)
{
    STACK_OF(X509) *certs = NULL;
    BIO *bio = BIO_new_file(file, "r");
    X509 *x;

    if (bio == NULL) {
        pt_cli_fail(c, "%s: %s", file, strerror(errno ? errno : EIO));
        goto out;
    }
    if ((certs = sk_X509_new_null()) == NULL)
        goto out;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(certs, x) <= 0) {
            X509_free(x);
            break;
        }
    }
    if (sk_X509_num(certs) == 0) {
        pt_cli_fail(c, "%s: no certificate in it (expected PEM \"BEGIN CERTIFICATE\")", file);
        sk_X509_free(certs);
        certs = NULL;
    }
out:
    ERR_clear_error();
    BIO_free(bio);
    return certs;
}

int
pt_cli_write_file(const char *path, mode_t mode, int excl, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), mode);
    const char *p = data;
    int saved;

    if (fd < 0)
        return -1;
    if (fchmod(fd, mode) < 0)
        goto fail;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(path);
    errno = saved;
    return -1;
}

int
pt_cli_write_bio(const char *path, mode_t mode, int excl, BIO *bio)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0) {
        errno = ENOMEM;
        return -1;
    }
    return pt_cli_write_file(path, mode, excl, data, (size_t)n);
}
