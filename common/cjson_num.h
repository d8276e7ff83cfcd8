/* The number half of common/cjson.c (internal to it): a JSON number scanned into its parts and
 * written as canonical text, so that spellings of one value (1.50, 15e-1, 0.15E1) give one cache
 * key: an integer as written, a real as DIGITSeEXP with the digits' leading and trailing zeros
 * dropped (value = DIGITS * 10^EXP). Pure functions. */
#ifndef GW_COMMON_CJSON_NUM_H
#define GW_COMMON_CJSON_NUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GW_CJNUM_MAX_EXP_DIGITS 9 /* past a billion, an exponent is out of range */

/* A number's parts, as scanned. */
typedef struct gw_cjnum {
    const char *s, *end;           /* the literal */
    const char *i0, *i1, *f0, *f1; /* integer and fraction digits */
    int64_t exp;
    int neg, real;
} gw_cjnum_t;

static inline int gw_cjnum_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scans the number at q (before end) into *nm: NULL, or what is wrong with it and *at where. */
const char *gw_cjnum_scan(const char *q, const char *end, gw_cjnum_t *nm, const char **at);
/* The room gw_cjnum_emit may need: the literal's length and an exponent. */
#define GW_CJNUM_ROOM(nm) ((size_t)((nm)->end - (nm)->s) + 32)
/* Writes the canonical text of a scanned number at o (GW_CJNUM_ROOM bytes); its length. */
size_t gw_cjnum_emit(const gw_cjnum_t *nm, char *o);

/* Inline below: the vector fast path runs once per number of every cached read. */

/* Writes "e" and the exponent at o + len and returns the new length. */
static inline size_t gw_cjnum_emit_exp(char *o, size_t len, int64_t exp)
{
    o[len++] = 'e';
    if (exp < 0) o[len++] = '-', exp = -exp;
    if (exp < 10) { /* the usual case: a one-digit exponent */
        o[len++] = (char)('0' + exp);
        return len;
    }
    char digits[24];
    size_t nd = 0;
    do
        digits[nd++] = (char)('0' + exp % 10);
    while ((exp /= 10) > 0);
    while (nd)
        o[len++] = digits[--nd];
    return len;
}

/* Copies the run of digits at *q to d (which has room for the run and 8 more bytes), moves *q
 * past it and returns its length. Eight bytes are looked at a time: in each, a byte is a digit
 * when its high nibble and the high nibble of byte + 6 are both 3 ('0'..'9' only; a carry out of
 * a byte >= 0xFA can only spoil the bytes after it, never the first non-digit's place). */
static inline size_t gw_cjnum_copy_digits(const char **qp, const char *end, char *d)
{
    const char *q = *qp, *s = q;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - q >= 8) {
        uint64_t x;
        memcpy(&x, q, 8);
        uint64_t t = (x & 0xF0F0F0F0F0F0F0F0ull) |
                     (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4);
        uint64_t other = t ^ 0x3333333333333333ull; /* non-zero bytes: not digits */
        memcpy(d, q, 8);
        if (other) {
            size_t n = (size_t)__builtin_ctzll(other) / 8; /* the first byte is the lowest */
            d += n;
            q += n;
            *qp = q;
            return (size_t)(q - s);
        }
        d += 8;
        q += 8;
    }
#endif
    while (q < end && gw_cjnum_is_digit(*q))
        *d++ = *q++;
    *qp = q;
    return (size_t)(q - s);
}

/* The common real of a query vector, -?D+.D+ without an exponent, scanned and written in one
 * pass as the same text gw_cjnum_emit writes (at o, which has room for the literal and 32 more);
 * *next is past the literal. 0 when the literal has another form: gw_cjnum_scan it. */
static inline size_t gw_cjnum_fast_real(const char *q, const char *end, char *o, const char **next)
{
    size_t len = 0, k = 0;
    if (q < end && *q == '-') o[len++] = '-', q++;
    char *d = o + len;
    if (q >= end) return 0;
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        k = gw_cjnum_copy_digits(&q, end, d);
    else
        return 0;
    if (q >= end || *q != '.') return 0;
    const char *f0 = ++q;
    if (k == 0)
        while (q < end && *q == '0') /* 0.00ddd: the fraction's leading zeros are not digits */
            q++;
    k += gw_cjnum_copy_digits(&q, end, d + k);
    if (q == f0 || (q < end && (*q == 'e' || *q == 'E'))) return 0;
    int64_t exp = -(int64_t)(q - f0);
    while (k && d[k - 1] == '0')
        k--, exp++;
    if (k == 0) exp = 0, d[k++] = '0';
    *next = q;
    return gw_cjnum_emit_exp(o, len + k, exp);
}

#endif
