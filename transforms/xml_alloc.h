/* xml_alloc.h: libxml2's (and libxslt's) memory during a transform chain comes from the
 * exchange's arena, not the general heap.
 *
 * Parsing a document, building its tree and freeing it is, for libxml2, a malloc and a free for
 * every node, name and text: about a fifth of a chain's CPU on the ISO 20022 samples. libxml2
 * lets a program replace its allocator (xmlMemSetup), for the whole process and only before its
 * first allocation. So the gateway installs, at start, functions that put a small header before
 * every block: a block taken while a chain runs on this thread comes from the exchange's arena
 * (its free does nothing: the arena goes with the exchange), any other from malloc (freed by
 * free). The header says which, so that each block is freed the way it was made, whenever
 * libxml2 frees it.
 *
 * What makes it safe: only what a chain's steps make while they run is put in the arena, and
 * none of it is kept past the exchange: the documents a message holds are freed with it
 * (body_forms.c), the parser's and the transform contexts are freed before their step returns,
 * and the one thing libxml2 keeps across calls on a thread, the last error's copy, is dropped
 * when the chain ends (xmlResetLastError). What is compiled at load (stylesheets, schemas,
 * XPath expressions, libxml2's own globals) is made on the heap: no chain runs then. The cost:
 * what libxml2 frees during an exchange stays in the arena until the exchange ends (a parser's
 * buffers, a transform's intermediate documents), at most a few times the body.
 */
#ifndef TF_XML_ALLOC_H
#define TF_XML_ALLOC_H

#include "transform.h"

/* Install the allocator (xmlMemSetup), then initialise libxml2 (xmlInitParser: its globals made
 * on the heap): before any other libxml2 call of the process. A process that does not call it (a
 * tool, a test) keeps libxml2's own; enter and leave then change nothing. */
void tf_xml_alloc_init(void);

/* A chain starts / ends on this thread with x: libxml2's blocks come from x's arena between the
 * two (they nest). */
void tf_xml_alloc_enter(struct tf_ctx *x);
void tf_xml_alloc_leave(void);

/* Between pause and resume, the blocks libxml2 takes on this thread come from the heap again and
 * are freed when let go: for a library that churns through blocks it frees at once (xmlsec1's
 * node sets, transforms and buffers while it checks a signature), which in the arena would stay
 * until the exchange ends. A block is freed the way it was made, whichever mode frees it. pause
 * returns what resume takes. */
struct tf_ctx *tf_xml_alloc_pause(void);
void tf_xml_alloc_resume(struct tf_ctx *x);

#endif
