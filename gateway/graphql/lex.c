/* The GraphQL lexer (spec section 2.1, with graphql-js 16's rules for what may follow a number
 * and which characters are refused), locations in UTF-16 columns as graphql-js counts them. */
#include "gateway/graphql/lex.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void gql_lex_init(gql_lexer_t *lx, const char *src, size_t len, unsigned max_tokens, gql_doc_t *doc,
                  gql_error_t *err)
{
    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->ccol = 1;
    lx->max_tokens = max_tokens;
    lx->doc = doc;
    lx->err = err;
}

/* The location of byte pos on the current line (pos >= line_start, moving forward). */
static gql_loc_t loc_at(gql_lexer_t *lx, size_t pos)
{
    if (lx->cpos < lx->line_start || lx->cpos > pos) {
        lx->cpos = lx->line_start;
        lx->ccol = 1;
    }
    for (; lx->cpos < pos; lx->cpos++) {
        unsigned char c = (unsigned char)lx->src[lx->cpos];
        if ((c & 0xC0) != 0x80) lx->ccol += c >= 0xF0 ? 2 : 1; /* 4-byte: a surrogate pair */
    }
    return (gql_loc_t){lx->line, lx->ccol};
}

static int fail(gql_lexer_t *lx, size_t pos, const char *fmt, const char *arg)
{
    char msg[GQL_MSG_MAX - 16];
    snprintf(msg, sizeof(msg), fmt, arg);
    gql_error_set(lx->err, loc_at(lx, pos), "Syntax Error: %s", msg);
    return -1;
}

/* A line terminator at pos: its length (1 or 2), else 0. */
static size_t newline_at(const gql_lexer_t *lx, size_t pos)
{
    if (pos >= lx->len) return 0;
    if (lx->src[pos] == '\n') return 1;
    if (lx->src[pos] == '\r') return pos + 1 < lx->len && lx->src[pos + 1] == '\n' ? 2 : 1;
    return 0;
}

static void new_line(gql_lexer_t *lx, size_t after)
{
    lx->line++;
    lx->line_start = after;
}

/* Length of the UTF-8 sequence at pos and its code point, 0 when invalid. */
static size_t utf8_at(const gql_lexer_t *lx, size_t pos, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)lx->src + pos;
    size_t left = lx->len - pos, n;
    uint32_t c = s[0], min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    if (left < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

/* graphql-js's printing of a character in messages: "x", or U+XXXX for controls. */
static const char *char_desc(const gql_lexer_t *lx, size_t pos, char *buf, size_t cap)
{
    uint32_t cp;
    size_t n = utf8_at(lx, pos, &cp);
    if (n == 0) return "<invalid UTF-8>";
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
        snprintf(buf, cap, "U+%04X", (unsigned)cp);
    else if (cp == '"')
        snprintf(buf, cap, "'\"'");
    else
        snprintf(buf, cap, "\"%.*s\"", (int)n, lx->src + pos);
    return buf;
}

/* Whitespace, commas, comments, line terminators and the BOM. */
static void skip_ignored(gql_lexer_t *lx)
{
    while (lx->pos < lx->len) {
        unsigned char c = (unsigned char)lx->src[lx->pos];
        size_t nl = newline_at(lx, lx->pos);
        if (nl) {
            lx->pos += nl;
            new_line(lx, lx->pos);
        } else if (c == ' ' || c == '\t' || c == ',') {
            lx->pos++;
        } else if (c == 0xEF && lx->pos + 2 < lx->len &&
                   (unsigned char)lx->src[lx->pos + 1] == 0xBB &&
                   (unsigned char)lx->src[lx->pos + 2] == 0xBF) {
            lx->pos += 3;
        } else if (c == '#') {
            while (lx->pos < lx->len && !newline_at(lx, lx->pos))
                lx->pos++;
        } else {
            return;
        }
    }
}

static int is_name_start(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int peek(const gql_lexer_t *lx, size_t pos)
{
    return pos < lx->len ? (unsigned char)lx->src[pos] : -1;
}

/* Digits at *pos (at least one). */
static int read_digits(gql_lexer_t *lx, size_t *pos)
{
    char d[24];
    if (!is_digit(peek(lx, *pos))) {
        const char *what = *pos < lx->len ? char_desc(lx, *pos, d, sizeof(d)) : "<EOF>";
        return fail(lx, *pos, "Invalid number, expected digit but got: %s.", what);
    }
    while (is_digit(peek(lx, *pos)))
        (*pos)++;
    return 0;
}

static int read_number(gql_lexer_t *lx, gql_tok_t *t)
{
    size_t pos = lx->pos;
    int fl = 0;
    char d[24];
    if (peek(lx, pos) == '-') pos++;
    if (peek(lx, pos) == '0') {
        pos++;
        if (is_digit(peek(lx, pos)))
            return fail(lx, pos, "Invalid number, unexpected digit after 0: %s.",
                        char_desc(lx, pos, d, sizeof(d)));
    } else if (read_digits(lx, &pos) != 0) {
        return -1;
    }
    if (peek(lx, pos) == '.') {
        fl = 1;
        pos++;
        if (read_digits(lx, &pos) != 0) return -1;
    }
    if (peek(lx, pos) == 'e' || peek(lx, pos) == 'E') {
        fl = 1;
        pos++;
        if (peek(lx, pos) == '+' || peek(lx, pos) == '-') pos++;
        if (read_digits(lx, &pos) != 0) return -1;
    }
    if (peek(lx, pos) == '.' || is_name_start(peek(lx, pos)))
        return fail(lx, pos, "Invalid number, expected digit but got: %s.",
                    char_desc(lx, pos, d, sizeof(d)));
    t->kind = fl ? GQL_T_FLOAT : GQL_T_INT;
    t->len = pos - lx->pos;
    lx->pos = pos;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* \uXXXX or \u{X...} at pos (pointing at the 'u'); *cp the value, the escape's length, 0 bad. */
static size_t read_uescape(const gql_lexer_t *lx, size_t pos, uint32_t *cp)
{
    uint32_t v = 0;
    size_t i = pos + 1;
    if (peek(lx, i) == '{') {
        size_t start = ++i;
        while (peek(lx, i) >= 0 && hexval(peek(lx, i)) >= 0 && i - start < 8)
            v = v * 16 + (uint32_t)hexval(peek(lx, i++));
        if (i == start || peek(lx, i) != '}' || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        *cp = v;
        return i + 1 - pos;
    }
    for (int k = 0; k < 4; k++) {
        int h = hexval(peek(lx, i++));
        if (h < 0) return 0;
        v = v * 16 + (uint32_t)h;
    }
    *cp = v;
    return 5;
}

/* One escape at pos (the backslash) appended to o; its source length, or 0 when invalid. */
static size_t read_escape(const gql_lexer_t *lx, size_t pos, char *o, size_t *olen)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = peek(lx, pos + 1);
    const char *k = c > 0 ? strchr(from, c) : NULL;
    if (k && *k) {
        o[(*olen)++] = to[k - from];
        return 2;
    }
    if (c != 'u') return 0;
    uint32_t cp, lo;
    size_t n = read_uescape(lx, pos + 1, &cp);
    if (!n) return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate needs its low one: \uD83D\uDE00 */
        if (peek(lx, pos + 1 + n) != '\\' || peek(lx, pos + 2 + n) != 'u') return 0;
        size_t m = read_uescape(lx, pos + 2 + n, &lo);
        if (!m || lo < 0xDC00 || lo > 0xDFFF) return 0;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        n += 1 + m;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return 0;
    }
    *olen += put_utf8(o + *olen, cp);
    return 1 + n;
}

/* The source length graphql-js shows of a bad \\u{...} escape at pos (it reads at most 12). */
static size_t uvar_size(const gql_lexer_t *lx, size_t pos)
{
    size_t size = 3;
    int32_t point = 0;
    while (size < 12) {
        int c = peek(lx, pos + size++);
        int h = hexval(c);
        if (c == '}' || h < 0) break;
        point = (int32_t)((uint32_t)point << 4 | (uint32_t)h);
        if (point < 0) break;
    }
    return size;
}

/* An invalid escape at pos, quoted as graphql-js quotes it. */
static int bad_escape(gql_lexer_t *lx, size_t pos)
{
    size_t n = 2;
    int uni = peek(lx, pos + 1) == 'u';
    if (uni) n = peek(lx, pos + 2) == '{' ? uvar_size(lx, pos) : 6;
    if (pos + n > lx->len) n = lx->len - pos;
    char seq[16];
    snprintf(seq, sizeof(seq), "%.*s", (int)n, lx->src + pos);
    return fail(lx, pos,
                uni ? "Invalid Unicode escape sequence: \"%s\"."
                    : "Invalid character escape sequence: \"%s\".",
                seq);
}

static int read_string(gql_lexer_t *lx, gql_tok_t *t)
{
    size_t pos = lx->pos + 1, olen = 0;
    char *o = gql_doc_alloc(lx->doc, lx->len - lx->pos + 1), d[24];
    if (!o) return fail(lx, pos, "%s", "out of memory");
    for (;;) {
        int c = peek(lx, pos);
        if (c < 0 || newline_at(lx, pos)) return fail(lx, pos, "%s", "Unterminated string.");
        if (c == '"') break;
        if (c == '\\') {
            size_t n = read_escape(lx, pos, o, &olen);
            if (!n) return bad_escape(lx, pos);
            pos += n;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_at(lx, pos, &cp);
        if (!n) /* any scalar value (spec 2021: SourceCharacter), not bad UTF-8 */
            return fail(lx, pos, "Invalid character within String: %s.",
                        char_desc(lx, pos, d, sizeof(d)));
        memcpy(o + olen, lx->src + pos, n);
        olen += n;
        pos += n;
    }
    o[olen] = '\0';
    t->kind = GQL_T_STRING;
    t->val = o;
    t->vlen = olen;
    t->len = pos + 1 - lx->pos;
    lx->pos = pos + 1;
    return 0;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return 0;
    return 1;
}

/* The spec's BlockStringValue: common indentation of lines after the first removed, leading
 * and trailing blank lines dropped, lines joined with \n. raw/rlen: \""" already unescaped. */
static void block_dedent(const char *raw, size_t rlen, char *o, size_t *olen)
{
    size_t starts[2], common = SIZE_MAX, first = 1, nlines = 0;
    (void)starts;
    /* Pass 1: common indent. */
    for (size_t i = 0, ls = 0; i <= rlen; i++) {
        if (i < rlen && raw[i] != '\n' && raw[i] != '\r') continue;
        if (!first) {
            size_t ind = 0;
            while (ls + ind < i && (raw[ls + ind] == ' ' || raw[ls + ind] == '\t'))
                ind++;
            if (ls + ind < i && ind < common) common = ind;
        }
        first = 0;
        nlines++;
        if (i < rlen && raw[i] == '\r' && i + 1 < rlen && raw[i + 1] == '\n') i++;
        ls = i + 1;
    }
    /* Pass 2: emit non-blank edges only. */
    size_t n = 0, line = 0, last_nonblank_end = 0;
    int started = 0;
    for (size_t i = 0, ls = 0; i <= rlen; i++) {
        if (i < rlen && raw[i] != '\n' && raw[i] != '\r') continue;
        size_t s = ls, e = i;
        if (line > 0 && common != SIZE_MAX) s = s + common < e ? s + common : e;
        if (started || !blank(raw + s, e - s)) {
            if (started) o[n++] = '\n';
            memcpy(o + n, raw + s, e - s);
            n += e - s;
            started = 1;
            if (!blank(raw + s, e - s)) last_nonblank_end = n;
        }
        line++;
        if (i < rlen && raw[i] == '\r' && i + 1 < rlen && raw[i + 1] == '\n') i++;
        ls = i + 1;
    }
    *olen = last_nonblank_end;
    o[*olen] = '\0';
}

static int read_block_string(gql_lexer_t *lx, gql_tok_t *t)
{
    size_t pos = lx->pos + 3, rlen = 0;
    char *raw = gql_doc_alloc(lx->doc, lx->len - lx->pos + 1), d[24];
    char *o = gql_doc_alloc(lx->doc, lx->len - lx->pos + 1);
    if (!raw || !o) return fail(lx, pos, "%s", "out of memory");
    for (;;) {
        if (pos >= lx->len) return fail(lx, pos, "%s", "Unterminated string.");
        size_t nl = newline_at(lx, pos);
        if (lx->len - pos >= 3 && memcmp(lx->src + pos, "\"\"\"", 3) == 0) break;
        if (lx->len - pos >= 4 && memcmp(lx->src + pos, "\\\"\"\"", 4) == 0) {
            memcpy(raw + rlen, "\"\"\"", 3);
            rlen += 3;
            pos += 4;
        } else if (nl) {
            memcpy(raw + rlen, lx->src + pos, nl);
            rlen += nl;
            pos += nl;
            new_line(lx, pos);
        } else {
            uint32_t cp;
            size_t n = utf8_at(lx, pos, &cp);
            if (!n) /* any scalar value (spec 2021: SourceCharacter), not bad UTF-8 */
                return fail(lx, pos, "Invalid character within String: %s.",
                            char_desc(lx, pos, d, sizeof(d)));
            memcpy(raw + rlen, lx->src + pos, n);
            rlen += n;
            pos += n;
        }
    }
    block_dedent(raw, rlen, o, &t->vlen);
    t->kind = GQL_T_BLOCK_STRING;
    t->val = o;
    t->len = pos + 3 - lx->pos;
    lx->pos = pos + 3;
    return 0;
}

static int read_punct(gql_lexer_t *lx, gql_tok_t *t)
{
    static const char chars[] = "!$&():=@[]{|}";
    static const gql_tok_kind_t kinds[] = {
        GQL_T_BANG,   GQL_T_DOLLAR, GQL_T_AMP,    GQL_T_LPAREN,   GQL_T_RPAREN,
        GQL_T_COLON,  GQL_T_EQUALS, GQL_T_AT,     GQL_T_LBRACKET, GQL_T_RBRACKET,
        GQL_T_LBRACE, GQL_T_PIPE,   GQL_T_RBRACE,
    };
    int c = peek(lx, lx->pos);
    char d[24];
    const char *k = c > 0 ? strchr(chars, c) : NULL;
    if (k && *k) {
        t->kind = kinds[k - chars];
        t->len = 1;
        lx->pos++;
        return 0;
    }
    if (c == '.' && lx->len - lx->pos >= 3 && memcmp(lx->src + lx->pos, "...", 3) == 0) {
        t->kind = GQL_T_SPREAD;
        t->len = 3;
        lx->pos += 3;
        return 0;
    }
    if (c == '"') return fail(lx, lx->pos, "Unexpected character: %s.", "'\"'");
    return fail(lx, lx->pos, "Unexpected character: %s.", char_desc(lx, lx->pos, d, sizeof(d)));
}

int gql_lex_next(gql_lexer_t *lx, gql_tok_t *t)
{
    skip_ignored(lx);
    memset(t, 0, sizeof(*t));
    t->p = lx->src + lx->pos;
    t->loc = loc_at(lx, lx->pos);
    if (lx->pos >= lx->len) {
        t->kind = GQL_T_EOF;
        return 0;
    }
    if (++lx->ntokens > lx->max_tokens) {
        gql_error_set(lx->err, t->loc, "Document has too many tokens: more than %u.",
                      lx->max_tokens);
        return -1;
    }
    int c = peek(lx, lx->pos);
    if (is_name_start(c)) {
        size_t pos = lx->pos;
        while (pos < lx->len && (is_name_start(peek(lx, pos)) || is_digit(peek(lx, pos))))
            pos++;
        t->kind = GQL_T_NAME;
        t->len = pos - lx->pos;
        lx->pos = pos;
        return 0;
    }
    if (c == '-' || is_digit(c)) return read_number(lx, t);
    if (c == '"') {
        if (lx->len - lx->pos >= 3 && memcmp(lx->src + lx->pos, "\"\"\"", 3) == 0)
            return read_block_string(lx, t);
        return read_string(lx, t);
    }
    return read_punct(lx, t);
}

const char *gql_tok_desc(const gql_tok_t *t, char *buf, size_t cap)
{
    static const char *const names[] = {"<EOF>", "!", "$", "&", "(", ")", "...", ":",
                                        "=",     "@", "[", "]", "{", "|", "}"};
    int n = (int)(t->len > 40 ? 40 : t->len);
    switch (t->kind) {
    case GQL_T_NAME:
        snprintf(buf, cap, "Name \"%.*s\"", n, t->p);
        break;
    case GQL_T_INT:
        snprintf(buf, cap, "Int \"%.*s\"", n, t->p);
        break;
    case GQL_T_FLOAT:
        snprintf(buf, cap, "Float \"%.*s\"", n, t->p);
        break;
    case GQL_T_STRING:
    case GQL_T_BLOCK_STRING:
        snprintf(buf, cap, "%s \"%.40s\"", t->kind == GQL_T_STRING ? "String" : "BlockString",
                 t->val ? t->val : "");
        break;
    case GQL_T_EOF:
        snprintf(buf, cap, "<EOF>");
        break;
    default:
        snprintf(buf, cap, "\"%s\"", names[t->kind]);
    }
    return buf;
}
