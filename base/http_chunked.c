/* http_chunked.c: the chunked transfer coding decoder (contract in http_chunked.h).
 *
 * A byte-at-a-time state machine for the framing (size lines, extensions, trailers) that hands the
 * payload back where it lies.
 */
#include "http_chunked.h"

#include <string.h>

#include "http_chars.h"

/* ---- chunked transfer coding ---------------------------------------------------------------- */

#define CHUNK_LINE_MAX 4096     /* size line with its extensions, CRLF excluded */
#define CHUNK_TRAILERS_MAX 8192 /* trailer section, its final blank line excluded */

enum chunk_state {
    CS_SIZE = 0, /* chunk-size digits; line_len counts them so far */
    CS_EXT,      /* chunk extensions: qstate says where in the grammar */
    CS_SIZE_LF,  /* CR ended the size line */
    CS_DATA,     /* remaining payload bytes follow */
    CS_DATA_CR,  /* CRLF after the chunk data */
    CS_DATA_LF,
    CS_TRAILER, /* start of a trailer line, or the final blank line */
    CS_TR_NAME,
    CS_TR_VALUE,
    CS_TR_LF,
    CS_END_LF, /* CR of the final blank line seen */
    CS_DONE,
    CS_ERROR,
};

/* Where the extension lexer is: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ). */
enum ext_state {
    EX_SEMI = 0, /* BWS, then ";" */
    EX_NAME0,    /* BWS, then the first name byte */
    EX_NAME,     /* in the name */
    EX_EQ,       /* BWS after the name, then "=" or ";" */
    EX_VAL0,     /* BWS after "=", then a token or '"' */
    EX_TOKEN,    /* in a token value */
    EX_QUOTED,   /* in a quoted-string */
    EX_ESCAPE,   /* after a backslash in a quoted-string */
    EX_AFTER,    /* after a value */
};

/* Step result: keep going, or data follows (return FRAME), or the body ended. */
#define STEP_MORE 0
#define STEP_DATA 1
#define STEP_DONE 2

/* One byte of chunk extension. CR ends the line where the grammar allows it. */
static int
ext_step(struct gw_chunked *c, unsigned char ch)
{
    int ows = IS(ch, C_OWS) != 0, tch = IS(ch, C_TCHAR) != 0;

    switch (c->qstate) {
    case EX_SEMI:
        if (ch == ';')
            c->qstate = EX_NAME0;
        else if (!ows)
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case EX_NAME0:
        if (tch)
            c->qstate = EX_NAME;
        else if (!ows)
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case EX_NAME:
    case EX_TOKEN:
    case EX_AFTER:
        if (tch && c->qstate != EX_AFTER)
            return STEP_MORE;
        if (ch == '=' && c->qstate == EX_NAME)
            c->qstate = EX_VAL0;
        else if (ch == ';')
            c->qstate = EX_NAME0;
        else if (ch == '\r')
            c->state = CS_SIZE_LF;
        else if (ows)
            c->qstate = c->qstate == EX_NAME ? EX_EQ : EX_SEMI;
        else
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case EX_EQ:
        if (ch == '=')
            c->qstate = EX_VAL0;
        else if (ch == ';')
            c->qstate = EX_NAME0;
        else if (!ows)
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case EX_VAL0:
        if (tch)
            c->qstate = EX_TOKEN;
        else if (ch == '"')
            c->qstate = EX_QUOTED;
        else if (!ows)
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case EX_QUOTED:
        if (ch == '"')
            c->qstate = EX_AFTER;
        else if (ch == '\\')
            c->qstate = EX_ESCAPE;
        else if (!IS(ch, C_QDTEXT))
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case EX_ESCAPE:
        if (!IS(ch, C_FVAL))
            return GW_HTTP_E_BAD;
        c->qstate = EX_QUOTED;
        return STEP_MORE;
    default:
        return GW_HTTP_E_BAD;
    }
}

/* The size line ended: a chunk of c->remaining bytes follows, or the trailers. */
static int
size_line_done(struct gw_chunked *c, uint64_t max_body)
{
    if (c->remaining == 0) {
        c->state = CS_TRAILER;
        c->trailer_len = 0;
        return STEP_MORE;
    }
    if (max_body != 0 && c->remaining > max_body - c->total)
        return GW_HTTP_E_BODY_TOO_BIG;
    if (c->remaining > UINT64_MAX - c->total)
        return GW_HTTP_E_BAD;
    c->state = CS_DATA;
    return STEP_DATA;
}

/* One byte of a size line. */
static int
size_step(struct gw_chunked *c, unsigned char ch, uint64_t max_body)
{
    if (c->state == CS_SIZE_LF)
        return ch == '\n' ? size_line_done(c, max_body) : GW_HTTP_E_BAD;
    if (++c->line_len > CHUNK_LINE_MAX + 1) /* + 1: the CR that ends it is counted */
        return GW_HTTP_E_BAD;
    if (c->state == CS_EXT)
        return ext_step(c, ch);
    if (IS(ch, C_HEX)) {
        if (c->line_len > 16)
            return GW_HTTP_E_BAD;
        c->remaining =
            (c->remaining << 4) | (uint64_t)(IS(ch, C_DIGIT) ? ch - '0' : (ch | 0x20) - 'a' + 10);
        return STEP_MORE;
    }
    if (c->line_len == 1)
        return GW_HTTP_E_BAD; /* no digit */
    if (ch == '\r') {
        c->state = CS_SIZE_LF;
        return STEP_MORE;
    }
    if (ch != ';' && !IS(ch, C_OWS))
        return GW_HTTP_E_BAD;
    c->state = CS_EXT;
    c->qstate = ch == ';' ? EX_NAME0 : EX_SEMI;
    return STEP_MORE;
}

/* One byte of the trailer section. */
static int
trailer_step(struct gw_chunked *c, unsigned char ch)
{
    if (c->state == CS_TRAILER && ch == '\r') { /* the final blank line, not counted */
        c->state = CS_END_LF;
        return STEP_MORE;
    }
    if (c->state == CS_END_LF) {
        if (ch != '\n')
            return GW_HTTP_E_BAD;
        c->state = CS_DONE;
        return STEP_DONE;
    }
    if (++c->trailer_len > CHUNK_TRAILERS_MAX)
        return GW_HTTP_E_BAD;
    switch (c->state) {
    case CS_TRAILER:
        if (!IS(ch, C_TCHAR))
            return GW_HTTP_E_BAD; /* obs-fold, empty name, CTL */
        c->state = CS_TR_NAME;
        return STEP_MORE;
    case CS_TR_NAME:
        if (ch == ':')
            c->state = CS_TR_VALUE;
        else if (!IS(ch, C_TCHAR))
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case CS_TR_VALUE:
        if (ch == '\r')
            c->state = CS_TR_LF;
        else if (!IS(ch, C_FVAL))
            return GW_HTTP_E_BAD;
        return STEP_MORE;
    case CS_TR_LF:
        if (ch != '\n')
            return GW_HTTP_E_BAD;
        c->state = CS_TRAILER;
        return STEP_MORE;
    default:
        return GW_HTTP_E_BAD;
    }
}

static int
chunk_step(struct gw_chunked *c, unsigned char ch, uint64_t max_body)
{
    switch (c->state) {
    case CS_SIZE:
    case CS_EXT:
    case CS_SIZE_LF:
        return size_step(c, ch, max_body);
    case CS_DATA_CR:
        if (ch != '\r')
            return GW_HTTP_E_BAD;
        c->state = CS_DATA_LF;
        return STEP_MORE;
    case CS_DATA_LF:
        if (ch != '\n')
            return GW_HTTP_E_BAD;
        c->state = CS_SIZE;
        c->line_len = 0;
        c->remaining = 0;
        return STEP_MORE;
    default:
        return trailer_step(c, ch);
    }
}

/* Start decoding a new chunked body. */
void
gw_chunked_init(struct gw_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CS_SIZE;
}

/* Decode from p[0..len); see http_parser.h for the return protocol. After an error the decoder
 * stays failed: every later call returns GW_HTTP_E_BAD. On an error *n is the offset of the byte
 * refused. */
int
gw_chunked_feed(struct gw_chunked *c, const char *p, size_t len, uint64_t max_body, size_t *n)
{
    size_t i;
    int rc;

    *n = 0;
    if (c->state == CS_DATA) {
        *n = len < c->remaining ? len : (size_t)c->remaining;
        c->remaining -= *n;
        c->total += *n;
        if (c->remaining == 0)
            c->state = CS_DATA_CR;
        return GW_CHUNK_DATA;
    }
    if (c->state == CS_DONE || c->state == CS_ERROR)
        return GW_HTTP_E_BAD;
    for (i = 0; i < len; i++) {
        rc = chunk_step(c, (unsigned char)p[i], max_body);
        if (rc == STEP_MORE)
            continue;
        *n = i + 1;
        if (rc == STEP_DATA)
            return GW_CHUNK_FRAME;
        if (rc == STEP_DONE)
            return GW_CHUNK_DONE;
        *n = i;
        c->state = CS_ERROR;
        return rc;
    }
    *n = len;
    return GW_HTTP_AGAIN;
}
