/* Snapshots of fake_qdrant, for the three scopes Qdrant has (a collection, its shard, the whole
 * storage): create / list / delete descriptions, stream downloads of --snapshot-mb deterministic
 * bytes with backpressure, recover from a known snapshot, hash uploads without keeping them. */

#include <errno.h>
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

/* The answer of a snapshot write: 202 accepted for wait=false, else result (stolen). */
static void done(fq_rq_t *rq, json_t *result)
{
    if (!rq->wait) {
        json_decref(result);
        accepted(rq);
    } else {
        fq_ok(rq, result);
    }
}

static void list(fq_rq_t *rq, const fq_snaplist_t *l)
{
    json_t *out = json_array();
    for (size_t k = 0; k < l->n; k++)
        json_array_append_new(out, snap_json(&l->v[k]));
    fq_ok(rq, out);
}

/* A new snapshot named prefix-<n>-<stamp>.snapshot, with content and checksum from its name. */
static fq_snapshot_t make_snapshot(fq_rq_t *rq, const char *prefix)
{
    static uint64_t counter;
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32], created[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
    fq_snapshot_t s = {0};
    if (asprintf(&s.name, "%s-%llu-%s.snapshot", prefix,
                 (unsigned long long)(3766212330831337ULL + ++counter), stamp) < 0)
        abort();
    s.creation_time = strdup(created);
    s.size = rq->app->opt.snapshot_mb * 1024 * 1024;
    sha256_of_content(name_seed(s.name), s.size, s.checksum);
    return s;
}

static void create(fq_rq_t *rq, fq_snaplist_t *l, const char *prefix)
{
    fq_snapshot_t s = make_snapshot(rq, prefix);
    fq_snaplist_add(l, s);
    done(rq, snap_json(&s));
}

static int find(fq_rq_t *rq, const fq_snaplist_t *l, const char *name)
{
    int k = fq_snaplist_find(l, name);
    if (k < 0) fq_fail(rq, 404, "Not found: Snapshot %s not found", name);
    return k;
}

static int snap_fill(struct evbuffer *out, void *arg)
{
    snap_stream_t *st = arg;
    if (st->off >= st->size) return 1;
    size_t n = st->size - st->off < CHUNK ? (size_t)(st->size - st->off) : CHUNK;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, n, &v, 1) < 1) return 1;
    gen_bytes(st->seed, st->off, v.iov_base, n);
    v.iov_len = n;
    evbuffer_commit_space(out, &v, 1);
    st->off += n;
    return st->off >= st->size;
}

static void stream(fq_rq_t *rq, const char *name, uint64_t size)
{
    snap_stream_t *st = calloc(1, sizeof(*st));
    st->seed = name_seed(name);
    st->size = size;
    char disp[600];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    fq_http_add_header(rq->http, "content-disposition", disp);
    fq_metrics_response(rq->app->metrics, rq->route, rq->http->method, 200, fq_elapsed(rq));
    fq_http_respond_stream(rq->http, 200, "application/octet-stream", size, snap_fill, st, free);
}

static void download(fq_rq_t *rq, const fq_snaplist_t *l, const char *name)
{
    int k = find(rq, l, name);
    if (k >= 0) stream(rq, l->v[k].name, l->v[k].size);
}

static void delete (fq_rq_t *rq, fq_snaplist_t *l, const char *name)
{
    int k = find(rq, l, name);
    if (k < 0) return;
    fq_snaplist_remove(l, (size_t)k);
    done(rq, json_true());
}

/* The collection, and for shard routes the shard (params[1]: only shard 0 exists, standalone
 * Qdrant has one local shard per collection). NULL when answered. */
static fq_collection_t *scope(fq_rq_t *rq, int shard)
{
    if (shard) {
        const char *id = rq->params[1];
        char *end;
        errno = 0;
        unsigned long long v = strtoull(id, &end, 10);
        if (!*id || *end || errno || v > UINT32_MAX || *id == '-' || *id == '+') {
            fq_fail0(rq, 404, "can not parse \"%s\" to a u32", id);
            return NULL;
        }
        fq_collection_t *c = fq_rq_collection(rq);
        if (c && v != 0) {
            fq_fail(rq, 404, "Not found: Shard %llu not found", v);
            return NULL;
        }
        return c;
    }
    return fq_rq_collection(rq);
}

/* ---- collection snapshots ---- */

void fq_h_snap_list(fq_rq_t *rq)
{
    fq_collection_t *c = scope(rq, 0);
    if (c) list(rq, &c->snaps);
}

void fq_h_snap_create(fq_rq_t *rq)
{
    fq_collection_t *c = fq_parse_common_query(rq, 1) < 0 ? NULL : scope(rq, 0);
    if (c) create(rq, &c->snaps, c->name);
}

void fq_h_snap_get(fq_rq_t *rq)
{
    fq_collection_t *c = scope(rq, 0);
    if (c) download(rq, &c->snaps, rq->params[1]);
}

void fq_h_snap_delete(fq_rq_t *rq)
{
    fq_collection_t *c = fq_parse_common_query(rq, 1) < 0 ? NULL : scope(rq, 0);
    if (c) delete (rq, &c->snaps, rq->params[1]);
}

/* ---- storage ("full") snapshots ---- */

void fq_h_full_snap_list(fq_rq_t *rq)
{
    list(rq, &rq->app->store->full_snaps);
}

void fq_h_full_snap_create(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 1) == 0) create(rq, &rq->app->store->full_snaps, "full-snapshot");
}

void fq_h_full_snap_get(fq_rq_t *rq)
{
    download(rq, &rq->app->store->full_snaps, rq->params[0]);
}

void fq_h_full_snap_delete(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 1) == 0) delete (rq, &rq->app->store->full_snaps, rq->params[0]);
}

/* ---- shard snapshots ---- */

static void shard_prefix(const fq_collection_t *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s-shard-0", c->name);
}

void fq_h_shard_snap_list(fq_rq_t *rq)
{
    fq_collection_t *c = scope(rq, 1);
    if (c) list(rq, &c->shard_snaps);
}

void fq_h_shard_snap_create(fq_rq_t *rq)
{
    fq_collection_t *c = fq_parse_common_query(rq, 1) < 0 ? NULL : scope(rq, 1);
    char prefix[300];
    if (!c) return;
    shard_prefix(c, prefix, sizeof(prefix));
    create(rq, &c->shard_snaps, prefix);
}

void fq_h_shard_snap_get(fq_rq_t *rq)
{
    fq_collection_t *c = scope(rq, 1);
    if (c) download(rq, &c->shard_snaps, rq->params[2]);
}

void fq_h_shard_snap_delete(fq_rq_t *rq)
{
    fq_collection_t *c = fq_parse_common_query(rq, 1) < 0 ? NULL : scope(rq, 1);
    if (c) delete (rq, &c->shard_snaps, rq->params[2]);
}

/* GET …/shards/{id}/snapshot: a snapshot made on the fly and streamed, never listed. */
void fq_h_shard_snap_stream(fq_rq_t *rq)
{
    fq_collection_t *c = scope(rq, 1);
    char prefix[300];
    if (!c) return;
    shard_prefix(c, prefix, sizeof(prefix));
    fq_snapshot_t s = make_snapshot(rq, prefix);
    stream(rq, s.name, s.size);
    free(s.name);
    free(s.creation_time);
}

/* ---- recovery ---- */

/* The snapshot a location names (file:// path or URL, by its last segment), searched in every
 * scope of the fake; NULL when it is not one the fake made. */
static const fq_snapshot_t *locate(fq_app_t *app, const char *location)
{
    const char *base = strrchr(location, '/');
    base = base ? base + 1 : location;
    fq_store_t *st = app->store;
    int k = fq_snaplist_find(&st->full_snaps, base);
    if (k >= 0) return &st->full_snaps.v[k];
    for (size_t i = 0; i < st->ncols; k = -1, i++) {
        if ((k = fq_snaplist_find(&st->cols[i]->snaps, base)) >= 0) return &st->cols[i]->snaps.v[k];
        if ((k = fq_snaplist_find(&st->cols[i]->shard_snaps, base)) >= 0)
            return &st->cols[i]->shard_snaps.v[k];
    }
    return NULL;
}

/* Body SnapshotRecover / ShardSnapshotRecover: location, priority, checksum, api_key. */
static void recover(fq_rq_t *rq, int shard, const char *struct_name)
{
    static const char *const prio[] = {"no_sync", "snapshot", "replica", NULL};
    fq_pctx_t pc = {rq, NULL, 1};
    const char *loc = NULL, *p = NULL, *sum = NULL, *key = NULL;
    if (fq_parse_common_query(rq, 1) < 0 || fq_body_object(rq, struct_name) < 0) return;
    int r = fq_get_str(&pc, rq->body, "location", &loc);
    if (r > 0) fq_missing(&pc, rq->body, "location");
    if (r || fq_get_str(&pc, rq->body, "priority", &p) < 0 ||
        fq_get_str(&pc, rq->body, "checksum", &sum) < 0 ||
        fq_get_str(&pc, rq->body, "api_key", &key) < 0)
        return;
    int known = !p;
    for (size_t k = 0; p && prio[k]; k++)
        known |= strcmp(p, prio[k]) == 0;
    if (!known) {
        fq_fmt_error(rq, json_object_get(rq->body, "priority"),
                     "unknown variant `%s`, expected one of `no_sync`, `snapshot`, `replica`", p);
        return;
    }
    if (!scope(rq, shard)) return;
    const fq_snapshot_t *s = locate(rq->app, loc);
    if (!s) {
        fq_fail(rq, 400,
                "Wrong input: fake_qdrant does not support recovering from %s (only from "
                "snapshots it made)",
                loc);
        return;
    }
    if (sum && strcasecmp(sum, s->checksum) != 0) {
        fq_fail(rq, 400, "Checksum mismatch: expected %s, actual %s", sum, s->checksum);
        return;
    }
    done(rq, json_true());
}

void fq_h_snap_recover(fq_rq_t *rq)
{
    recover(rq, 0, "SnapshotRecover");
}

void fq_h_shard_snap_recover(fq_rq_t *rq)
{
    recover(rq, 1, "ShardSnapshotRecover");
}

static void upload(fq_rq_t *rq, int shard)
{
    fq_http_req_t *h = rq->http;
    char hex[65], num[32];
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", h->body_sha256[k]);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)h->body_len);
    fq_http_add_header(h, "X-Fake-Received-Bytes", num);
    fq_http_add_header(h, "X-Fake-Received-Sha256", hex);
    if (fq_parse_common_query(rq, 1) < 0) return;
    if (shard && !scope(rq, 1)) return;
    char *want = fq_query_param(rq, "checksum");
    const char *ct = fq_http_header(h, "Content-Type");
    int raw = !ct || strncasecmp(ct, "multipart/", 10) != 0;
    if (want && *want && raw && strcasecmp(want, hex) != 0) {
        fq_fail(rq, 400, "Checksum mismatch: expected %s, actual %s", want, hex);
        free(want);
        return;
    }
    free(want);
    done(rq, json_true());
}

void fq_h_snap_upload(fq_rq_t *rq)
{
    upload(rq, 0);
}

void fq_h_shard_snap_upload(fq_rq_t *rq)
{
    upload(rq, 1);
}
