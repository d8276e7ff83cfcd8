/* In-memory Qdrant data for fake_qdrant: collection and alias bookkeeping, the per-collection
 * point hash table, id ordering, UUID parsing and vector storage (Cosine is normalised). */

#include "fq_store.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

fq_store_t *fq_store_new(void)
{
    return calloc(1, sizeof(fq_store_t));
}

void fq_store_clear(fq_store_t *s)
{
    for (size_t k = 0; k < s->ncols; k++)
        fq_col_free(s->cols[k]);
    free(s->cols);
    s->cols = NULL;
    s->ncols = 0;
    for (size_t k = 0; k < s->naliases; k++) {
        free(s->aliases[k].alias);
        free(s->aliases[k].collection);
    }
    free(s->aliases);
    s->aliases = NULL;
    s->naliases = 0;
    fq_snaplist_clear(&s->full_snaps);
    json_decref(s->quotas);
    s->quotas = NULL;
}

void fq_snaplist_add(fq_snaplist_t *l, fq_snapshot_t s)
{
    fq_snapshot_t *n = realloc(l->v, (l->n + 1) * sizeof(*n));
    if (!n) abort();
    l->v = n;
    l->v[l->n++] = s;
}

int fq_snaplist_find(const fq_snaplist_t *l, const char *name)
{
    for (size_t k = 0; k < l->n; k++) {
        if (strcmp(l->v[k].name, name) == 0) return (int)k;
    }
    return -1;
}

void fq_snaplist_remove(fq_snaplist_t *l, size_t idx)
{
    free(l->v[idx].name);
    free(l->v[idx].creation_time);
    memmove(&l->v[idx], &l->v[idx + 1], (l->n - idx - 1) * sizeof(*l->v));
    l->n--;
}

void fq_snaplist_clear(fq_snaplist_t *l)
{
    while (l->n)
        fq_snaplist_remove(l, l->n - 1);
    free(l->v);
    l->v = NULL;
}

void fq_store_free(fq_store_t *s)
{
    if (!s) return;
    fq_store_clear(s);
    free(s);
}

fq_collection_t *fq_store_get(fq_store_t *s, const char *name)
{
    for (size_t k = 0; k < s->ncols; k++) {
        if (strcmp(s->cols[k]->name, name) == 0) return s->cols[k];
    }
    return NULL;
}

fq_collection_t *fq_store_resolve(fq_store_t *s, const char *name)
{
    fq_collection_t *c = fq_store_get(s, name);
    if (c) return c;
    const char *target = fq_alias_target(s, name);
    return target ? fq_store_get(s, target) : NULL;
}

void fq_store_add(fq_store_t *s, fq_collection_t *c)
{
    fq_collection_t **n = realloc(s->cols, (s->ncols + 1) * sizeof(*n));
    if (!n) abort();
    s->cols = n;
    s->cols[s->ncols++] = c;
}

int fq_store_remove(fq_store_t *s, const char *name)
{
    for (size_t k = 0; k < s->ncols; k++) {
        if (strcmp(s->cols[k]->name, name) != 0) continue;
        fq_col_free(s->cols[k]);
        memmove(&s->cols[k], &s->cols[k + 1], (s->ncols - k - 1) * sizeof(*s->cols));
        s->ncols--;
        size_t w = 0;
        for (size_t a = 0; a < s->naliases; a++) {
            if (strcmp(s->aliases[a].collection, name) == 0) {
                free(s->aliases[a].alias);
                free(s->aliases[a].collection);
            } else {
                s->aliases[w++] = s->aliases[a];
            }
        }
        s->naliases = w;
        return 1;
    }
    return 0;
}

const char *fq_alias_target(fq_store_t *s, const char *alias)
{
    for (size_t k = 0; k < s->naliases; k++) {
        if (strcmp(s->aliases[k].alias, alias) == 0) return s->aliases[k].collection;
    }
    return NULL;
}

void fq_alias_set(fq_store_t *s, const char *alias, const char *collection)
{
    for (size_t k = 0; k < s->naliases; k++) {
        if (strcmp(s->aliases[k].alias, alias) == 0) {
            free(s->aliases[k].collection);
            s->aliases[k].collection = strdup(collection);
            return;
        }
    }
    fq_alias_t *n = realloc(s->aliases, (s->naliases + 1) * sizeof(*n));
    if (!n) abort();
    s->aliases = n;
    s->aliases[s->naliases].alias = strdup(alias);
    s->aliases[s->naliases].collection = strdup(collection);
    s->naliases++;
}

int fq_alias_delete(fq_store_t *s, const char *alias)
{
    for (size_t k = 0; k < s->naliases; k++) {
        if (strcmp(s->aliases[k].alias, alias) != 0) continue;
        free(s->aliases[k].alias);
        free(s->aliases[k].collection);
        memmove(&s->aliases[k], &s->aliases[k + 1], (s->naliases - k - 1) * sizeof(*s->aliases));
        s->naliases--;
        return 1;
    }
    return 0;
}

/* ---- collections and points ------------------------------------------------------------ */

fq_collection_t *fq_col_new(const char *name)
{
    fq_collection_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->name = strdup(name);
    c->sorted = 1;
    c->payload_schema = json_object();
    return c;
}

static void point_free(fq_collection_t *c, fq_point_t *p)
{
    fq_point_clear_vecs(c, p);
    free(p->vec);
    json_decref(p->payload);
    free(p);
}

void fq_col_free(fq_collection_t *c)
{
    if (!c) return;
    if (c->pending_free) c->pending_free(c->pending);
    for (size_t k = 0; k < c->npts; k++)
        point_free(c, c->pts[k]);
    free(c->pts);
    free(c->tab);
    for (size_t k = 0; k < c->nvp; k++) {
        free(c->vp[k].name);
        json_decref(c->vp[k].params);
    }
    free(c->vp);
    fq_snaplist_clear(&c->snaps);
    fq_snaplist_clear(&c->shard_snaps);
    json_decref(c->shard_keys);
    json_decref(c->config);
    json_decref(c->payload_schema);
    free(c->name);
    free(c);
}

int fq_col_vslot(const fq_collection_t *c, const char *name)
{
    if (!name) name = "";
    for (size_t k = 0; k < c->nvp; k++) {
        if (strcmp(c->vp[k].name, name) == 0) return (int)k;
    }
    return -1;
}

static uint64_t pid_hash(const fq_pid_t *id)
{
    uint64_t x = id->num;
    if (id->is_uuid) {
        memcpy(&x, id->uuid, 8);
        uint64_t y;
        memcpy(&y, id->uuid + 8, 8);
        x ^= y * 0x9E3779B97F4A7C15ULL;
    }
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static int pid_eq(const fq_pid_t *a, const fq_pid_t *b)
{
    if (a->is_uuid != b->is_uuid) return 0;
    return a->is_uuid ? memcmp(a->uuid, b->uuid, 16) == 0 : a->num == b->num;
}

static void tab_insert(fq_point_t **tab, size_t cap, fq_point_t *p)
{
    size_t i = pid_hash(&p->id) & (cap - 1);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = p;
}

static void tab_grow(fq_collection_t *c)
{
    size_t ncap = c->tabcap ? c->tabcap * 2 : 64;
    fq_point_t **nt = calloc(ncap, sizeof(*nt));
    if (!nt) abort();
    for (size_t k = 0; k < c->npts; k++)
        tab_insert(nt, ncap, c->pts[k]);
    free(c->tab);
    c->tab = nt;
    c->tabcap = ncap;
}

fq_point_t *fq_col_find(fq_collection_t *c, const fq_pid_t *id)
{
    if (!c->tabcap) return NULL;
    size_t i = pid_hash(id) & (c->tabcap - 1);
    while (c->tab[i]) {
        if (pid_eq(&c->tab[i]->id, id)) return c->tab[i];
        i = (i + 1) & (c->tabcap - 1);
    }
    return NULL;
}

fq_point_t *fq_col_upsert(fq_collection_t *c, const fq_pid_t *id)
{
    fq_point_t *p = fq_col_find(c, id);
    if (p) return p;
    p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->id = *id;
    p->vec = calloc(c->nvp ? c->nvp : 1, sizeof(float *));
    p->payload = json_object();
    if (c->npts == c->cappts) {
        size_t ncap = c->cappts ? c->cappts * 2 : 64;
        fq_point_t **np = realloc(c->pts, ncap * sizeof(*np));
        if (!np) abort();
        c->pts = np;
        c->cappts = ncap;
    }
    if (c->npts && fq_pid_cmp(&c->pts[c->npts - 1]->id, id) > 0) c->sorted = 0;
    p->idx = c->npts;
    c->pts[c->npts++] = p;
    if (c->npts * 2 > c->tabcap)
        tab_grow(c);
    else
        tab_insert(c->tab, c->tabcap, p);
    return p;
}

/* Backward-shift deletion keeps linear probing chains intact without tombstones. */
static void tab_remove(fq_collection_t *c, fq_point_t *p)
{
    size_t mask = c->tabcap - 1, i = pid_hash(&p->id) & mask;
    while (c->tab[i] != p)
        i = (i + 1) & mask;
    size_t j = i;
    for (;;) {
        c->tab[i] = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (!c->tab[j]) return;
            size_t home = pid_hash(&c->tab[j]->id) & mask;
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) break;
        }
        c->tab[i] = c->tab[j];
        i = j;
    }
}

int fq_col_delete(fq_collection_t *c, const fq_pid_t *id)
{
    fq_point_t *p = fq_col_find(c, id);
    if (!p) return 0;
    tab_remove(c, p);
    size_t idx = p->idx;
    if (idx != c->npts - 1) {
        c->pts[idx] = c->pts[c->npts - 1];
        c->pts[idx]->idx = idx;
        c->sorted = 0;
    }
    c->npts--;
    point_free(c, p);
    return 1;
}

static int cmp_point_ptr(const void *a, const void *b)
{
    const fq_point_t *pa = *(fq_point_t *const *)a, *pb = *(fq_point_t *const *)b;
    return fq_pid_cmp(&pa->id, &pb->id);
}

fq_point_t **fq_col_sorted(fq_collection_t *c)
{
    if (!c->sorted) {
        qsort(c->pts, c->npts, sizeof(*c->pts), cmp_point_ptr);
        for (size_t k = 0; k < c->npts; k++)
            c->pts[k]->idx = k;
        c->sorted = 1;
    }
    return c->pts;
}

void fq_point_set_vec(fq_collection_t *c, fq_point_t *p, int slot, const float *v)
{
    uint32_t n = c->vp[slot].size;
    float *dst = p->vec[slot];
    if (!dst) {
        dst = malloc(n * sizeof(float));
        if (!dst) abort();
        p->vec[slot] = dst;
    }
    memcpy(dst, v, n * sizeof(float));
    if (c->vp[slot].dist != FQ_DIST_COSINE) return;
    double norm = 0;
    for (uint32_t k = 0; k < n; k++)
        norm += (double)dst[k] * dst[k];
    norm = sqrt(norm);
    if (norm < 1e-30) /* Qdrant leaves zero vectors as they are */
        return;
    for (uint32_t k = 0; k < n; k++)
        dst[k] = (float)(dst[k] / norm);
}

void fq_point_clear_vecs(fq_collection_t *c, fq_point_t *p)
{
    for (size_t k = 0; k < c->nvp; k++) {
        free(p->vec[k]);
        p->vec[k] = NULL;
    }
}

/* ---- ids ------------------------------------------------------------------------------- */

int fq_pid_cmp(const fq_pid_t *a, const fq_pid_t *b)
{
    if (a->is_uuid != b->is_uuid) return a->is_uuid ? 1 : -1;
    if (a->is_uuid) return memcmp(a->uuid, b->uuid, 16);
    return a->num < b->num ? -1 : a->num > b->num;
}

static int hexv(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Accepts the forms the uuid crate parses: hyphenated, simple, braced, urn:uuid:. */
static int parse_uuid(const char *s, unsigned char out[16])
{
    size_t n = strlen(s);
    char buf[40];
    if (n == 45 && strncasecmp(s, "urn:uuid:", 9) == 0) {
        s += 9;
        n -= 9;
    }
    if (n == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        n -= 2;
    }
    if (n == 36) {
        if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return -1;
        size_t w = 0;
        for (size_t k = 0; k < 36; k++) {
            if (k != 8 && k != 13 && k != 18 && k != 23) buf[w++] = s[k];
        }
        buf[w] = '\0';
        s = buf;
        n = 32;
    }
    if (n != 32) return -1;
    for (int k = 0; k < 16; k++) {
        int hi = hexv((unsigned char)s[2 * k]), lo = hexv((unsigned char)s[2 * k + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[k] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}

int fq_pid_from_str(const char *s, fq_pid_t *out)
{
    memset(out, 0, sizeof(*out));
    if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (strlen(s) == 20 && strcmp(s, "18446744073709551615") > 0) return -1;
        out->num = v;
        return 0;
    }
    if (parse_uuid(s, out->uuid) < 0) return -1;
    out->is_uuid = 1;
    return 0;
}

int fq_pid_from_json(const json_t *v, fq_pid_t *out)
{
    memset(out, 0, sizeof(*out));
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) return -1;
        out->num = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && parse_uuid(json_string_value(v), out->uuid) == 0) {
        out->is_uuid = 1;
        return 0;
    }
    return -1;
}

void fq_pid_fmt(const fq_pid_t *id, char *buf, size_t len)
{
    if (!id->is_uuid) {
        snprintf(buf, len, "%llu", (unsigned long long)id->num);
        return;
    }
    const unsigned char *u = id->uuid;
    snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

json_t *fq_pid_to_json(const fq_pid_t *id)
{
    if (!id->is_uuid) return json_integer((json_int_t)id->num);
    char buf[40];
    fq_pid_fmt(id, buf, sizeof(buf));
    return json_string(buf);
}

const char *fq_dist_name(fq_dist_t d)
{
    switch (d) {
    case FQ_DIST_COSINE:
        return "Cosine";
    case FQ_DIST_EUCLID:
        return "Euclid";
    case FQ_DIST_DOT:
        return "Dot";
    case FQ_DIST_MANHATTAN:
        return "Manhattan";
    }
    return "Cosine";
}

int fq_dist_parse(const char *s, fq_dist_t *out)
{
    static const fq_dist_t all[] = {FQ_DIST_COSINE, FQ_DIST_EUCLID, FQ_DIST_DOT, FQ_DIST_MANHATTAN};
    for (size_t k = 0; k < 4; k++) {
        if (strcmp(s, fq_dist_name(all[k])) == 0) {
            *out = all[k];
            return 0;
        }
    }
    return -1;
}

void fq_col_add_vector(fq_collection_t *c, fq_vparam_t vp)
{
    fq_vparam_t *nv = realloc(c->vp, (c->nvp + 1) * sizeof(*nv));
    if (!nv) abort();
    c->vp = nv;
    c->vp[c->nvp] = vp;
    for (size_t k = 0; k < c->npts; k++) {
        float **v = realloc(c->pts[k]->vec, (c->nvp + 1) * sizeof(*v));
        if (!v) abort();
        v[c->nvp] = NULL;
        c->pts[k]->vec = v;
    }
    c->nvp++;
    c->named = 1;
}

void fq_col_drop_vector(fq_collection_t *c, int slot)
{
    size_t s = (size_t)slot, tail = c->nvp - s - 1;
    for (size_t k = 0; k < c->npts; k++) {
        float **v = c->pts[k]->vec;
        free(v[s]);
        memmove(&v[s], &v[s + 1], tail * sizeof(*v));
    }
    free(c->vp[s].name);
    json_decref(c->vp[s].params);
    memmove(&c->vp[s], &c->vp[s + 1], tail * sizeof(*c->vp));
    c->nvp--;
}
