/* Exact brute-force search of fake_qdrant: scores every candidate point, applies filter and
 * score_threshold, sorts like Qdrant (ties by id), fuses prefetch results and groups hits. */
#include "fq_search.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "fq_filter.h"

void fq_sreq_init(fq_sreq_t *r)
{
    memset(r, 0, sizeof(*r));
    r->limit = 10;
    r->rrf_k = 2;
}

void fq_sreq_dispose(fq_sreq_t *r)
{
    free(r->target);
    for (size_t k = 0; k < r->npos; k++)
        free(r->pos[k]);
    for (size_t k = 0; k < r->nneg; k++)
        free(r->neg[k]);
    free(r->pos);
    free(r->neg);
    free(r->exclude);
    for (size_t k = 0; k < r->nprefetch; k++)
        fq_sreq_dispose(&r->prefetch[k]);
    free(r->prefetch);
    memset(r, 0, sizeof(*r));
}

void fq_sreq_add_example(fq_sreq_t *r, int positive, const float *v, size_t dim)
{
    float ***list = positive ? &r->pos : &r->neg;
    size_t *n = positive ? &r->npos : &r->nneg;
    float **nl = realloc(*list, (*n + 1) * sizeof(float *));
    float *copy = malloc((dim ? dim : 1) * sizeof(float));
    if (!nl || !copy)
        abort();
    if (dim)
        memcpy(copy, v, dim * sizeof(float));
    *list = nl;
    (*list)[(*n)++] = copy;
}

static int larger_better(fq_dist_t d)
{
    return d == FQ_DIST_COSINE || d == FQ_DIST_DOT;
}

float fq_score(fq_dist_t d, const float *a, const float *b, uint32_t n)
{
    double acc = 0;
    switch (d) {
    case FQ_DIST_COSINE:
    case FQ_DIST_DOT:
        for (uint32_t k = 0; k < n; k++)
            acc += (double)a[k] * b[k];
        return (float)acc;
    case FQ_DIST_EUCLID:
        for (uint32_t k = 0; k < n; k++)
            acc += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
        return (float)sqrt(acc);
    case FQ_DIST_MANHATTAN:
        for (uint32_t k = 0; k < n; k++)
            acc += fabs((double)a[k] - b[k]);
        return (float)acc;
    }
    return 0;
}

float *fq_prepare_query(fq_dist_t d, const float *v, uint32_t n)
{
    float *q = malloc((n ? n : 1) * sizeof(float));
    if (!q)
        abort();
    memcpy(q, v, n * sizeof(float));
    if (d != FQ_DIST_COSINE)
        return q;
    double norm = 0;
    for (uint32_t k = 0; k < n; k++)
        norm += (double)q[k] * q[k];
    norm = sqrt(norm);
    if (norm >= 1e-30)
        for (uint32_t k = 0; k < n; k++)
            q[k] = (float)(q[k] / norm);
    return q;
}

/* Similarity where larger is always better (distances negated). */
static float sim(fq_dist_t d, const float *a, const float *b, uint32_t n)
{
    float s = fq_score(d, a, b, n);
    return larger_better(d) ? s : -s;
}

static float score_custom(const fq_collection_t *c, const fq_sreq_t *r, const float *v)
{
    fq_dist_t d = c->vp[r->slot].dist;
    uint32_t n = c->vp[r->slot].size;
    float best_pos = -INFINITY, best_neg = -INFINITY, sum = 0;
    size_t pairs = r->npos < r->nneg ? r->npos : r->nneg;
    switch (r->kind) {
    case FQ_Q_RECO_BEST:
        for (size_t k = 0; k < r->npos; k++)
            best_pos = fmaxf(best_pos, sim(d, r->pos[k], v, n));
        for (size_t k = 0; k < r->nneg; k++)
            best_neg = fmaxf(best_neg, sim(d, r->neg[k], v, n));
        return best_pos > best_neg ? best_pos : -(best_neg * best_neg);
    case FQ_Q_RECO_SUM:
        for (size_t k = 0; k < r->npos; k++)
            sum += sim(d, r->pos[k], v, n);
        for (size_t k = 0; k < r->nneg; k++)
            sum -= sim(d, r->neg[k], v, n);
        return sum;
    case FQ_Q_DISCOVER: {
        int rank = 0;
        for (size_t k = 0; k < pairs; k++) {
            float ps = sim(d, r->pos[k], v, n), ns = sim(d, r->neg[k], v, n);
            rank += ps > ns ? 1 : ps < ns ? -1 : 0;
        }
        float t = r->target ? sim(d, r->target, v, n) : 0;
        return (float)rank + 0.5f * (t / (1.0f + fabsf(t)) + 1.0f);
    }
    case FQ_Q_CONTEXT:
        for (size_t k = 0; k < pairs; k++)
            sum += fminf(sim(d, r->pos[k], v, n) - sim(d, r->neg[k], v, n) - 1.1920929e-7f, 0);
        return sum;
    default:
        return 0;
    }
}

static int excluded(const fq_sreq_t *r, const fq_point_t *p)
{
    for (size_t k = 0; k < r->nexclude; k++) {
        if (fq_pid_cmp(&r->exclude[k], &p->id) == 0)
            return 1;
    }
    return 0;
}

/* Smallest (asc) or largest (desc) numeric value at the order key; 0 when none. */
static int order_value(const fq_point_t *p, const fq_sreq_t *r, fq_hit_t *h)
{
    json_t *vals = json_array();
    fq_payload_values(p->payload, r->order_key, vals, 1);
    int found = 0;
    for (size_t k = 0; k < json_array_size(vals); k++) {
        json_t *v = json_array_get(vals, k);
        if (!json_is_number(v))
            continue;
        double x = json_number_value(v);
        if (r->has_start && (r->order_desc ? x > r->start_from : x < r->start_from))
            continue;
        if (!found || (r->order_desc ? x > h->order_value : x < h->order_value)) {
            h->order_value = x;
            h->order_is_int = json_is_integer(v);
        }
        found = 1;
    }
    json_decref(vals);
    h->has_order = found;
    return found;
}

/* Scores one candidate; 0 when it must be skipped. */
static int score_point(const fq_collection_t *c, const fq_sreq_t *r, fq_point_t *p, fq_hit_t *h)
{
    memset(h, 0, sizeof(*h));
    h->p = p;
    if (r->kind == FQ_Q_NONE || r->kind == FQ_Q_SAMPLE)
        return 1;
    if (r->kind == FQ_Q_ORDER_BY)
        return order_value(p, r, h);
    const float *v = p->vec[r->slot];
    if (!v)
        return 0;
    fq_dist_t d = c->vp[r->slot].dist;
    if (r->kind == FQ_Q_NEAREST) {
        h->score = fq_score(d, r->target, v, c->vp[r->slot].size);
        if (r->has_threshold)
            return larger_better(d) ? h->score > r->threshold : h->score < r->threshold;
        return 1;
    }
    h->score = score_custom(c, r, v);
    return !r->has_threshold || h->score > r->threshold;
}

static fq_dist_t g_sort_dist;
static fq_qkind_t g_sort_kind;
static int g_sort_desc;

static int cmp_hits(const void *a, const void *b)
{
    const fq_hit_t *x = a, *y = b;
    if (g_sort_kind == FQ_Q_ORDER_BY && x->order_value != y->order_value)
        return (x->order_value < y->order_value) != g_sort_desc ? -1 : 1;
    if (g_sort_kind != FQ_Q_NONE && g_sort_kind != FQ_Q_ORDER_BY && x->score != y->score) {
        int asc = g_sort_kind == FQ_Q_NEAREST && !larger_better(g_sort_dist);
        return (x->score < y->score) == asc ? -1 : 1;
    }
    return fq_pid_cmp(&x->p->id, &y->p->id);
}

/* Heap whose root is the worst of the k best so far (cmp_hits order: smaller = better). */
static void sift_down(fq_hit_t *h, size_t k, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < k && cmp_hits(&h[l], &h[w]) > 0)
            w = l;
        if (r < k && cmp_hits(&h[r], &h[w]) > 0)
            w = r;
        if (w == i)
            return;
        fq_hit_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Moves the k best hits to the front, sorted; the rest is left in no particular order. */
static void partial_sort(fq_hit_t *h, size_t n, size_t k)
{
    for (size_t i = k / 2; i-- > 0;)
        sift_down(h, k, i);
    for (size_t i = k; i < n; i++) {
        if (cmp_hits(&h[i], &h[0]) < 0) {
            h[0] = h[i];
            sift_down(h, k, 0);
        }
    }
    qsort(h, k, sizeof(*h), cmp_hits);
}

/* A fresh seed per sampling query: Qdrant's `sample: random` differs on every call. */
static uint64_t sample_seed(void)
{
    uint64_t x = 0;
    if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_sec;
    }
    return x | 1;
}

static void sort_hits(const fq_collection_t *c, const fq_sreq_t *r, fq_hit_t *h, size_t n)
{
    if (r->kind == FQ_Q_SAMPLE) {
        uint64_t x = sample_seed();
        for (size_t k = n; k > 1; k--) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t j = (size_t)(x % k);
            fq_hit_t t = h[k - 1];
            h[k - 1] = h[j];
            h[j] = t;
        }
        return;
    }
    g_sort_dist = c->nvp ? c->vp[r->slot].dist : FQ_DIST_DOT;
    g_sort_kind = r->kind;
    g_sort_desc = r->order_desc;
    size_t want = r->limit > n || r->offset > n - r->limit ? n : r->offset + r->limit;
    if (want > 0 && want < n / 2)
        partial_sort(h, n, want);
    else
        qsort(h, n, sizeof(*h), cmp_hits);
}

static fq_hit_t *apply_window(fq_hit_t *h, size_t total, const fq_sreq_t *r, size_t *n)
{
    size_t off = r->offset < total ? r->offset : total;
    size_t cnt = total - off < r->limit ? total - off : r->limit;
    if (off)
        memmove(h, h + off, cnt * sizeof(*h));
    *n = cnt;
    return h;
}

/* Fusion over the prefetch result lists (rrf or dbsf). */
static fq_hit_t *fuse(fq_collection_t *c, const fq_sreq_t *r, fq_hit_t **lists, size_t *lens,
                      size_t *n)
{
    size_t cap = 0, cnt = 0;
    for (size_t k = 0; k < r->nprefetch; k++)
        cap += lens[k];
    fq_hit_t *out = calloc(cap ? cap : 1, sizeof(*out));
    for (size_t k = 0; k < r->nprefetch; k++) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < lens[k]; i++)
            mean += lists[k][i].score / (double)lens[k];
        for (size_t i = 0; i < lens[k]; i++)
            var += pow(lists[k][i].score - mean, 2) / (double)lens[k];
        double lo = mean - 3 * sqrt(var), hi = mean + 3 * sqrt(var);
        for (size_t i = 0; i < lens[k]; i++) {
            double s = r->kind == FQ_Q_FUSION_RRF ? 1.0 / (r->rrf_k + (double)i + 1)
                       : hi > lo ? fmin(fmax((lists[k][i].score - lo) / (hi - lo), 0), 1)
                                 : 0.5;
            size_t j;
            for (j = 0; j < cnt && out[j].p != lists[k][i].p; j++)
                ;
            if (j == cnt)
                out[cnt++].p = lists[k][i].p;
            out[j].score += (float)s;
        }
    }
    size_t w = 0;
    for (size_t k = 0; k < cnt; k++) {
        if ((!r->has_threshold || out[k].score > r->threshold) &&
            fq_filter_match(c, out[k].p, r->filter))
            out[w++] = out[k];
    }
    *n = w;
    return out;
}

static fq_hit_t *run_prefetched(fq_collection_t *c, const fq_sreq_t *r, size_t *n)
{
    fq_hit_t **lists = calloc(r->nprefetch, sizeof(*lists));
    size_t *lens = calloc(r->nprefetch, sizeof(*lens)), total = 0;
    for (size_t k = 0; k < r->nprefetch; k++)
        lists[k] = fq_search_run(c, &r->prefetch[k], &lens[k]);
    fq_hit_t *out;
    if (r->kind == FQ_Q_FUSION_RRF || r->kind == FQ_Q_FUSION_DBSF) {
        out = fuse(c, r, lists, lens, &total);
    } else { /* rescore the union of prefetched points with the main query */
        size_t cap = 0;
        for (size_t k = 0; k < r->nprefetch; k++)
            cap += lens[k];
        out = calloc(cap ? cap : 1, sizeof(*out));
        for (size_t k = 0; k < r->nprefetch; k++) {
            for (size_t i = 0; i < lens[k]; i++) {
                fq_point_t *p = lists[k][i].p;
                size_t j;
                for (j = 0; j < total && out[j].p != p; j++)
                    ;
                if (j == total && !excluded(r, p) && fq_filter_match(c, p, r->filter) &&
                    score_point(c, r, p, &out[total]))
                    total++;
            }
        }
    }
    for (size_t k = 0; k < r->nprefetch; k++)
        free(lists[k]);
    free(lists);
    free(lens);
    sort_hits(c, r, out, total);
    return apply_window(out, total, r, n);
}

fq_hit_t *fq_search_run(fq_collection_t *c, const fq_sreq_t *r, size_t *n)
{
    if (r->nprefetch) return run_prefetched(c, r, n);
    fq_point_t **pts = fq_col_sorted(c);
    fq_hit_t *out = calloc(c->npts ? c->npts : 1, sizeof(*out));
    size_t total = 0;
    for (size_t k = 0; k < c->npts; k++) {
        fq_point_t *p = pts[k];
        if (excluded(r, p) || !fq_filter_match(c, p, r->filter))
            continue;
        if (score_point(c, r, p, &out[total]))
            total++;
    }
    sort_hits(c, r, out, total);
    return apply_window(out, total, r, n);
}

/* ---- groups ---------------------------------------------------------------------------- */

static int group_key_ok(const json_t *v)
{
    return json_is_string(v) || json_is_integer(v);
}

static int same_group(const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    return json_is_integer(a) && json_is_integer(b) &&
           json_integer_value(a) == json_integer_value(b);
}

fq_group_t *fq_group_hits(const fq_hit_t *hits, size_t n, const char *key, size_t group_size,
                          size_t limit, size_t *ngroups)
{
    fq_group_t *g = calloc(limit ? limit : 1, sizeof(*g));
    size_t ng = 0;
    for (size_t k = 0; k < n; k++) {
        json_t *vals = json_array();
        fq_payload_values(hits[k].p->payload, key, vals, 1);
        for (size_t v = 0; v < json_array_size(vals); v++) {
            json_t *val = json_array_get(vals, v);
            if (!group_key_ok(val))
                continue;
            size_t j;
            for (j = 0; j < ng && !same_group(g[j].id, val); j++)
                ;
            if (j == ng) {
                if (ng == limit)
                    continue;
                g[ng].id = json_incref(val);
                g[ng].hits = calloc(group_size ? group_size : 1, sizeof(fq_hit_t));
                ng++;
            }
            if (g[j].nhits < group_size && (g[j].nhits == 0 || g[j].hits[g[j].nhits - 1].p != hits[k].p))
                g[j].hits[g[j].nhits++] = hits[k];
        }
        json_decref(vals);
    }
    *ngroups = ng;
    return g;
}

void fq_groups_free(fq_group_t *g, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        json_decref(g[k].id);
        free(g[k].hits);
    }
    free(g);
}
