/* partner_cli.h: what the files of `portico partner new | csr | expiry` share, and nothing else
 * includes: partner_cmd.c reads the command line and holds the helpers below, partner_new.c
 * scaffolds a bundle, partner_csr.c makes our outbound key and CSR, partner_expiry.c lists
 * certificates by the date they expire.
 */
#ifndef PT_PARTNER_CLI_H
#define PT_PARTNER_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

/* The options every subcommand takes: where the bundles are. */
struct pt_cli {
    const char *sub;    /* "new", "csr", "expiry": for messages */
    const char *config; /* -c portico.json */
    const char *dir;    /* -d PARTNERS_DIR */
    json_t *root;       /* portico.json, read when -c was given (pt_cli_partners_dir) */
};

/* The usage of every subcommand. */
void pt_cli_usage(FILE *out);

/* "portico partner SUB: " and the message, one line on standard error. */
void pt_cli_fail(const struct pt_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The partners folder: -d, else portico.json's "partners_dir" (default "partners.d") relative to
 * its folder, the file read with jansson alone into c->root (so that a configuration the gateway
 * would refuse still tells where its bundles are). malloc'd; NULL after saying why. */
char *pt_cli_partners_dir(struct pt_cli *c);

/* name (a path in portico.json) relative to the folder of c->config, malloc'd. */
char *pt_cli_config_path(const struct pt_cli *c, const char *name);

/* The partner id is valid and its bundle folder's path into *out (malloc'd). 0, or -1 after
 * saying why. */
int pt_cli_bundle_dir(struct pt_cli *c, const char *partners_dir, const char *id, char **out);

/* Every certificate of the PEM file, first one first; NULL after saying why (unreadable, or no
 * "BEGIN CERTIFICATE" in it). */
STACK_OF(X509) *pt_cli_load_certs(const struct pt_cli *c, const char *file);

/* Write len bytes to a new file at path with exactly this mode (whatever the umask): O_EXCL when
 * excl (an existing file is left alone: -1 with errno EEXIST), else replacing one. 0, or -1 with
 * errno set (a partly written file is removed). */
int pt_cli_write_file(const char *path, mode_t mode, int excl, const void *data, size_t len);

/* What PEM writers put in the memory BIO, written as pt_cli_write_file does. */
int pt_cli_write_bio(const char *path, mode_t mode, int excl, BIO *bio);

/* The subcommands, on argv from the subcommand's name. Each returns the exit status. */
int pt_cli_new(int argc, char **argv);
int pt_cli_csr(int argc, char **argv);
int pt_cli_expiry(int argc, char **argv);

#endif
