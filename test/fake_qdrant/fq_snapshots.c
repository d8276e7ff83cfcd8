/* Collection snapshots of fake_qdrant: create / list / delete descriptions, stream downloads of
 * --snapshot-mb deterministic bytes with backpressure, and hash uploads without keeping them. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>
#include <openssl/evp.h>

#include "fq_handlers.h"
#include "fq_metrics.h"

#define CHUNK (64 * 1024)

typedef struct {
    uint64_t seed;
    uint64_t size, off;
} snap_stream_t;

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint64_t name_seed(const char *name)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    return h;
}

/* Bytes [off, off+len) of the snapshot content; off is a multiple of 8. */
static void gen_bytes(uint64_t seed, uint64_t off, unsigned char *dst, size_t len)
{
    for (size_t k = 0; k < len; k += 8) {
        uint64_t w = mix64(seed + (off + k) / 8);
        size_t n = len - k < 8 ? len - k : 8;
        memcpy(dst + k, &w, n);
    }
}

static void sha256_of_content(uint64_t seed, uint64_t size, char hex[65])
{
    unsigned char *buf = malloc(CHUNK), md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (uint64_t off = 0; off < size; off += CHUNK) {
        size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        gen_bytes(seed, off, buf, n);
        EVP_DigestUpdate(ctx, buf, n);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    free(buf);
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", md[k]);
}

static json_t *snap_json(const fq_snapshot_t *s)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "name", s->name, "creation_time", s->creation_time,
                     "size", (json_int_t)s->size, "checksum", s->checksum);
}

static void accepted(fq_rq_t *rq)
{
    json_t *env = json_pack("{s:s,s:o}", "status", "accepted", "time", fq_json_f64(fq_elapsed(rq)));
    fq_reply_json(rq, 202, env);
}

void fq_h_snap_list(fq_rq_t *rq)
{
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    json_t *list = json_array();
    for (size_t k = 0; k < c->nsnaps; k++)
        json_array_append_new(list, snap_json(&c->snaps[k]));
    fq_ok(rq, list);
}

void fq_h_snap_create(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 1) < 0)
        return;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    static uint64_t counter;
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32], created[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
    fq_snapshot_t s = {0};
    if (asprintf(&s.name, "%s-%llu-%s.snapshot", c->name,
                 (unsigned long long)(3766212330831337ULL + ++counter), stamp) < 0)
        abort();
    s.creation_time = strdup(created);
    s.size = rq->app->opt.snapshot_mb * 1024 * 1024;
    sha256_of_content(name_seed(s.name), s.size, s.checksum);
    fq_snapshot_t *n = realloc(c->snaps, (c->nsnaps + 1) * sizeof(*n));
    if (!n)
        abort();
    c->snaps = n;
    c->snaps[c->nsnaps++] = s;
    if (!rq->wait)
        accepted(rq);
    else
        fq_ok(rq, snap_json(&s));
}

static fq_snapshot_t *find_snap(fq_rq_t *rq, fq_collection_t *c, size_t *idx)
{
    for (size_t k = 0; k < c->nsnaps; k++) {
        if (strcmp(c->snaps[k].name, rq->params[1]) == 0) {
            if (idx)
                *idx = k;
            return &c->snaps[k];
        }
    }
    fq_fail(rq, 404, "Not found: Snapshot %s not found", rq->params[1]);
    return NULL;
}

static int snap_fill(struct evbuffer *out, void *arg)
{
    snap_stream_t *st = arg;
    if (st->off >= st->size)
        return 1;
    size_t n = st->size - st->off < CHUNK ? (size_t)(st->size - st->off) : CHUNK;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, n, &v, 1) < 1)
        return 1;
    gen_bytes(st->seed, st->off, v.iov_base, n);
    v.iov_len = n;
    evbuffer_commit_space(out, &v, 1);
    st->off += n;
    return st->off >= st->size;
}

void fq_h_snap_get(fq_rq_t *rq)
{
    fq_collection_t *c = fq_rq_collection(rq);
    fq_snapshot_t *s = c ? find_snap(rq, c, NULL) : NULL;
    if (!s)
        return;
    snap_stream_t *st = calloc(1, sizeof(*st));
    st->seed = name_seed(s->name);
    st->size = s->size;
    char disp[600];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", s->name);
    fq_http_add_header(rq->http, "content-disposition", disp);
    fq_metrics_response(rq->app->metrics, rq->route, rq->http->method, 200, fq_elapsed(rq));
    fq_http_respond_stream(rq->http, 200, "application/octet-stream", s->size, snap_fill, st, free);
}

void fq_h_snap_delete(fq_rq_t *rq)
{
    size_t idx;
    if (fq_parse_common_query(rq, 1) < 0)
        return;
    fq_collection_t *c = fq_rq_collection(rq);
    fq_snapshot_t *s = c ? find_snap(rq, c, &idx) : NULL;
    if (!s)
        return;
    free(s->name);
    free(s->creation_time);
    memmove(&c->snaps[idx], &c->snaps[idx + 1], (c->nsnaps - idx - 1) * sizeof(*c->snaps));
    c->nsnaps--;
    if (!rq->wait)
        accepted(rq);
    else
        fq_ok(rq, json_true());
}

void fq_h_snap_upload(fq_rq_t *rq)
{
    fq_http_req_t *h = rq->http;
    char hex[65], num[32];
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", h->body_sha256[k]);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)h->body_len);
    fq_http_add_header(h, "X-Fake-Received-Bytes", num);
    fq_http_add_header(h, "X-Fake-Received-Sha256", hex);
    if (fq_parse_common_query(rq, 1) < 0)
        return;
    char *want = fq_query_param(rq, "checksum");
    const char *ct = fq_http_header(h, "Content-Type");
    int raw = !ct || strncasecmp(ct, "multipart/", 10) != 0;
    if (want && *want && raw && strcasecmp(want, hex) != 0) {
        fq_fail(rq, 400, "Checksum mismatch: expected %s, actual %s", want, hex);
        free(want);
        return;
    }
    free(want);
    if (!rq->wait)
        accepted(rq);
    else
        fq_ok(rq, json_true());
}
