/* The number half of common/cjson.c (internal to it): a JSON number scanned into its parts and
 * written as canonical text, so that spellings of one value (1.50, 15e-1, 0.15E1) give one cache
 * key: an integer as written, a real as DIGITSeEXP with the digits' leading and trailing zeros
 * dropped (value = DIGITS * 10^EXP). Pure functions. */
#ifndef GW_COMMON_CJSON_NUM_H
#define GW_COMMON_CJSON_NUM_H

#include <stddef.h>
#include <stdint.h>

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
/* The common real of a query vector, -?D+.D+ without an exponent, scanned and written in one
 * pass as the same text gw_cjnum_emit writes (at o, which has room for the literal and 32 more);
 * *next is past the literal. 0 when the literal has another form: gw_cjnum_scan it. */
size_t gw_cjnum_fast_real(const char *q, const char *end, char *o, const char **next);

#endif
