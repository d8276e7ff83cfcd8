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
    return gw_cjnum_emit_exp(o, len, exp);
}
