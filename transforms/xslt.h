/* xslt.h: the xslt transform's parts, shared by its runtime (xslt.c) and its configuration
 * (xslt_conf.c). Not for other modules: they use tf_xslt_ops (builtins_xml.h).
 *
 * Confinement: the stylesheet, what it imports or includes and what document() reads must all
 * be files inside the bundle folder (after symbolic links); nothing is written and nothing is
 * fetched from the network. Two libxslt hooks enforce it:
 * - a document loader (xsltSetLoaderFunc, installed once for the process) that every xsl:import,
 *   xsl:include and document() goes through: it checks the file against the bundle folder of
 *   the stylesheet (xsltStylesheet._private) or of the run (xsltTransformContext._private) and
 *   parses it without DTD loading, entity substitution or network; a stylesheet (the top one,
 *   in xslt_conf.c, or one imported or included) is first checked by the threat parser, so that
 *   a DTD refuses it instead of leaving its entities empty (tf_xslt_check_file);
 * - per-instance security preferences, set on each run's transform context: file and network
 *   writes and directory creation forbidden, network reads forbidden, file reads checked
 *   against the bundle folder.
 */
#ifndef TF_XSLT_H
#define TF_XSLT_H

#include <stddef.h>

#include <libxml/xmlerror.h>
#include <libxslt/security.h>
#include <libxslt/xsltInternals.h>

#include "template.h"
#include "transform.h"

struct xslt_param {
    char *name;                 /* a top-level xsl:param of the stylesheet */
    struct tf_template *value;  /* expanded per exchange, passed as a string */
};

/* One configured xslt step; read-only once created. */
struct xslt_inst {
    xsltStylesheetPtr style;
    xsltSecurityPrefsPtr sec;
    char *root;                 /* the bundle folder, resolved (realpath) */
    char *name;                 /* the stylesheet as the config names it */
    char *content_type;         /* of the result */
    struct xslt_param *params;
    size_t nparams;
    struct tf_limits limits;    /* the gateway's, for the files read while compiling */
};

/* Messages libxml2 and libxslt report during one compile or one run. Bundle paths are shown
 * relative to the bundle folder, lines joined with "; ". */
struct xslt_msgs {
    const char *root;
    char text[1024];
    size_t len;
    char refused[512];          /* the first access the confinement refused */
};

/* What one run hands libxslt's callbacks (xsltTransformContext._private). */
struct xslt_call {
    const struct xslt_inst *inst;
    struct xslt_msgs *msgs;
};

/* The error handlers in force before tf_xslt_msgs_begin. */
struct xslt_saved {
    void *gen_ctx;
    xmlGenericErrorFunc gen;
    void *st_ctx;
    xmlStructuredErrorFunc st;
    struct xslt_msgs *prev;
};

/* Initialize libxml2 and libxslt and install the process-wide hooks (once; thread-safe). */
void tf_xslt_global_init(void);

/* Route this thread's libxml2 and libxslt messages into msgs until tf_xslt_msgs_end. */
void tf_xslt_msgs_begin(struct xslt_msgs *msgs, const char *root, struct xslt_saved *saved);
void tf_xslt_msgs_end(const struct xslt_saved *saved);
/* The messages collected, or NULL when there are none. */
const char *tf_xslt_msgs_text(struct xslt_msgs *msgs);
/* Append one message (printf format) to msgs. */
void tf_xslt_msg(struct xslt_msgs *msgs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Is path (a file name, not a URI) inside the folder root (resolved)? Returns 1, or 0 with the
 * reason written to why. */
int tf_xslt_inside(const char *root, const char *path, char *why, size_t whylen);

/* Check a stylesheet file (the one the config names, or one it imports or includes) through the
 * threat parser, as validate checks schema files: a DTD, an entity declaration or reference, or
 * more than the limits l refuse it, because libxslt would read it with its entities silently
 * empty. A file that is only not well-formed passes, for libxml2's own messages (each error with
 * its line). Returns 0, or -1 with the reason added to msgs, after `shown` and ": " when shown is
 * not NULL. */
int tf_xslt_check_file(const char *buf, size_t len, const struct tf_limits *l, const char *shown,
                       struct xslt_msgs *msgs);

/* Security preferences for the runs: see above. NULL when out of memory. */
xsltSecurityPrefsPtr tf_xslt_security_new(void);

void *tf_xslt_create(const struct tf_conf *cc);
void tf_xslt_destroy(void *inst);

#endif
