/* Numbers of common/cjson.c: scanned as JSON (RFC 8259) and written canonically; see
 * cjson_num.h. */
#include "common/cjson_num.h"

#include <string.h>

#define is_digit gw_cjnum_is_digit

const char *gw_cjnum_scan(const char *q, const char *end, gw_cjnum_t *nm, const char **at)
{
    nm->s = q;
    if (*q != '-' && !is_digit(*q)) return *at = q, "expected value";
    nm->neg = q < end && *q == '-';
    q += nm->neg;
    nm->i0 = q;
    if (q < end && *q == '0')
        q++;
    else if (q < end && is_digit(*q) && *q != '0')
        while (q < end && is_digit(*q))
            q++;
    else
        return *at = q, "invalid number";
    nm->i1 = nm->f0 = nm->f1 = q;
    nm->exp = 0;
    nm->real = 0;
    if (q < end && *q == '.') {
        nm->f0 = ++q;
        while (q < end && is_digit(*q))
            q++;
        if (q == nm->f0) return *at = q, "invalid number";
        nm->f1 = q;
        nm->real = 1;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        int eneg = q < end && *q == '-';
        q += q < end && (*q == '-' || *q == '+');
        const char *e0 = q;
        while (q < end && is_digit(*q))
            q++;
        if (q == e0) return *at = q, "invalid number";
        while (e0 < q - 1 && *e0 == '0')
            e0++;
        if (q - e0 > GW_CJNUM_MAX_EXP_DIGITS) return *at = e0, "number out of range";
        for (const char *e = e0; e < q; e++)
            nm->exp = nm->exp * 10 + (*e - '0');
        nm->exp = eneg ? -nm->exp : nm->exp;
        nm->real = 1;
    }
    nm->end = q;
    return NULL;
}

/* Writes "e" and the exponent at o + len and returns the new length. */
static size_t emit_exp(char *o, size_t len, int64_t exp)
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

size_t gw_cjnum_emit(const gw_cjnum_t *nm, char *o)
{
    if (!nm->real) {
        memcpy(o, nm->s, (size_t)(nm->end - nm->s));
        return (size_t)(nm->end - nm->s);
    }
    size_t k = 0, len = 0;
    int64_t exp = nm->exp - (int64_t)(nm->f1 - nm->f0);
    char *d = o + nm->neg; /* the digits go straight to their place, leading zeros dropped */
    const char *a = nm->i0;
    while (a < nm->i1 && *a == '0')
        a++;
    if (a < nm->i1) {
        memcpy(d, a, (size_t)(nm->i1 - a));
        k = (size_t)(nm->i1 - a);
        a = nm->f0;
    } else {
        for (a = nm->f0; a < nm->f1 && *a == '0';)
            a++;
    }
    memcpy(d + k, a, (size_t)(nm->f1 - a));
    k += (size_t)(nm->f1 - a);
    while (k && d[k - 1] == '0')
        k--, exp++;
    if (k == 0) exp = 0;
    if (nm->neg) o[len++] = '-';
    if (k == 0)
        o[len++] = '0';
    else
        len += k;
    return emit_exp(o, len, exp);
}

/* Copies the run of digits at *q to d (which has room for the run and 8 more bytes), moves *q
 * past it and returns its length. Eight bytes are looked at a time: in each, a byte is a digit
 * when its high nibble and the high nibble of byte + 6 are both 3 ('0'..'9' only; a carry out of
 * a byte >= 0xFA can only spoil the bytes after it, never the first non-digit's place). */
static size_t copy_digits(const char **qp, const char *end, char *d)
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
    while (q < end && is_digit(*q))
        *d++ = *q++;
    *qp = q;
    return (size_t)(q - s);
}

size_t gw_cjnum_fast_real(const char *q, const char *end, char *o, const char **next)
{
    size_t len = 0, k = 0;
    if (q < end && *q == '-') o[len++] = '-', q++;
    char *d = o + len;
    if (q >= end) return 0;
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        k = copy_digits(&q, end, d);
    else
        return 0;
    if (q >= end || *q != '.') return 0;
    const char *f0 = ++q;
    if (k == 0)
        while (q < end && *q == '0') /* 0.00ddd: the fraction's leading zeros are not digits */
            q++;
    k += copy_digits(&q, end, d + k);
    if (q == f0 || (q < end && (*q == 'e' || *q == 'E'))) return 0;
    int64_t exp = -(int64_t)(q - f0);
    while (k && d[k - 1] == '0')
        k--, exp++;
    if (k == 0) exp = 0, d[k++] = '0';
    *next = q;
    return emit_exp(o, len + k, exp);
}
