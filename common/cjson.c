/* Canonical JSON: a one-pass parser into an arena, members sorted, numbers normalised as
 * decimal text, and a writer that streams the canonical form into a digest or a string. */
#include "common/cjson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cjson_num.h"

#define CJ_MAX_DEPTH 128 /* serde_json's recursion limit */
#define CJ_BLOCK     (32u << 10)

typedef struct member member_t;

struct gw_cjnode {
    uint8_t type;
    uint32_t n; /* bytes of a string or number, items of an array, members of an object */
    union {
        const char *s;
        gw_cjnode_t *items;
        member_t *members;
    } u;
};

struct member {
    const char *key;
    uint32_t klen;
    gw_cjnode_t val;
};

typedef struct block {
    struct block *next;
    size_t used, cap;
    char data[];
} block_t;

struct gw_cjson {
    block_t *blocks;
    gw_cjnode_t root;
};

/* ---- arena -------------------------------------------------------------------------------- */

static void *arena_alloc(gw_cjson_t *doc, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    block_t *b = doc->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > CJ_BLOCK ? size : CJ_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = doc->blocks;
        doc->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

/* Gives back the tail of the last allocation p (of size bytes) past its first keep bytes. */
static void arena_unalloc(gw_cjson_t *doc, const char *p, size_t size, size_t keep)
{
    block_t *b = doc->blocks;
    size = (size + 7) & ~(size_t)7;
    keep = (keep + 7) & ~(size_t)7;
    if (b && p + size == b->data + b->used) b->used -= size - keep;
}

void gw_cjson_free(gw_cjson_t *doc)
{
    if (!doc) return;
    block_t *b = doc->blocks;
    while (b) {
        block_t *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

/* ---- parser ------------------------------------------------------------------------------- */

typedef struct parser {
    const char *start, *p, *end;
    gw_cjson_t *doc;
    int depth;
    const char *err;
    const char *err_at;
    gw_cjnode_t *vs; /* scratch stack of array items under construction */
    size_t vlen, vcap;
    member_t *ms; /* scratch stack of object members under construction */
    size_t mlen, mcap;
} parser_t;

static int fail(parser_t *ps, const char *at, const char *msg)
{
    if (!ps->err) {
        ps->err = msg;
        ps->err_at = at;
    }
    return -1;
}

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser_t *ps, const char *q, unsigned *out)
{
    if (ps->end - q < 4) return fail(ps, q, "EOF while parsing a string");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(q[i]);
        if (h < 0) return fail(ps, q + i, "invalid escape");
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at q (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *q, const unsigned char *end)
{
    unsigned c = q[0];
    size_t n;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - q) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((q[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (q[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* \uXXXX (and its low surrogate) at q (after the backslash-u); writes UTF-8 to o. */
static int read_unicode(parser_t *ps, const char **qp, char *o, size_t *olen)
{
    const char *q = *qp;
    unsigned cp;
    if (read_hex4(ps, q, &cp) != 0) return -1;
    q += 4;
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail(ps, q, "lone trailing surrogate in hex escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo;
        if (ps->end - q < 2 || q[0] != '\\' || q[1] != 'u')
            return fail(ps, q, "lone leading surrogate in hex escape");
        if (read_hex4(ps, q + 2, &lo) != 0) return -1;
        if (lo < 0xdc00 || lo > 0xdfff) return fail(ps, q, "lone leading surrogate in hex escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        q += 6;
    }
    *olen = put_utf8(o, cp);
    *qp = q;
    return 0;
}

/* A string at ps->p (on the opening quote), decoded into the arena. */
static int parse_string(parser_t *ps, const char **out, uint32_t *outlen)
{
    const char *q = ps->p + 1;
    const char *close = q;
    while (close < ps->end && *close != '"') {
        if (*close == '\\' && ps->end - close < 2) break;
        close += *close == '\\' ? 2 : 1;
    }
    if (close >= ps->end || *close != '"') return fail(ps, ps->end, "EOF while parsing a string");
    char *o = arena_alloc(ps->doc, (size_t)(close - q) + 1);
    if (!o) return fail(ps, q, "out of memory");
    size_t n = 0;
    while (q < close) {
        unsigned char c = (unsigned char)*q;
        if (c == '\\') {
            char e = q[1];
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *hit = e ? strchr(from, e) : NULL;
            if (hit) {
                o[n++] = to[hit - from];
                q += 2;
            } else if (e == 'u') {
                size_t l;
                q += 2;
                if (read_unicode(ps, &q, o + n, &l) != 0) return -1;
                n += l;
            } else {
                return fail(ps, q, "invalid escape");
            }
        } else if (c < 0x20) {
            return fail(ps, q, "control character (\\u0000-\\u001F) found while parsing a string");
        } else if (c < 0x80) {
            o[n++] = (char)c;
            q++;
        } else {
            size_t l = utf8_seq((const unsigned char *)q, (const unsigned char *)close);
            if (!l) return fail(ps, q, "invalid unicode code point");
            memcpy(o + n, q, l);
            n += l;
            q += l;
        }
    }
    if (n > UINT32_MAX) return fail(ps, q, "string too long");
    *out = o;
    *outlen = (uint32_t)n;
    ps->p = close + 1;
    return 0;
}

#define is_digit gw_cjnum_is_digit

/* Scans the number at ps->p into *nm and moves past it. */
static int scan_number(parser_t *ps, gw_cjnum_t *nm)
{
    const char *at = NULL, *msg = gw_cjnum_scan(ps->p, ps->end, nm, &at);
    if (msg) return fail(ps, at, msg);
    ps->p = nm->end;
    return 0;
}

static int parse_number(parser_t *ps, gw_cjnode_t *out)
{
    gw_cjnum_t nm;
    if (scan_number(ps, &nm) != 0) return -1;
    char *o = arena_alloc(ps->doc, GW_CJNUM_ROOM(&nm));
    if (!o) return fail(ps, nm.s, "out of memory");
    out->type = nm.real ? GW_CJ_REAL : GW_CJ_INT;
    out->u.s = o;
    out->n = (uint32_t)gw_cjnum_emit(&nm, o);
    return 0;
}

static int parse_value(parser_t *ps, gw_cjnode_t *out);

static int member_cmp(const void *a, const void *b)
{
    const member_t *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int push_member(parser_t *ps, const member_t *m)
{
    if (ps->mlen == ps->mcap) {
        size_t cap = ps->mcap ? ps->mcap * 2 : 64;
        member_t *ms = realloc(ps->ms, cap * sizeof(*ms));
        if (!ms) return fail(ps, ps->p, "out of memory");
        ps->ms = ms;
        ps->mcap = cap;
    }
    ps->ms[ps->mlen++] = *m;
    return 0;
}

static int push_item(parser_t *ps, const gw_cjnode_t *v)
{
    if (ps->vlen == ps->vcap) {
        size_t cap = ps->vcap ? ps->vcap * 2 : 256;
        gw_cjnode_t *vs = realloc(ps->vs, cap * sizeof(*vs));
        if (!vs) return fail(ps, ps->p, "out of memory");
        ps->vs = vs;
        ps->vcap = cap;
    }
    ps->vs[ps->vlen++] = *v;
    return 0;
}

/* After '{': members onto the scratch stack, then sorted into the arena. */
static int parse_object(parser_t *ps, gw_cjnode_t *out)
{
    size_t mark = ps->mlen;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            member_t m;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, ps->p, "key must be a string");
            if (parse_string(ps, &m.key, &m.klen) != 0) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, ps->p, "expected `:`");
            ps->p++;
            if (parse_value(ps, &m.val) != 0 || push_member(ps, &m) != 0) return -1;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == '}') {
                ps->p++;
                break;
            }
            return fail(ps, ps->p, "expected `,` or `}`");
        }
    }
    size_t n = ps->mlen - mark;
    member_t *ms = n ? arena_alloc(ps->doc, n * sizeof(*ms)) : NULL;
    if (n && !ms) return fail(ps, ps->p, "out of memory");
    if (n) memcpy(ms, ps->ms + mark, n * sizeof(*ms));
    ps->mlen = mark;
    if (n > 1) qsort(ms, n, sizeof(*ms), member_cmp);
    for (size_t i = 1; i < n; i++)
        if (member_cmp(&ms[i - 1], &ms[i]) == 0) return fail(ps, ps->p, "duplicate object key");
    out->type = GW_CJ_OBJ;
    out->n = (uint32_t)n;
    out->u.members = ms;
    return 0;
}

/* An array of numbers only (a query vector, ids) is kept as its canonical text, one node
 * instead of one per item: 0 when it was one, 1 when the array holds something else or is bad
 * (the caller then parses it item by item, which also finds the error's place). */
static int parse_numbers(parser_t *ps, gw_cjnode_t *out)
{
    /* The text goes straight into the arena: what is left of the document, twice over, is
     * more than its numbers' canonical text can take (a number grows by at most 2 bytes and
     * the digits of its fraction's length); the unused tail is given back. */
    size_t room = 2 * (size_t)(ps->end - ps->p) + 64, len = 0;
    char *text = arena_alloc(ps->doc, room);
    if (!text) return 1;
    int rc = 1;
    for (uint32_t n = 0;; n++) {
        gw_cjnum_t nm;
        if (ps->p >= ps->end || (*ps->p != '-' && !is_digit(*ps->p))) break;
        size_t at = len + (n ? 1 : 0), w = 0;
        const char *next;
        if (room - at >= (size_t)(ps->end - ps->p) + 32)
            w = gw_cjnum_fast_real(ps->p, ps->end, text + at, &next);
        if (w) {
            ps->p = next;
        } else {
            if (scan_number(ps, &nm) != 0 || room - at < GW_CJNUM_ROOM(&nm)) break;
            w = gw_cjnum_emit(&nm, text + at);
        }
        if (n) text[len] = ',';
        len = at + w;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']' && len <= UINT32_MAX) rc = 0;
        break;
    }
    arena_unalloc(ps->doc, text, room, rc == 0 ? len : 0);
    if (rc != 0) return 1;
    ps->p++;
    out->type = GW_CJ_NUMS;
    out->n = (uint32_t)len;
    out->u.s = text;
    return 0;
}

static int parse_array(parser_t *ps, gw_cjnode_t *out)
{
    size_t mark = ps->vlen;
    skip_ws(ps);
    if (ps->p < ps->end && (*ps->p == '-' || is_digit(*ps->p))) {
        const char *at = ps->p;
        if (parse_numbers(ps, out) == 0) return 0;
        ps->p = at; /* something else in it: item by item */
        ps->err = NULL;
    }
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            gw_cjnode_t v;
            if (parse_value(ps, &v) != 0 || push_item(ps, &v) != 0) return -1;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                break;
            }
            return fail(ps, ps->p, "expected `,` or `]`");
        }
    }
    size_t n = ps->vlen - mark;
    gw_cjnode_t *items = n ? arena_alloc(ps->doc, n * sizeof(*items)) : NULL;
    if (n && !items) return fail(ps, ps->p, "out of memory");
    if (n) memcpy(items, ps->vs + mark, n * sizeof(*items));
    ps->vlen = mark;
    out->type = GW_CJ_ARR;
    out->n = (uint32_t)n;
    out->u.items = items;
    return 0;
}

static int parse_literal(parser_t *ps, const char *word, int type, gw_cjnode_t *out)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, ps->p, "expected value");
    ps->p += n;
    out->type = (uint8_t)type;
    out->n = 0;
    return 0;
}

static int parse_value(parser_t *ps, gw_cjnode_t *out)
{
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, ps->p, "EOF while parsing a value");
    memset(out, 0, sizeof(*out));
    switch (*ps->p) {
    case '{':
    case '[': {
        if (++ps->depth > CJ_MAX_DEPTH) return fail(ps, ps->p, "recursion limit exceeded");
        int obj = *ps->p++ == '{';
        int rc = obj ? parse_object(ps, out) : parse_array(ps, out);
        ps->depth--;
        return rc;
    }
    case '"':
        out->type = GW_CJ_STR;
        return parse_string(ps, &out->u.s, &out->n);
    case 't':
        return parse_literal(ps, "true", GW_CJ_TRUE, out);
    case 'f':
        return parse_literal(ps, "false", GW_CJ_FALSE, out);
    case 'n':
        return parse_literal(ps, "null", GW_CJ_NULL, out);
    default:
        return parse_number(ps, out);
    }
}

gw_cjson_t *gw_cjson_parse(const char *text, size_t len, char *err, size_t errlen)
{
    gw_cjson_t *doc = calloc(1, sizeof(*doc));
    parser_t ps = {.start = text, .p = text, .end = text + len, .doc = doc};
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, &doc->root) == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end) fail(&ps, ps.p, "trailing characters");
    }
    free(ps.vs);
    free(ps.ms);
    if (!ps.err) return doc;
    int line = 1, col = 1;
    for (const char *c = text; c < ps.err_at && c < text + len; c++)
        if (*c == '\n')
            line++, col = 1;
        else
            col++;
    snprintf(err, errlen, "line %d column %d: %s", line, col, ps.err);
    gw_cjson_free(doc);
    return NULL;
}

/* ---- writer ------------------------------------------------------------------------------- */

typedef struct writer {
    char buf[4096];
    size_t len;
    gw_digest_t *d; /* flush into a digest, or */
    char *out;      /* into a growing string */
    size_t out_len, out_cap;
    int oom;
} writer_t;

static void w_flush(writer_t *w)
{
    if (w->d) {
        gw_digest_update(w->d, w->buf, w->len);
    } else if (!w->oom) {
        if (w->out_len + w->len + 1 > w->out_cap) {
            size_t cap = (w->out_len + w->len + 1) * 2;
            char *o = realloc(w->out, cap);
            if (!o) {
                w->oom = 1;
                w->len = 0;
                return;
            }
            w->out = o;
            w->out_cap = cap;
        }
        memcpy(w->out + w->out_len, w->buf, w->len);
        w->out_len += w->len;
    }
    w->len = 0;
}

static void w_put(writer_t *w, const char *s, size_t n)
{
    while (n) {
        if (w->len == sizeof(w->buf)) w_flush(w);
        size_t k = sizeof(w->buf) - w->len;
        k = k < n ? k : n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void w_string(writer_t *w, const char *s, size_t n)
{
    w_put(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        w_put(w, s + run, i - run);
        char esc[8];
        if (c == '"' || c == '\\')
            esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
        else
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        w_put(w, esc, strlen(esc));
        run = i + 1;
    }
    w_put(w, s + run, n - run);
    w_put(w, "\"", 1);
}

static void w_value(writer_t *w, const gw_cjnode_t *v)
{
    switch (v->type) {
    case GW_CJ_NULL:
        w_put(w, "null", 4);
        break;
    case GW_CJ_TRUE:
        w_put(w, "true", 4);
        break;
    case GW_CJ_FALSE:
        w_put(w, "false", 5);
        break;
    case GW_CJ_INT:
    case GW_CJ_REAL:
        w_put(w, v->u.s, v->n);
        break;
    case GW_CJ_STR:
        w_string(w, v->u.s, v->n);
        break;
    case GW_CJ_NUMS:
        w_put(w, "[", 1);
        w_put(w, v->u.s, v->n);
        w_put(w, "]", 1);
        break;
    case GW_CJ_ARR:
        w_put(w, "[", 1);
        for (uint32_t i = 0; i < v->n; i++) {
            if (i) w_put(w, ",", 1);
            w_value(w, &v->u.items[i]);
        }
        w_put(w, "]", 1);
        break;
    case GW_CJ_OBJ:
        w_put(w, "{", 1);
        for (uint32_t i = 0; i < v->n; i++) {
            if (i) w_put(w, ",", 1);
            w_string(w, v->u.members[i].key, v->u.members[i].klen);
            w_put(w, ":", 1);
            w_value(w, &v->u.members[i].val);
        }
        w_put(w, "}", 1);
        break;
    }
}

void gw_cjson_digest(const gw_cjson_t *doc, gw_digest_t *d)
{
    writer_t w = {.d = d};
    w_value(&w, &doc->root);
    w_flush(&w);
}

char *gw_cjson_dump(const gw_cjson_t *doc, size_t *len)
{
    writer_t *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w_value(w, &doc->root);
    w_flush(w);
    char *out = w->oom ? NULL : w->out;
    if (out)
        out[w->out_len] = '\0';
    else
        free(w->out);
    if (len) *len = out ? w->out_len : 0;
    free(w);
    return out;
}

/* ---- reading ------------------------------------------------------------------------------ */

const gw_cjnode_t *gw_cjson_root(const gw_cjson_t *doc)
{
    return &doc->root;
}

int gw_cjnode_type(const gw_cjnode_t *n)
{
    return n->type;
}

size_t gw_cjnode_count(const gw_cjnode_t *n)
{
    return n->type == GW_CJ_ARR || n->type == GW_CJ_OBJ ? n->n : 0;
}

const gw_cjnode_t *gw_cjnode_item(const gw_cjnode_t *n, size_t i)
{
    if (i >= gw_cjnode_count(n)) return NULL;
    return n->type == GW_CJ_ARR ? &n->u.items[i] : &n->u.members[i].val;
}

const char *gw_cjnode_key(const gw_cjnode_t *n, size_t i, size_t *len)
{
    if (n->type != GW_CJ_OBJ || i >= n->n) return NULL;
    *len = n->u.members[i].klen;
    return n->u.members[i].key;
}

const gw_cjnode_t *gw_cjnode_get(const gw_cjnode_t *n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; n->type == GW_CJ_OBJ && i < n->n; i++)
        if (n->u.members[i].klen == kl && memcmp(n->u.members[i].key, key, kl) == 0)
            return &n->u.members[i].val;
    return NULL;
}

const char *gw_cjnode_str(const gw_cjnode_t *n, size_t *len)
{
    if (n->type != GW_CJ_STR) return NULL;
    *len = n->n;
    return n->u.s;
}
