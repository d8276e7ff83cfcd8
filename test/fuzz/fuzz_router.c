/* libFuzzer target for gateway/http/router.c on arbitrary method/path splits. Input: byte 0 picks
 * the method length (mod 16), then the method, then the path; each is copied into its own
 * exact-size heap block so that ASan catches any read past the given lengths.
 * Properties:
 * - the class is a valid enum value, equal to the return value; the handler id is valid; op is
 *   NULL exactly for NOT_FOUND; NO_INVALIDATE never comes with ALL_COLLECTIONS;
 * - the collection view lies within the path, is non-empty and holds no '/';
 * - the same path at another address (the memo's hit), and the same path with every '/' doubled
 *   and a trailing '/' (NormalizePath::trim, often past the memo's 120 bytes: the table walk)
 *   classify the same, with a collection that decodes to the same name;
 * - gw_route_decode_param never writes past cap (exact-size output blocks), never grows its
 *   input, fails exactly when cap is one byte short, leaves text without '%' as it is, and
 *   decodes a fully percent-encoded copy of its result back to that result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dup_exact(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

/* Decodes in[0..len) into an exact-size block of cap bytes; returns the result (heap, caller
 * frees) or NULL when it did not fit; *n gets the length. */
static char *decode(const char *in, size_t len, size_t cap, ssize_t *n)
{
    char *out = malloc(cap ? cap : 1);
    if (!out) abort();
    *n = gw_route_decode_param(in, len, out, cap);
    if (*n < 0) {
        free(out);
        return NULL;
    }
    if ((size_t)*n > cap || (size_t)*n > len) abort();
    return out;
}

static void check_decode(const char *in, size_t len)
{
    ssize_t n, n2;
    char *full = decode(in, len, len, &n); /* decoding never grows: len bytes always fit */
    if (!full) abort();
    if (n > 0) { /* one byte short must fail, not write past the end */
        char *shorter = decode(in, len, (size_t)n - 1, &n2);
        if (shorter) abort();
    }
    char *big = decode(in, len, len + 16, &n2); /* more room changes nothing */
    if (!big || n2 != n || memcmp(big, full, (size_t)n) != 0) abort();
    free(big);
    if (!memchr(in, '%', len) && (n != (ssize_t)len || memcmp(full, in, len) != 0)) abort();
    /* Every byte as %XX decodes back to the decoded name (%25, %2F and %2B in the second pass). */
    static const char hex[] = "0123456789ABCDEF";
    size_t elen = (size_t)n * 3;
    char *enc = malloc(elen ? elen : 1);
    if (!enc) abort();
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)full[i];
        enc[i * 3] = '%';
        enc[i * 3 + 1] = hex[c >> 4];
        enc[i * 3 + 2] = hex[c & 15];
    }
    /* (cap = elen: the first pass keeps %25, %2F and %2B encoded, so it needs room for them even
     * when the decoded result would fit in n bytes.) */
    char *back = decode(enc, elen, elen, &n2);
    if (!back || n2 != n || memcmp(back, full, (size_t)n) != 0) abort();
    free(back);
    free(enc);
    free(full);
}

static void check_route(const gw_route_t *rt, gw_route_class_t cls, const char *path, size_t len)
{
    if (cls != rt->cls) abort();
    if ((unsigned)cls > GW_ROUTE_QDRANT_WRITE) abort();
    if ((unsigned)rt->handler >= GW_H_COUNT) abort();
    if ((cls == GW_ROUTE_NOT_FOUND) != (rt->op == NULL)) abort();
    if (cls == GW_ROUTE_NOT_FOUND && (rt->collection || rt->flags)) abort();
    if ((rt->flags & GW_ROUTE_F_NO_INVALIDATE) && (rt->flags & GW_ROUTE_F_ALL_COLLECTIONS)) abort();
    if (gw_route_class_name(cls) == NULL) abort();
    if (rt->collection) {
        if (rt->collection < path || rt->collection_len == 0 ||
            rt->collection_len > len - (size_t)(rt->collection - path))
            abort();
        if (memchr(rt->collection, '/', rt->collection_len)) abort();
    } else if (rt->collection_len) {
        abort();
    }
}

/* Same outcome, and collections that decode to the same name. */
static void same_route(const gw_route_t *a, const gw_route_t *b)
{
    if (a->cls != b->cls || a->handler != b->handler || a->flags != b->flags) abort();
    if ((a->op == NULL) != (b->op == NULL) || (a->op && strcmp(a->op, b->op) != 0)) abort();
    if ((a->collection == NULL) != (b->collection == NULL)) abort();
    if (a->collection) {
        ssize_t na, nb;
        char *da = decode(a->collection, a->collection_len, a->collection_len, &na);
        char *db = decode(b->collection, b->collection_len, b->collection_len, &nb);
        if (!da || !db || na != nb || memcmp(da, db, (size_t)na) != 0) abort();
        free(da);
        free(db);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    size_t mlen = data[0] % 16;
    if (mlen > size - 1) mlen = size - 1;
    size_t plen = size - 1 - mlen;
    char *method = dup_exact(data + 1, mlen);
    char *path = dup_exact(data + 1 + mlen, plen);

    gw_route_t rt, again, norm;
    memset(&rt, 0xa5, sizeof(rt)); /* every field must be filled */
    gw_route_class_t cls = gw_route_classify(method, mlen, path, plen, &rt);
    check_route(&rt, cls, path, plen);

    /* The same bytes elsewhere: a memo hit must point into the new path. */
    char *copy = dup_exact(path, plen);
    memset(&again, 0x5a, sizeof(again));
    check_route(&again, gw_route_classify(method, mlen, copy, plen, &again), copy, plen);
    same_route(&rt, &again);
    free(copy);

    /* "//" runs and trailing slashes do not change the route (origin-form paths only). */
    if (plen > 0 && path[0] == '/') {
        char *n = malloc(plen * 2 + 1);
        size_t nl = 0;
        for (size_t i = 0; i < plen; i++) {
            n[nl++] = path[i];
            if (path[i] == '/') n[nl++] = '/';
        }
        n[nl++] = '/';
        char *exact = dup_exact(n, nl);
        free(n);
        memset(&norm, 0x3c, sizeof(norm));
        check_route(&norm, gw_route_classify(method, mlen, exact, nl, &norm), exact, nl);
        same_route(&rt, &norm);
        free(exact);
    }

    if (rt.collection) check_decode(rt.collection, rt.collection_len);
    check_decode(path, plen); /* any bytes as a parameter */
    free(method);
    free(path);
    return 0;
}
