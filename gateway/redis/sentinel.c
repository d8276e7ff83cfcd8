/* Redis Sentinel discovery; see sentinel.h. Two hiredis connections at most: a short-lived one
 * per question, and the subscription. Each ends through one path that clears our pointer first,
 * so hiredis's teardown callbacks find nothing of ours to touch. */
#include "gateway/redis/sentinel.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/stat.h"
#include "common/text.h"
#include "gateway/core/timer.h"
#include "gateway/redis/loop.h"
#include "gateway/redis/reply.h"

#define SENTINEL_MAX_REPLY 4096u /* an address, a subscription message */
#define BACKOFF_MIN_MS     100u

/* One connection to a Sentinel: the question, or the subscription. */
typedef struct sconn {
    gw_sentinel_t *s;
    redisAsyncContext *ac;
    struct event *timer; /* deadline while ac is set, else the delay before the next try */
    size_t idx;          /* which Sentinel */
    int is_sub;
    int result; /* question: 1 answered, 0 not (yet); subscription: 1 subscribed */
    gw_backoff_t backoff;
    size_t fails; /* in a row */
    gw_reply_bound_t rb;
} sconn_t;

struct gw_sentinel {
    struct event_base *base;
    gw_hostport_t *sentinels;
    size_t n;
    char name[64];
    char password[256];
    uint32_t timeout_ms, refresh_ms, backoff_max_ms;
    gw_sentinel_master_cb on_master;
    void *arg;
    gw_hostport_t master;
    int known;
    sconn_t q, sub;
    gw_stat_t queries, failures, switches, subscribed;
};

static void sconn_start(sconn_t *c);

static void timer_ms(struct event *ev, uint64_t ms)
{
    gw_timer_add_ms(ev, ms);
}

static const char *sname(const gw_sentinel_t *s, size_t idx, char *buf, size_t len)
{
    gw_hostport_format(&s->sentinels[idx], buf, len);
    return buf;
}

static void set_master(gw_sentinel_t *s, const gw_hostport_t *hp, const char *how)
{
    if (s->known && strcmp(s->master.host, hp->host) == 0 && s->master.port == hp->port) return;
    char addr[GW_SENTINEL_HOST_MAX + 8];
    gw_hostport_format(hp, addr, sizeof(addr));
    if (s->known)
        gw_log_warn("redis: Sentinel says master %s moved to %s (%s)", s->name, addr, how);
    else
        gw_log_info("redis: Sentinel says master %s is at %s", s->name, addr);
    s->master = *hp;
    s->known = 1;
    gw_stat_inc(&s->switches);
    s->on_master(s->arg, &s->master);
}

/* The connection is over (ac already NULL or never made): when to try again. */
static void sconn_over(sconn_t *c)
{
    gw_sentinel_t *s = c->s;
    uint64_t delay;
    if (c->is_sub) {
        if (c->result) gw_log_warn("redis: lost the Sentinel subscription; asking again");
        c->result = 0;
        atomic_store_explicit(&s->subscribed, 0, memory_order_relaxed);
        c->idx = (c->idx + 1) % s->n;
        delay = gw_backoff_next(&c->backoff);
        gw_sentinel_recheck(s); /* what was published meanwhile is lost */
    } else if (c->result) {
        c->fails = 0;
        gw_backoff_reset(&c->backoff);
        delay = s->refresh_ms;
    } else {
        gw_stat_inc(&s->failures);
        c->idx = (c->idx + 1) % s->n;
        delay = 0;
        if (++c->fails % s->n == 0) { /* a whole round: wait before the next */
            delay = gw_backoff_next(&c->backoff);
            if (c->fails == s->n)
                gw_log_warn("redis: no Sentinel knows master %s; retrying with backoff", s->name);
        }
    }
    timer_ms(c->timer, delay);
}

/* Frees ac now (not from inside its callbacks: hiredis runs them with NULL, they ignore us). */
static void sconn_close(sconn_t *c)
{
    redisAsyncContext *ac = c->ac;
    if (!ac) return;
    c->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    sconn_t *c = arg;
    (void)fd, (void)what;
    if (!c->ac) {
        sconn_start(c);
        return;
    }
    if (c->is_sub && c->result) return; /* subscribed: no deadline */
    char b[96];
    gw_log_debug("redis: Sentinel %s: no answer within %u ms", sname(c->s, c->idx, b, sizeof(b)),
                 c->s->timeout_ms);
    sconn_close(c);
    c->result = 0;
    sconn_over(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    sconn_t *c = ac->data;
    if (!c || c->ac != ac || status == REDIS_OK) return;
    c->ac = NULL; /* hiredis frees it */
    c->result = 0;
    sconn_over(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    sconn_t *c = ac->data;
    (void)status;
    if (!c || c->ac != ac) return;
    c->ac = NULL;
    evtimer_del(c->timer);
    sconn_over(c);
}

static void on_read_done(redisAsyncContext *ac)
{
    sconn_t *c = ac->data;
    if (!c || c->ac != ac || !gw_reply_bound_check(&c->rb, ac->c.reader)) return;
    char b[96];
    gw_log_warn("redis: Sentinel %s: %s", sname(c->s, c->idx, b, sizeof(b)), c->rb.why);
    sconn_close(c);
    evtimer_del(c->timer);
    c->result = 0;
    sconn_over(c);
}

/* ["host", "port"] names the master; nil: this Sentinel does not know it. */
static void on_addr(redisAsyncContext *ac, void *reply, void *privdata)
{
    sconn_t *c = privdata;
    redisReply *rep = reply;
    if (!rep || c->ac != ac) return;
    gw_hostport_t hp;
    char text[GW_SENTINEL_HOST_MAX + 16], err[128], b[96];
    c->result = 0;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING &&
        rep->element[0]->len < GW_SENTINEL_HOST_MAX && rep->element[1]->len <= 5) {
        const char *h = rep->element[0]->str;
        snprintf(text, sizeof(text), strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, rep->element[1]->str);
        size_t n;
        if (gw_sentinel_parse_list(text, &hp, 1, &n, err, sizeof(err)) == 0)
            c->result = 1;
        else
            gw_log_warn("redis: Sentinel %s gave a bad address for %s: %s",
                        sname(c->s, c->idx, b, sizeof(b)), c->s->name, err);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        gw_log_warn("redis: Sentinel %s: %.*s", sname(c->s, c->idx, b, sizeof(b)), (int)rep->len,
                    rep->str);
    }
    redisAsyncDisconnect(ac); /* deferred by hiredis until this callback returns */
    if (c->result) set_master(c->s, &hp, "asked");
}

static int is_str(const redisReply *e, const char *s)
{
    return e->type == REDIS_REPLY_STRING && e->len == strlen(s) && strcasecmp(e->str, s) == 0;
}

static void on_sub(redisAsyncContext *ac, void *reply, void *privdata)
{
    sconn_t *c = privdata;
    redisReply *rep = reply;
    if (!rep || c->ac != ac) return;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) return;
    if (is_str(rep->element[0], "subscribe") && !c->result) {
        c->result = 1;
        gw_backoff_reset(&c->backoff);
        evtimer_del(c->timer);
        atomic_store_explicit(&c->s->subscribed, 1, memory_order_relaxed);
        gw_sentinel_recheck(c->s); /* anything before the subscription was missed */
        return;
    }
    const redisReply *p = rep->element[2];
    if (!is_str(rep->element[0], "message") || !is_str(rep->element[1], "+switch-master") ||
        p->type != REDIS_REPLY_STRING)
        return;
    gw_hostport_t to;
    int rc = gw_sentinel_parse_switch(p->str, p->len, c->s->name, &to);
    if (rc == 1)
        set_master(c->s, &to, "+switch-master");
    else if (rc < 0)
        gw_log_warn("redis: ignoring a malformed +switch-master message (%zu bytes)", p->len);
}

static void sconn_start(sconn_t *c)
{
    gw_sentinel_t *s = c->s;
    const gw_hostport_t *h = &s->sentinels[c->idx];
    redisAsyncContext *ac = redisAsyncConnect(h->host, h->port);
    c->result = 0;
    if (!ac || ac->err || gw_redis_loop_attach(ac, s->base, on_read_done) != REDIS_OK) {
        if (ac) redisAsyncFree(ac);
        sconn_over(c);
        return;
    }
    gw_reply_bound_attach(&c->rb, ac->c.reader, SENTINEL_MAX_REPLY, c->is_sub,
                          c->is_sub ? NULL : ac);
    ac->data = c;
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    int rc = REDIS_OK;
    if (s->password[0]) rc = redisAsyncCommand(ac, NULL, NULL, "AUTH %s", s->password);
    if (rc == REDIS_OK && c->is_sub)
        rc = redisAsyncCommand(ac, on_sub, c, "SUBSCRIBE +switch-master");
    else if (rc == REDIS_OK) {
        gw_stat_inc(&s->queries);
        rc = redisAsyncCommand(ac, on_addr, c, "SENTINEL get-master-addr-by-name %s", s->name);
    }
    if (rc != REDIS_OK) {
        sconn_close(c);
        sconn_over(c);
        return;
    }
    timer_ms(c->timer, s->timeout_ms);
}

void gw_sentinel_recheck(gw_sentinel_t *s)
{
    if (!s->q.ac) timer_ms(s->q.timer, 0); /* a question in flight answers it already */
}

int gw_sentinel_master(const gw_sentinel_t *s, gw_hostport_t *out)
{
    if (s->known) *out = s->master;
    return s->known;
}

void gw_sentinel_get_stats(const gw_sentinel_t *s, gw_sentinel_stats_t *out)
{
    out->queries = gw_stat_get(&s->queries);
    out->failures = gw_stat_get(&s->failures);
    out->switches = gw_stat_get(&s->switches);
    out->subscribed = (int)gw_stat_get(&s->subscribed);
}

static int sentinel_check(const gw_sentinel_opts_t *o, char *err, size_t errlen)
{
    unsigned char buf[16];
    if (!o->sentinels || o->n == 0) return gw_errf(err, errlen, "redis: no Sentinel given");
    if (!o->master_name || !gw_sentinel_name_ok(o->master_name))
        return gw_errf(err, errlen, "redis: bad Sentinel master name");
    if (o->password && strlen(o->password) >= 256)
        return gw_errf(err, errlen, "redis: Sentinel password too long");
    for (size_t i = 0; i < o->n; i++)
        if (inet_pton(AF_INET, o->sentinels[i].host, buf) != 1 &&
            inet_pton(AF_INET6, o->sentinels[i].host, buf) != 1)
            return gw_errf(err, errlen, "redis: Sentinel \"%s\" is not an IP address",
                           o->sentinels[i].host);
    return 0;
}

gw_sentinel_t *gw_sentinel_new(struct event_base *base, const gw_sentinel_opts_t *o,
                               gw_sentinel_master_cb on_master, void *arg, char *err, size_t errlen)
{
    if (sentinel_check(o, err, errlen) != 0) return NULL;
    gw_sentinel_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->sentinels = calloc(o->n, sizeof(*s->sentinels)))) goto oom;
    memcpy(s->sentinels, o->sentinels, o->n * sizeof(*s->sentinels));
    s->base = base;
    s->n = o->n;
    snprintf(s->name, sizeof(s->name), "%s", o->master_name);
    snprintf(s->password, sizeof(s->password), "%s", o->password ? o->password : "");
    s->timeout_ms = o->timeout_ms ? o->timeout_ms : 500;
    s->refresh_ms = o->refresh_ms ? o->refresh_ms : 10000;
    s->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 5000;
    s->on_master = on_master;
    s->arg = arg;
    sconn_t *cs[2] = {&s->q, &s->sub};
    for (int i = 0; i < 2; i++) {
        cs[i]->s = s;
        cs[i]->is_sub = i;
        gw_backoff_init(&cs[i]->backoff, BACKOFF_MIN_MS, s->backoff_max_ms,
                        (uint32_t)(uintptr_t)cs[i] ^ (uint32_t)gw_mono_us());
        if (!(cs[i]->timer = evtimer_new(base, on_timer, cs[i]))) goto oom;
        timer_ms(cs[i]->timer, 0);
    }
    return s;
oom:
    gw_sentinel_free(s);
    gw_errf(err, errlen, "redis: out of memory");
    return NULL;
}

void gw_sentinel_free(gw_sentinel_t *s)
{
    if (!s) return;
    sconn_t *cs[2] = {&s->q, &s->sub};
    for (int i = 0; i < 2; i++) {
        sconn_close(cs[i]);
        if (cs[i]->timer) event_free(cs[i]->timer);
    }
    free(s->sentinels);
    free(s);
}
