/* libFuzzer target for the cache key (gw_ckey_build, gateway/cache/key.c). Input: a request as
 * "METHOD TARGET\n" then "Name: value" header lines, a blank line, and the body; the target is
 * split at its first '?' into path and query, and the route is classified as the codecs do.
 * Properties (both with and without per-credential keys):
 * - equal canonical inputs give equal keys: the same request with the body replaced by its
 *   canonical JSON (in whitespace), every '/' of the path doubled plus a trailing '/', the query
 *   parameters reversed with empty ones and a `timeout=7` added, header names upper-cased and an
 *   unrelated header added, builds the same key (base and dependencies) or fails the same way;
 * - bad JSON fails cleanly: a non-empty body that common/cjson rejects gives -1 with a reason,
 *   a body it accepts never fails as "not valid JSON"; every failure has a non-empty reason;
 * - dependencies are sorted, unique, NUL-terminated names. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cjson.h"
#include "gateway/cache/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 16

typedef struct fake {
    gw_req_t r;
    gw_hdr_t h[MAXH + 1];
} fake_t;

static void classify(gw_req_t *r)
{
    gw_route_classify(r->method, r->method_len, r->path, r->path_len, &r->route);
}

static int build(const gw_req_t *r, const char *body, size_t len, int per_cred, gw_ckey_t *k,
                 const char **why)
{
    *why = NULL;
    memset(k, 0, sizeof(*k));
    int rc = gw_ckey_build(k, r, body, len, per_cred, why);
    if (rc != 0 && rc != -1) abort();
    if (rc != 0 && (!*why || !**why)) abort();
    if (rc == 0) {
        if (k->deps.n > GW_DEPS_MAX) abort();
        for (size_t i = 0; i < k->deps.n; i++) {
            if (!memchr(k->deps.name[i], '\0', GW_NAME_MAX)) abort();
            if (i && strcmp(k->deps.name[i - 1], k->deps.name[i]) >= 0) abort();
        }
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) return 0;
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = '\0';
    const char *end = in + size;

    /* Request line. */
    fake_t a;
    memset(&a, 0, sizeof(a));
    const char *eol = memchr(in, '\n', size);
    const char *line_end = eol ? eol : end;
    const char *sp = memchr(in, ' ', (size_t)(line_end - in));
    if (!sp) goto out;
    a.r.method = in;
    a.r.method_len = (size_t)(sp - in);
    const char *target = sp + 1;
    size_t tlen = (size_t)(line_end - target);
    const char *qm = memchr(target, '?', tlen);
    a.r.path = target;
    a.r.path_len = qm ? (size_t)(qm - target) : tlen;
    a.r.query = qm ? qm + 1 : NULL;
    a.r.query_len = qm ? (size_t)(line_end - qm - 1) : 0;
    /* Headers until a blank line. */
    const char *p = eol ? eol + 1 : end;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *le = e ? e : end;
        if (le == p) {
            p = le + 1;
            break;
        }
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && a.r.nhdrs < MAXH) {
            const char *v = colon + 1;
            while (v < le && *v == ' ')
                v++;
            a.h[a.r.nhdrs++] = (gw_hdr_t){p, (size_t)(colon - p), v, (size_t)(le - v)};
        }
        p = e ? e + 1 : end;
    }
    a.r.hdrs = a.h;
    const char *body = p < end ? p : end;
    size_t blen = (size_t)(end - body);
    if (a.r.path_len > 1024) goto out;
    classify(&a.r);

    /* The canonical twin. */
    fake_t b = a;
    b.r.hdrs = b.h;
    char *path2 = malloc(a.r.path_len * 2 + 2), *query2 = NULL, *names = NULL, *body2 = NULL;
    size_t pl = 0;
    for (size_t i = 0; i < a.r.path_len; i++) {
        path2[pl++] = a.r.path[i];
        if (a.r.path[i] == '/') path2[pl++] = '/';
    }
    if (a.r.path_len > 0 && a.r.path[0] == '/') path2[pl++] = '/';
    b.r.path = path2;
    b.r.path_len = pl;
    if (a.r.query) {
        query2 = malloc(a.r.query_len + 16);
        size_t ql = 0;
        memcpy(query2, "timeout=7&&", 11);
        ql = 11;
        size_t j = a.r.query_len;
        while (j > 0) { /* parameters from last to first */
            size_t k = j;
            while (k > 0 && a.r.query[k - 1] != '&')
                k--;
            memcpy(query2 + ql, a.r.query + k, j - k);
            ql += j - k;
            query2[ql++] = '&';
            j = k ? k - 1 : 0;
        }
        b.r.query = query2;
        b.r.query_len = ql;
    }
    size_t namelen = 0;
    for (size_t i = 0; i < a.r.nhdrs; i++)
        namelen += a.h[i].name_len;
    names = malloc(namelen + 1);
    size_t no = 0;
    for (size_t i = 0; i < a.r.nhdrs; i++) {
        for (size_t c = 0; c < a.h[i].name_len; c++)
            names[no + c] = (char)toupper((unsigned char)a.h[i].name[c]);
        b.h[i].name = names + no;
        no += a.h[i].name_len;
    }
    b.h[b.r.nhdrs++] = (gw_hdr_t){"X-Fuzz-Noise", 12, "1", 1};
    char err[160];
    gw_cjson_t *doc = blen ? gw_cjson_parse(body, blen, err, sizeof(err)) : NULL;
    const char *body_b = body;
    size_t blen_b = blen;
    if (doc) {
        size_t cl = 0;
        char *canon = gw_cjson_dump(doc, &cl);
        if (canon) {
            body2 = malloc(cl + 4);
            memcpy(body2, " \n", 2);
            memcpy(body2 + 2, canon, cl);
            memcpy(body2 + 2 + cl, "\t\r", 2);
            body_b = body2;
            blen_b = cl + 4;
            free(canon);
        }
    }
    classify(&b.r);

    for (int per_cred = 0; per_cred <= 1; per_cred++) {
        gw_ckey_t ka, kb;
        const char *wa, *wb;
        int ra = build(&a.r, body, blen, per_cred, &ka, &wa);
        int rb = build(&b.r, body_b, blen_b, per_cred, &kb, &wb);
        if (blen && !doc && ra == 0) abort(); /* bad JSON is never keyed */
        if (doc && ra != 0 && strcmp(wa, "body is not valid JSON") == 0) abort();
        if (ra != rb) abort();
        if (ra != 0) {
            if (strcmp(wa, wb) != 0) abort();
            continue;
        }
        if (memcmp(ka.base, kb.base, sizeof(ka.base)) != 0) abort();
        if (ka.deps.n != kb.deps.n) abort();
        for (size_t i = 0; i < ka.deps.n; i++)
            if (strcmp(ka.deps.name[i], kb.deps.name[i]) != 0) abort();
    }
    if (gw_ckey_class(&a.r.route) != gw_ckey_class(&b.r.route)) abort();
    gw_cjson_free(doc);
    free(path2);
    free(query2);
    free(names);
    free(body2);
out:
    free(in);
    return 0;
}
