/* Serde-compatible JSON for fake_qdrant: recursive-descent parser with serde_json's error texts
 * and line/column rules, and a compact serializer with ryu-style float formatting. */
#include "fq_json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#define FQ_JSON_MAX_DEPTH 128

typedef struct {
    const json_t *v;
    size_t end; /* index just past the value */
} jpos_t;

struct fq_jdoc {
    json_t *root;
    const char *src; /* borrowed: valid as long as the caller's body is */
    size_t len;
    size_t root_end;
    jpos_t *pos;
    size_t npos, cappos;
};

typedef struct {
    const char *s;
    size_t len, i;
    int depth;
    fq_jdoc_t *doc;
    char *err;
    size_t errlen;
} jparser_t;

static void line_col(const char *s, size_t upto, size_t *line, size_t *col)
{
    size_t l = 1, c = 0;
    for (size_t k = 0; k < upto; k++) {
        if (s[k] == '\n') {
            l++;
            c = 0;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* serde's Error::syntax(code, line, column): position of the consumed index. */
static void fail_at(jparser_t *p, size_t idx, const char *msg)
{
    size_t line, col;
    if (idx > p->len)
        idx = p->len;
    line_col(p->s, idx, &line, &col);
    snprintf(p->err, p->errlen, "%s at line %zu column %zu", msg, line, col);
}

/* serde's peek_error: position including the peeked character. */
static void fail_peek(jparser_t *p, const char *msg)
{
    fail_at(p, p->i + 1, msg);
}

static void skip_ws(jparser_t *p)
{
    while (p->i < p->len) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

static int remember(jparser_t *p, const json_t *v)
{
    fq_jdoc_t *d = p->doc;
    if (d->npos == d->cappos) {
        size_t ncap = d->cappos ? d->cappos * 2 : 64;
        jpos_t *np = realloc(d->pos, ncap * sizeof(*np));
        if (!np)
            return -1;
        d->pos = np;
        d->cappos = ncap;
    }
    d->pos[d->npos].v = v;
    d->pos[d->npos].end = p->i;
    d->npos++;
    return 0;
}

static json_t *parse_value(jparser_t *p);

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits after "\u"; returns the code unit or -1 (error already set). */
static long read_hex4(jparser_t *p)
{
    long v = 0;
    for (int k = 0; k < 4; k++) {
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing a string");
            return -1;
        }
        int h = hexval(p->s[p->i++]);
        if (h < 0) {
            fail_at(p, p->i, "invalid escape");
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

static void put_utf8(char *out, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Decodes one escape after the backslash into out; 0 or -1. */
static int parse_escape(jparser_t *p, char *out, size_t *n)
{
    if (p->i >= p->len) {
        fail_at(p, p->len, "EOF while parsing a string");
        return -1;
    }
    char c = p->s[p->i++];
    switch (c) {
    case '"': out[(*n)++] = '"'; return 0;
    case '\\': out[(*n)++] = '\\'; return 0;
    case '/': out[(*n)++] = '/'; return 0;
    case 'b': out[(*n)++] = '\b'; return 0;
    case 'f': out[(*n)++] = '\f'; return 0;
    case 'n': out[(*n)++] = '\n'; return 0;
    case 'r': out[(*n)++] = '\r'; return 0;
    case 't': out[(*n)++] = '\t'; return 0;
    case 'u': break;
    default: fail_at(p, p->i, "invalid escape"); return -1;
    }
    long cp = read_hex4(p);
    if (cp < 0)
        return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail_at(p, p->i, "lone leading surrogate in hex escape");
        return -1;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p->i + 1 >= p->len || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
            fail_at(p, p->i < p->len ? p->i + 1 : p->len, "unexpected end of hex escape");
            return -1;
        }
        p->i += 2;
        long lo = read_hex4(p);
        if (lo < 0)
            return -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
            fail_at(p, p->i, "lone leading surrogate in hex escape");
            return -1;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    put_utf8(out, n, (unsigned long)cp);
    return 0;
}

/* Parses a string body; p->i is just past the opening quote. Returns malloc'd bytes. */
static char *parse_string_raw(jparser_t *p, size_t *outlen)
{
    size_t start = p->i, cap = 16;
    /* Fast scan for the common case without escapes. */
    while (p->i < p->len) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"' || c == '\\' || c < 0x20)
            break;
        p->i++;
    }
    cap += p->i - start;
    char *out = malloc(cap);
    if (!out) {
        snprintf(p->err, p->errlen, "out of memory");
        return NULL;
    }
    size_t n = p->i - start;
    memcpy(out, p->s + start, n);
    for (;;) {
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing a string");
            free(out);
            return NULL;
        }
        if (n + 8 >= cap) {
            cap *= 2;
            char *no = realloc(out, cap);
            if (!no) {
                free(out);
                snprintf(p->err, p->errlen, "out of memory");
                return NULL;
            }
            out = no;
        }
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"')
            break;
        if (c < 0x20) {
            fail_at(p, p->i, "control character (\\u0000-\\u001F) found while parsing a string");
            free(out);
            return NULL;
        }
        if (c == '\\') {
            if (parse_escape(p, out, &n) < 0) {
                free(out);
                return NULL;
            }
            continue;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

static json_t *parse_string(jparser_t *p)
{
    size_t n;
    p->i++; /* opening quote */
    char *raw = parse_string_raw(p, &n);
    if (!raw)
        return NULL;
    json_t *v = json_stringn_nocheck(raw, n);
    free(raw);
    return v;
}

static int scan_digits(jparser_t *p)
{
    size_t st = p->i;
    while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
        p->i++;
    return p->i > st;
}

/* Number grammar of serde_json; integers become json integers when they fit int64. */
static json_t *parse_number(jparser_t *p)
{
    size_t st = p->i;
    int neg = 0, isfloat = 0;
    if (p->s[p->i] == '-') {
        neg = 1;
        p->i++;
    }
    if (p->i >= p->len) {
        fail_at(p, p->len, "EOF while parsing a value");
        return NULL;
    }
    if (p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            fail_peek(p, "invalid number");
            return NULL;
        }
    } else if (!scan_digits(p)) {
        fail_peek(p, "invalid number");
        return NULL;
    }
    if (p->i < p->len && p->s[p->i] == '.') {
        isfloat = 1;
        p->i++;
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing a value");
            return NULL;
        }
        if (!scan_digits(p)) {
            fail_peek(p, "invalid number");
            return NULL;
        }
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        isfloat = 1;
        p->i++;
        if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing a value");
            return NULL;
        }
        if (!scan_digits(p)) {
            fail_peek(p, "invalid number");
            return NULL;
        }
    }
    char buf[512];
    size_t n = p->i - st;
    char *tmp = n < sizeof(buf) ? buf : malloc(n + 1);
    if (!tmp)
        return NULL;
    memcpy(tmp, p->s + st, n);
    tmp[n] = '\0';
    json_t *v = NULL;
    if (!isfloat) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0)
            v = json_integer(ll);
        else
            v = json_real(strtod(tmp, NULL)); /* beyond i64: serde keeps u64, we go lossy */
    } else {
        double d = strtod(tmp, NULL);
        if (!isfinite(d))
            fail_at(p, p->i, "number out of range");
        else
            v = json_real(d);
    }
    (void)neg;
    if (tmp != buf)
        free(tmp);
    return v;
}

static json_t *parse_ident(jparser_t *p, const char *word, json_t *val)
{
    size_t wl = strlen(word);
    for (size_t k = 0; k < wl; k++) {
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing a value");
            return NULL;
        }
        if (p->s[p->i++] != word[k]) {
            fail_at(p, p->i, "expected ident");
            return NULL;
        }
    }
    return val;
}

static json_t *parse_array(jparser_t *p)
{
    json_t *arr = json_array();
    p->i++; /* '[' */
    skip_ws(p);
    if (p->i < p->len && p->s[p->i] == ']') {
        p->i++;
        return arr;
    }
    for (;;) {
        json_t *el = parse_value(p);
        if (!el)
            goto fail;
        json_array_append_new(arr, el);
        skip_ws(p);
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing a list");
            goto fail;
        }
        char c = p->s[p->i];
        if (c == ']') {
            p->i++;
            return arr;
        }
        if (c != ',') {
            fail_peek(p, "expected `,` or `]`");
            goto fail;
        }
        p->i++;
        skip_ws(p);
        if (p->i < p->len && p->s[p->i] == ']') {
            fail_peek(p, "trailing comma");
            goto fail;
        }
    }
fail:
    json_decref(arr);
    return NULL;
}

static int parse_member(jparser_t *p, json_t *obj)
{
    if (p->i >= p->len) {
        fail_at(p, p->len, "EOF while parsing an object");
        return -1;
    }
    if (p->s[p->i] != '"') {
        fail_peek(p, "key must be a string");
        return -1;
    }
    p->i++;
    size_t kl;
    char *key = parse_string_raw(p, &kl);
    if (!key)
        return -1;
    skip_ws(p);
    if (p->i >= p->len || p->s[p->i] != ':') {
        if (p->i >= p->len)
            fail_at(p, p->len, "EOF while parsing an object");
        else
            fail_peek(p, "expected `:`");
        free(key);
        return -1;
    }
    p->i++;
    json_t *val = parse_value(p);
    if (!val) {
        free(key);
        return -1;
    }
    json_object_setn_new_nocheck(obj, key, kl, val);
    free(key);
    return 0;
}

static json_t *parse_object(jparser_t *p)
{
    json_t *obj = json_object();
    p->i++; /* '{' */
    skip_ws(p);
    if (p->i < p->len && p->s[p->i] == '}') {
        p->i++;
        return obj;
    }
    for (;;) {
        if (parse_member(p, obj) < 0)
            goto fail;
        skip_ws(p);
        if (p->i >= p->len) {
            fail_at(p, p->len, "EOF while parsing an object");
            goto fail;
        }
        char c = p->s[p->i];
        if (c == '}') {
            p->i++;
            return obj;
        }
        if (c != ',') {
            fail_peek(p, "expected `,` or `}`");
            goto fail;
        }
        p->i++;
        skip_ws(p);
        if (p->i < p->len && p->s[p->i] == '}') {
            fail_peek(p, "trailing comma");
            goto fail;
        }
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_value(jparser_t *p)
{
    skip_ws(p);
    if (p->i >= p->len) {
        fail_at(p, p->len, "EOF while parsing a value");
        return NULL;
    }
    json_t *v;
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        if (++p->depth > FQ_JSON_MAX_DEPTH) {
            fail_peek(p, "recursion limit exceeded");
            return NULL;
        }
        v = c == '{' ? parse_object(p) : parse_array(p);
        p->depth--;
    } else if (c == '"') {
        v = parse_string(p);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        v = parse_number(p);
    } else if (c == 't') {
        v = parse_ident(p, "true", json_true());
    } else if (c == 'f') {
        v = parse_ident(p, "false", json_false());
    } else if (c == 'n') {
        v = parse_ident(p, "null", json_null());
    } else {
        fail_peek(p, "expected value");
        return NULL;
    }
    if (v && remember(p, v) < 0) {
        json_decref(v);
        snprintf(p->err, p->errlen, "out of memory");
        return NULL;
    }
    return v;
}

fq_jdoc_t *fq_jdoc_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    fq_jdoc_t *doc = calloc(1, sizeof(*doc));
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    jparser_t p = {.s = buf ? buf : "", .len = len, .doc = doc, .err = err, .errlen = errlen};
    doc->src = p.s;
    doc->len = len;
    doc->root = parse_value(&p);
    if (!doc->root)
        goto fail;
    doc->root_end = p.i;
    skip_ws(&p);
    if (p.i < p.len) {
        fail_peek(&p, "trailing characters");
        goto fail;
    }
    return doc;
fail:
    fq_jdoc_free(doc);
    return NULL;
}

json_t *fq_jdoc_root(const fq_jdoc_t *doc)
{
    return doc->root;
}

void fq_jdoc_free(fq_jdoc_t *doc)
{
    if (!doc)
        return;
    json_decref(doc->root);
    free(doc->pos);
    free(doc);
}

void fq_jdoc_where(const fq_jdoc_t *doc, const json_t *v, char *out, size_t outlen)
{
    size_t end = doc ? doc->root_end : 0, line, col;
    if (doc && v) {
        for (size_t k = 0; k < doc->npos; k++) {
            if (doc->pos[k].v == v) {
                end = doc->pos[k].end;
                break;
            }
        }
    }
    line_col(doc ? doc->src : "", end, &line, &col);
    snprintf(out, outlen, " at line %zu column %zu", line, col);
}

/* ---- serializer ---------------------------------------------------------------------- */

/* Shortest "%.Ne" digits that round-trip d; returns the digit string (no dot) and exponent. */
static void shortest_digits(double d, char *digits, int *exp10)
{
    char buf[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* buf looks like "1.2345e-07" or "5e+00" */
    char *e = strchr(buf, 'e');
    *exp10 = atoi(e + 1);
    size_t n = 0;
    for (char *c = buf; c < e; c++) {
        if (*c >= '0' && *c <= '9')
            digits[n++] = *c;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
}

int fq_fmt_f64(double d, char *out, size_t outlen)
{
    if (!isfinite(d))
        return snprintf(out, outlen, "null");
    if (d == 0)
        return snprintf(out, outlen, signbit(d) ? "-0.0" : "0.0");
    char digits[24];
    int e10, neg = d < 0;
    shortest_digits(fabs(d), digits, &e10);
    int len = (int)strlen(digits);
    int kk = e10 + 1; /* value = 0.digits * 10^kk */
    int k = kk - len;
    char tmp[64];
    size_t n = 0;
    if (neg)
        tmp[n++] = '-';
    if (k >= 0 && kk <= 16) {
        memcpy(tmp + n, digits, len);
        n += len;
        for (int z = 0; z < k; z++)
            tmp[n++] = '0';
        tmp[n++] = '.';
        tmp[n++] = '0';
    } else if (kk > 0 && kk <= 16) {
        memcpy(tmp + n, digits, kk);
        n += kk;
        tmp[n++] = '.';
        memcpy(tmp + n, digits + kk, len - kk);
        n += len - kk;
    } else if (kk > -5 && kk <= 0) {
        tmp[n++] = '0';
        tmp[n++] = '.';
        for (int z = 0; z < -kk; z++)
            tmp[n++] = '0';
        memcpy(tmp + n, digits, len);
        n += len;
    } else {
        tmp[n++] = digits[0];
        if (len > 1) {
            tmp[n++] = '.';
            memcpy(tmp + n, digits + 1, len - 1);
            n += len - 1;
        }
        n += snprintf(tmp + n, sizeof(tmp) - n, "e%d", kk - 1);
    }
    tmp[n] = '\0';
    return snprintf(out, outlen, "%s", tmp);
}

json_t *fq_json_f64(double d)
{
    json_t *v = isfinite(d) ? json_real(d) : NULL;
    return v ? v : json_null();
}

json_t *fq_json_f32(float f)
{
    if (!isfinite(f))
        return json_null();
    char buf[40];
    double d = f;
    for (int prec = 0; prec < 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, (double)f);
        if ((float)strtod(buf, NULL) == f) {
            d = strtod(buf, NULL);
            break;
        }
    }
    return fq_json_f64(d);
}

static void dump_string(struct evbuffer *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    evbuffer_add(out, "\"", 1);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        const char *esc = NULL;
        char ubuf[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            memcpy(ubuf, "\\u00", 4);
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        }
        if (esc) {
            if (run)
                evbuffer_add(out, s + k - run, run);
            run = 0;
            evbuffer_add(out, esc, strlen(esc));
        } else {
            run++;
        }
    }
    if (run)
        evbuffer_add(out, s + n - run, run);
    evbuffer_add(out, "\"", 1);
}

static void dump_value(const json_t *v, struct evbuffer *out)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        evbuffer_add(out, "{", 1);
        json_object_foreach((json_t *)v, key, val) {
            if (!first)
                evbuffer_add(out, ",", 1);
            first = 0;
            dump_string(out, key, strlen(key));
            evbuffer_add(out, ":", 1);
            dump_value(val, out);
        }
        evbuffer_add(out, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        evbuffer_add(out, "[", 1);
        for (size_t k = 0; k < json_array_size(v); k++) {
            if (k)
                evbuffer_add(out, ",", 1);
            dump_value(json_array_get(v, k), out);
        }
        evbuffer_add(out, "]", 1);
        break;
    }
    case JSON_STRING:
        dump_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        evbuffer_add_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        fq_fmt_f64(json_real_value(v), num, sizeof(num));
        evbuffer_add(out, num, strlen(num));
        break;
    case JSON_TRUE: evbuffer_add(out, "true", 4); break;
    case JSON_FALSE: evbuffer_add(out, "false", 5); break;
    case JSON_NULL: evbuffer_add(out, "null", 4); break;
    }
}

int fq_json_dump_evbuffer(const json_t *v, struct evbuffer *out)
{
    dump_value(v, out);
    return 0;
}

char *fq_json_dumps(const json_t *v, size_t *len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return NULL;
    dump_value(v, b);
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    if (s) {
        evbuffer_remove(b, s, n);
        s[n] = '\0';
        if (len)
            *len = n;
    }
    evbuffer_free(b);
    return s;
}
