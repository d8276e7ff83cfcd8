/* Write barriers: knowing when Qdrant has applied a wait=false write.
 *
 * Qdrant acknowledges a wait=false point write before applying it. Each shard applies its
 * updates in order, one at a time, from one queue (the shard's update worker reads a single
 * channel), and a wait=true update is answered only once the worker has applied it. So a
 * wait=true update sent after the client's write is answered only after that write is applied.
 * The barrier is such an update that changes nothing and reaches every shard: deleting no
 * payload keys (`keys: []`) from the points of a filter that matches none (`has_id: []`);
 * filter-selected updates go to every shard. When it is answered, the collection's generation
 * is bumped again: what was read and stored while the write was still queued becomes
 * unreachable, and reads of the collection are not stored while a barrier is pending.
 *
 * One barrier per collection and worker is in flight at a time; writes arriving meanwhile set
 * `again`, and one more barrier follows (it covers all of them). The barrier carries the
 * credentials of the write that asked for it (that client could write to the collection);
 * without any, upstream.api_key. If the barrier fails (refused, timeout), the old timer takes
 * over: a bump at once and another after cache.async_write_settle. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/cache/internal.h"
#include "gateway/http/headers.h"

#define UNSETTLED_SLOTS 64
#define CRED_MAX        8192 /* longer credentials are not kept: upstream.api_key is used */

static const char barrier_body[] = "{\"keys\":[],\"filter\":{\"must\":[{\"has_id\":[]}]}}";

/* ---- the process-wide set of collections with a barrier pending --------------------------- */

struct gw_unsettled {
    pthread_mutex_t lock;
    atomic_uint n;     /* names held + overflow: 0 = nothing pending (the fast path) */
    unsigned overflow; /* adds that found no free slot: treat every name as unsettled */
    struct {
        unsigned count;
        char name[GW_NAME_MAX];
    } slot[UNSETTLED_SLOTS];
};

gw_unsettled_t *unsettled_new(void)
{
    gw_unsettled_t *u = calloc(1, sizeof(*u));
    if (u) pthread_mutex_init(&u->lock, NULL);
    return u;
}

void unsettled_free(gw_unsettled_t *u)
{
    if (!u) return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static void unsettled_change(gw_unsettled_t *u, const char *name, int add)
{
    pthread_mutex_lock(&u->lock);
    int free_slot = -1, found = -1;
    for (int i = 0; i < UNSETTLED_SLOTS && found < 0; i++) {
        if (u->slot[i].count == 0) {
            if (free_slot < 0) free_slot = i;
        } else if (strcmp(u->slot[i].name, name) == 0) {
            found = i;
        }
    }
    if (add) {
        if (found < 0 && free_slot >= 0) {
            found = free_slot;
            snprintf(u->slot[found].name, sizeof(u->slot[found].name), "%s", name);
        }
        if (found >= 0)
            u->slot[found].count++;
        else
            u->overflow++;
        atomic_fetch_add(&u->n, 1);
    } else if (found >= 0) {
        u->slot[found].count--;
        atomic_fetch_sub(&u->n, 1);
    } else if (u->overflow > 0) {
        u->overflow--; /* its add found no slot */
        atomic_fetch_sub(&u->n, 1);
    }
    pthread_mutex_unlock(&u->lock);
}

int unsettled_any(gw_unsettled_t *u, const gw_deps_t *d)
{
    if (atomic_load_explicit(&u->n, memory_order_acquire) == 0) return 0;
    int hit = 0;
    pthread_mutex_lock(&u->lock);
    if (u->overflow > 0 || d->n == 0) hit = 1;
    for (int i = 0; i < UNSETTLED_SLOTS && !hit; i++) {
        if (u->slot[i].count == 0) continue;
        for (size_t k = 0; k < d->n && !hit; k++)
            hit = strcmp(u->slot[i].name, d->name[k]) == 0;
    }
    pthread_mutex_unlock(&u->lock);
    return hit;
}

/* ---- one worker's barriers ---------------------------------------------------------------- */

struct barrier {
    barrier_t *next;
    gw_cache_t *c;
    int again;                  /* another write came while this barrier was out */
    char cred_name[16];         /* "api-key" or "authorization", "" for none */
    char *cred;                 /* its value (heap), or NULL */
    char marks[2][GW_NAME_MAX]; /* the names held unsettled */
    size_t nmarks;
    char name[GW_NAME_MAX];
};

static void barrier_start(barrier_t *b);

static void barrier_take_cred(barrier_t *b, const gw_req_t *r)
{
    if (!r) return;
    static const char *const names[] = {"api-key", "authorization"};
    for (size_t i = 0; i < 2; i++) {
        size_t vl;
        const char *v = gw_req_header(r, names[i], &vl);
        if (!v || vl > CRED_MAX) continue;
        char *copy = malloc(vl + 1);
        if (!copy) return;
        memcpy(copy, v, vl);
        copy[vl] = '\0';
        free(b->cred);
        b->cred = copy;
        snprintf(b->cred_name, sizeof(b->cred_name), "%s", names[i]);
        return;
    }
}

static void barrier_unlink(barrier_t *b)
{
    gw_cache_t *c = b->c;
    for (barrier_t **p = &c->barriers; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    for (size_t i = 0; i < b->nmarks; i++)
        unsettled_change(c->sh->unsettled, b->marks[i], 0);
    free(b->cred);
    free(b);
}

static void barrier_on_answer(void *arg, int ok, long status, const char *body, size_t len,
                              double seconds, const char *error)
{
    barrier_t *b = arg;
    gw_cache_t *c = b->c;
    if (ok && status == 200) {
        gw_stat_inc(&c->st.barriers_ok);
        inval_bump(c, b->name, NULL); /* applied now: what was stored meanwhile is unreachable */
    } else {
        gw_stat_inc(&c->st.barriers_failed);
        gw_log_info("cache: write barrier on %s failed (%s%ld%s%s): invalidating again after "
                    "cache.async_write_settle instead",
                    b->name, ok ? "status " : "", ok ? status : 0L, ok ? "" : ": ",
                    ok ? "" : (error ? error : "no answer"));
        inval_bump(c, b->name, NULL);
        inval_settle_later(c, b->name);
        b->again = 0; /* the timer covers the writes that came meanwhile too */
    }
    (void)body;
    (void)len;
    (void)seconds;
    if (b->again) {
        b->again = 0;
        barrier_start(b);
        return;
    }
    barrier_unlink(b);
}

/* Percent-encodes a collection name for the request path (unreserved bytes stay). */
static int path_escape(const char *name, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (o + (keep ? 1 : 3) >= cap) return -1;
        if (keep) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void barrier_start(barrier_t *b)
{
    gw_cache_t *c = b->c;
    char esc[GW_NAME_MAX * 3 + 1], path[sizeof(esc) + 64];
    gw_hdr_t cred = {b->cred_name, strlen(b->cred_name), b->cred, b->cred ? strlen(b->cred) : 0};
    int sent = -1;
    if (path_escape(b->name, esc, sizeof(esc)) == 0) {
        snprintf(path, sizeof(path), "/collections/%s/points/payload/delete?wait=true", esc);
        gw_fetch_req_t q = {
            .method = "POST",
            .path = path,
            .body = barrier_body,
            .body_len = sizeof(barrier_body) - 1,
            .hdrs = b->cred ? &cred : NULL,
            .nhdrs = b->cred ? 1 : 0,
            .timeout_ms = c->cfg->upstream_timeout_ms,
        };
        sent = gw_proxy_fetch_req(c->proxy, &q, barrier_on_answer, b);
    }
    if (sent != 0) {
        gw_stat_inc(&c->st.barriers_failed);
        inval_settle_later(c, b->name); /* cannot ask Qdrant: the timer it is */
        barrier_unlink(b);
    }
}

void barrier_after_write(gw_cache_t *c, const char *name, const char bumped[][GW_NAME_MAX],
                         size_t nbumped, const gw_req_t *r)
{
    for (barrier_t *b = c->barriers; b; b = b->next)
        if (strcmp(b->name, name) == 0) {
            b->again = 1;
            barrier_take_cred(b, r); /* the latest writer's, in case an older key was revoked */
            return;
        }
    barrier_t *b = calloc(1, sizeof(*b));
    if (!b) {
        inval_settle_later(c, name);
        return;
    }
    b->c = c;
    snprintf(b->name, sizeof(b->name), "%s", name);
    for (size_t i = 0; i < nbumped && i < 2; i++) {
        snprintf(b->marks[i], sizeof(b->marks[i]), "%s", bumped[i]);
        unsettled_change(c->sh->unsettled, bumped[i], 1);
        b->nmarks++;
    }
    barrier_take_cred(b, r);
    b->next = c->barriers;
    c->barriers = b;
    barrier_start(b);
}

void barriers_free(gw_cache_t *c)
{
    /* The proxy is freed after this and drops the barriers' transfers without calling back. */
    while (c->barriers)
        barrier_unlink(c->barriers);
}
