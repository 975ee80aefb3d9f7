/* json_map.h: the compiled form of a `json_map` config, shared by json_map_conf.c (which builds
 * it at load) and json_map.c (which applies it). Private to those two files.
 *
 * A path is a JSON pointer (RFC 6901: "" is the whole document, "/a/b~1c" the member "b/c" of
 * "a") where the segment "*" stands for every element of an array and, in a path that is written,
 * "-" for a new element appended to an array. A segment of digits is an index on an array and a
 * member name on an object.
 *
 * Wildcards ("*") bind indexes. A copy or move whose "from" and "to" have as many goes element by
 * element (the k-th "*" of "to" takes the index of the k-th "*" of "from", elements created as
 * needed); a "to" without any collects every value found into one array; a "from" without any
 * copies its one value under every element the "*" of "to" find. Set and default with "*" write
 * under every element that exists. Reading paths (from, delete, rename) never create anything.
 *
 * Writing creates what is missing on the way: an array when the next segment is an index, "-" or
 * "*", else an object; an index past the end of an array pads it (with empty containers on the
 * way, with null before a value written last). Writing through a value that is not a container
 * (a string where an object is needed) fails the exchange.
 */
#ifndef TF_JSON_MAP_H
#define TF_JSON_MAP_H

#include <stddef.h>

#include "arena.h"
#include "json_tree.h"
#include "template.h"

#define JM_MAX_WILD 8 /* "*" segments in one path */

struct jm_seg {
    char *key;   /* the unescaped segment: a member name */
    long index;  /* an array index when the segment is one ("0", "12"), else -1 */
    int wild;    /* "*" */
    int append;  /* "-" */
};

struct jm_path {
    char *text;  /* as written in the config, for messages */
    struct jm_seg *segs;
    size_t n;
    size_t nwild;
};

enum jm_value_kind { JV_CONST, JV_TEMPLATE, JV_OBJECT, JV_ARRAY };

/* A value to set: constant JSON, or a tree holding template strings. */
struct jm_value {
    enum jm_value_kind kind;
    struct jv constant;        /* JV_CONST: built once, in the instance's arena; an exchange
                                * gets a copy of its containers (tf_jv_copy) */
    struct tf_template *tpl;   /* JV_TEMPLATE */
    size_t n;                  /* JV_OBJECT, JV_ARRAY: children */
    char **keys;               /* JV_OBJECT */
    struct jm_value *items;
};

enum jm_kind { JM_COPY, JM_MOVE, JM_RENAME, JM_DELETE, JM_SET, JM_DEFAULT };

struct jm_op {
    enum jm_kind kind;
    struct jm_path from;       /* copy, move: "from"; rename, delete, set, default: "path" */
    struct jm_path to;         /* copy, move */
    char *name;                /* rename: the new member name */
    struct jm_value value;     /* set, default */
};

struct jm_inst {
    struct gw_arena arena;     /* the constants' trees (read-only once created) */
    struct jm_op *ops;
    size_t nops;
    int strict;                /* a body that is not JSON fails (415) instead of being skipped */
};

/* The name of an operation kind ("copy"). In json_map_conf.c. */
const char *tf_jm_kind_name(enum jm_kind k);

/* tf_json_map_ops.apply. In json_map.c. */
int tf_jm_apply(void *inst, struct tf_message *m, struct tf_ctx *x);

#endif
