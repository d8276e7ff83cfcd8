/* Per-worker, fail-open async Redis client on hiredis 0.14.1 + libevent. hiredis 0.14.1 has no
 * async timeouts, so connect, handshake and command deadlines are our own libevent timers. */
#include "gateway/redis/client_int.h"

static void conn_start(rconn_t *c);

/* ---- connection lifecycle ----------------------------------------------------------------- */

static const char *conn_label(const rconn_t *c)
{
    return c->is_sub ? "redis pubsub" : "redis";
}

int redis_conn_ready(const rconn_t *c)
{
    return c->ac && c->state == CS_UP && !c->closing;
}

/* After any change of state, ac or closing: what other threads see of readiness. */
static void conn_publish(rconn_t *c)
{
    gw_stat_t *g = c->is_sub ? &c->r->up_sub : &c->r->up_cmd;
    atomic_store_explicit(g, (uint64_t)redis_conn_ready(c), memory_order_relaxed);
}

void redis_timer_in(struct event *ev, uint64_t us)
{
    struct timeval tv = {.tv_sec = (time_t)(us / 1000000u),
                         .tv_usec = (suseconds_t)(us % 1000000u)};
    evtimer_add(ev, &tv);
}

static uint64_t rng_next(gw_redis_t *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545F4914F6CDD1Dull;
}

/* The connection is gone (ac already NULL): log once, retry after backoff with jitter. */
static void conn_failed(rconn_t *c, int was_up, const char *why)
{
    gw_redis_t *r = c->r;
    c->state = CS_WAIT;
    conn_publish(c);
    c->closing = c->drop = 0;
    conn_publish(c);
    if (was_up && !c->is_sub) gw_stat_inc(&r->st.disconnects);
    if (r->dname) gw_dns_name_failed(r->dname); /* maybe it moved: ask again (bounded) */
    if (c->rb.bad) { /* one warn line per BAD_LOG_INTERVAL_US, however often Redis does it */
        uint64_t now = gw_mono_us();
        gw_stat_inc(&r->st.bad_replies);
        c->rb.bad = 0;
        c->suspect = 1;
        if (!r->bad_logged_us || now - r->bad_logged_us >= BAD_LOG_INTERVAL_US) {
            char more[64] = "";
            if (r->bad_unlogged)
                snprintf(more, sizeof(more), " (%u more since the last such line)",
                         r->bad_unlogged);
            gw_log_warn("%s %s: %s; connection dropped, retrying with backoff%s", conn_label(c),
                        r->name, why, more);
            r->bad_logged_us = now;
            r->bad_unlogged = 0;
        } else {
            r->bad_unlogged++;
        }
        c->logged_down = 1;
    }
    if (!c->logged_down) {
        gw_log_warn("%s %s down: %s (retrying with backoff)", conn_label(c), r->name, why);
        c->logged_down = 1;
    }
    uint64_t b = c->backoff_ms, delay_ms = b / 2 + rng_next(r) % (b - b / 2 + 1);
    c->backoff_ms = b * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : (uint32_t)(b * 2);
    redis_timer_in(c->timer, delay_ms * 1000u);
}

/* on_resync runs once both connections are up after either was down, so that the state the
 * user refetches on the command connection can be fetched, and nothing missed is missed twice. */
static void maybe_resync(gw_redis_t *r)
{
    if (!r->resync_pending || !redis_conn_ready(&r->cmd) || !redis_conn_ready(&r->sub)) return;
    r->resync_pending = 0;
    if (r->on_resync) r->on_resync(r->sub_arg);
}

static void conn_set_up(rconn_t *c)
{
    gw_redis_t *r = c->r;
    evtimer_del(c->timer);
    c->state = CS_UP;
    conn_publish(c);
    if (!c->suspect) c->backoff_ms = r->o.backoff_min_ms;
    if (!c->is_sub) {
        r->consec_timeouts = 0;
        if (c->ever_up) gw_stat_inc(&r->st.reconnects);
    }
    c->ever_up = 1;
    c->logged_down = 0;
    gw_log_info("%s %s up", conn_label(c), r->name);
    if (r->channel) {
        r->resync_pending = 1;
        maybe_resync(r);
    }
}

/* Frees ac now. Never from inside a hiredis callback: hiredis runs every outstanding reply
 * callback with NULL right here (users hear GW_REDIS_DOWN), and the disconnect callback, which
 * ignores us because ac->data is NULL. */
void redis_conn_drop(rconn_t *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    int was_up = c->state == CS_UP;
    char reason[sizeof(c->why)];
    snprintf(reason, sizeof(reason), "%s", why);
    c->ac = NULL;
    c->state = CS_WAIT;
    conn_publish(c);
    ac->data = NULL;
    redisAsyncFree(ac);
    conn_failed(c, was_up, reason);
}

/* From inside a hiredis callback: refuse commands now, drop from the timer (next iteration). */
static void request_drop(rconn_t *c, const char *why, size_t len)
{
    if (c->drop) return;
    c->drop = c->closing = 1;
    conn_publish(c);
    snprintf(c->why, sizeof(c->why), "%.*s", (int)len, why);
    redis_timer_in(c->timer, 0);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    rconn_t *c = arg;
    char why[96];
    if (!c->ac) {
        conn_start(c);
    } else if (c->drop) {
        redis_conn_drop(c, c->why);
    } else if (c->state != CS_UP) {
        snprintf(why, sizeof(why), "no answer within %u ms of connecting",
                 c->r->o.connect_timeout_ms);
        redis_conn_drop(c, why);
    }
}

/* gw_redis_loop's after_read: not inside hiredis, so the connection can be dropped right here. */
static void on_read_done(redisAsyncContext *ac)
{
    rconn_t *c = ac->data;
    if (c && c->ac == ac && !c->drop && gw_reply_bound_check(&c->rb, ac->c.reader))
        redis_conn_drop(c, c->rb.why);
}

/* Connect failed: hiredis frees ac after this returns, without a disconnect callback. */
static void on_connect(const redisAsyncContext *ac, int status)
{
    rconn_t *c = ac->data;
    if (!c || c->ac != ac || status == REDIS_OK) return; /* up once the handshake answers */
    c->ac = NULL;
    conn_failed(c, 0, ac->c.errstr[0] ? ac->c.errstr : "connect failed");
}

/* An established connection ended (error or EOF): pending replies already ran with NULL;
 * hiredis frees ac after this returns. */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rconn_t *c = ac->data;
    if (!c || c->ac != ac) return;
    c->ac = NULL;
    gw_reply_bound_error(&c->rb, ac->c.err, ac->c.errstr);
    const char *why = c->rb.bad         ? c->rb.why
                      : c->drop         ? c->why
                      : ac->c.errstr[0] ? ac->c.errstr
                                        : "connection closed";
    conn_failed(c, c->state == CS_UP, why);
}

static void on_hs_step(redisAsyncContext *ac, void *reply, void *privdata)
{
    rconn_t *c = privdata;
    redisReply *rep = reply;
    if (rep && c->ac == ac && rep->type == REDIS_REPLY_ERROR) request_drop(c, rep->str, rep->len);
}

/* The PING that ends the command connection's handshake. */
static void on_hs_ready(redisAsyncContext *ac, void *reply, void *privdata)
{
    rconn_t *c = privdata;
    redisReply *rep = reply;
    if (!rep || c->ac != ac || c->drop) return;
    if (rep->type == REDIS_REPLY_ERROR) {
        request_drop(c, rep->str, rep->len);
    } else if (c->r->sentinel &&
               !(rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
                 rep->element[0]->type == REDIS_REPLY_STRING && rep->element[0]->len == 6 &&
                 memcmp(rep->element[0]->str, "master", 6) == 0)) {
        static const char why[] = "ROLE: not a master (asking Sentinel again)";
        request_drop(c, why, sizeof(why) - 1);
        gw_sentinel_recheck(c->r->sentinel);
    } else {
        conn_set_up(c);
    }
}

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata);

/* Pipelined right behind the connect: hiredis sends it once the socket is writable. The sub
 * connection sends only AUTH and SUBSCRIBE: hiredis 0.14.1 misroutes other replies in
 * subscribed mode. */
static int conn_handshake(rconn_t *c)
{
    gw_redis_t *r = c->r;
    redisAsyncContext *ac = c->ac;
    if (r->o.password[0] &&
        redisAsyncCommand(ac, on_hs_step, c, "AUTH %s", r->o.password) != REDIS_OK)
        return -1;
    if (c->is_sub) {
        const char *argv[2] = {"SUBSCRIBE", r->channel};
        return redisAsyncCommandArgv(ac, on_sub_reply, c, 2, argv, NULL) == REDIS_OK ? 0 : -1;
    }
    if (r->o.db > 0 && redisAsyncCommand(ac, on_hs_step, c, "SELECT %d", r->o.db) != REDIS_OK)
        return -1;
    /* Under Sentinel, the address may be a master demoted since: ROLE says (Sentinel's client
     * guidelines). */
    const char *last = r->sentinel ? "ROLE" : "PING";
    return redisAsyncCommand(ac, on_hs_ready, c, last) == REDIS_OK ? 0 : -1;
}

static void set_keepalive(int fd)
{
    int on = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;
    /* Best effort, unlike redisKeepAlive(), which would put the context in error. */
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* Non-blocking connect to an IP literal (Sentinel's master, or the host name's current
 * address); never from inside a callback of this connection. */
static void conn_start(rconn_t *c)
{
    gw_redis_t *r = c->r;
    char why[300], host[sizeof(r->o.host)];
    int port = r->o.port;
    gw_hostport_t m;
    snprintf(host, sizeof(host), "%s", r->o.host);
    if (r->sentinel) {
        if (!gw_sentinel_master(r->sentinel, &m)) {
            conn_failed(c, 0, "no master address from Sentinel yet");
            return;
        }
        snprintf(r->o.host, sizeof(r->o.host), "%s", m.host);
        snprintf(host, sizeof(host), "%s", m.host);
        port = r->o.port = m.port;
    } else if (r->dname && !gw_dns_name_is_literal(r->dname)) {
        int got = gw_redis_target_pick(r->dname, host, sizeof(host), &port, c->addr,
                                       sizeof(c->addr), why, sizeof(why));
        if (got == 1) { /* the first answer is coming: on_name starts us */
            c->wait_dns = 1;
            return;
        }
        if (got < 0) {
            conn_failed(c, 0, why);
            return;
        }
    }
    c->wait_dns = 0;
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (!ac) {
        conn_failed(c, 0, "out of memory");
        return;
    }
    if (ac->err) { /* e.g. ECONNREFUSED straight away on loopback */
        snprintf(why, sizeof(why), "%s", ac->errstr ? ac->errstr : "connect failed");
        redisAsyncFree(ac);
        conn_failed(c, 0, why);
        return;
    }
    gw_reply_bound_attach(&c->rb, ac->c.reader, r->o.max_reply_bytes, c->is_sub,
                          c->is_sub ? NULL : ac);
    c->told = 0;
    if (gw_redis_loop_attach(ac, r->base, on_read_done) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_failed(c, 0, "could not attach to the event loop");
        return;
    }
    ac->data = c;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    set_keepalive(ac->c.fd);
    c->ac = ac;
    c->state = CS_CONNECTING;
    conn_publish(c);
    c->closing = c->drop = 0;
    conn_publish(c);
    if (conn_handshake(c) != 0) {
        redis_conn_drop(c, "could not queue the handshake");
        return;
    }
    redis_timer_in(c->timer, (uint64_t)r->o.connect_timeout_ms * 1000u);
}

/* ---- pub/sub ------------------------------------------------------------------------------ */

static int reply_is(const redisReply *e, const char *s)
{
    return e->type == REDIS_REPLY_STRING && strlen(s) == e->len && strcasecmp(e->str, s) == 0;
}

/* Every reply for the channel: the "subscribe" confirmation, then each "message". */
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    rconn_t *c = privdata;
    gw_redis_t *r = c->r;
    redisReply *rep = reply;
    if (!rep || c->ac != ac || c->drop) return;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 3) {
        redisReply *payload = rep->element[2];
        /* hiredis hands us messages for other channels too (its callback left from the reply
         * before), when a Redis sends them. */
        const redisReply *ch = rep->element[1];
        int ours = ch->type == REDIS_REPLY_STRING && ch->len == strlen(r->channel) &&
                   memcmp(ch->str, r->channel, ch->len) == 0;
        if (reply_is(rep->element[0], "message") && ours && payload->type == REDIS_REPLY_STRING) {
            if (c->suspect) { /* a good reply after a bad one: back to the usual backoff */
                c->suspect = 0;
                c->backoff_ms = r->o.backoff_min_ms;
            }
            r->on_message(r->sub_arg, payload->str, payload->len);
        } else if (reply_is(rep->element[0], "subscribe") && c->state != CS_UP) {
            conn_set_up(c); /* once: a repeated confirmation would resync (flush L1) again */
        }
    } else if (rep->type == REDIS_REPLY_ERROR) {
        request_drop(c, rep->str, rep->len);
    }
}

int gw_redis_subscribe(gw_redis_t *r, const char *channel, gw_redis_message_cb on_message,
                       gw_redis_resync_cb on_resync, void *arg)
{
    if (r->channel || !channel || !on_message) return -1;
    r->channel = strdup(channel);
    if (!r->channel) return -1;
    r->on_message = on_message;
    r->on_resync = on_resync;
    r->sub_arg = arg;
    conn_start(&r->sub);
    return 0;
}

/* ---- object ------------------------------------------------------------------------------- */

static int opts_check(gw_redis_opts_t *o, char *err, size_t errlen)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (o->nsentinels > GW_SENTINEL_MAX) return gw_errf(err, errlen, "redis: too many Sentinels");
    if (o->nsentinels) snprintf(o->host, sizeof(o->host), "127.0.0.1"); /* until one answers */
    if (!o->host[0]) snprintf(o->host, sizeof(o->host), "127.0.0.1");
    if (memchr(o->host, '\0', sizeof(o->host)) == NULL)
        return gw_errf(err, errlen, "redis: host is not NUL-terminated");
    if (!o->dns && inet_pton(AF_INET, o->host, buf) != 1 &&
        inet_pton(AF_INET6, o->host, buf) != 1) /* a name needs the loop's resolver */
        return gw_errf(err, errlen, "redis: host \"%s\" is not an IP address", o->host);
    if (o->port == 0) o->port = 6379;
    if (o->port < 1 || o->port > 65535)
        return gw_errf(err, errlen, "redis: port %d out of range 1-65535", o->port);
    if (memchr(o->password, '\0', sizeof(o->password)) == NULL)
        return gw_errf(err, errlen, "redis: password is not NUL-terminated");
    if (o->db < 0) return gw_errf(err, errlen, "redis: database %d is negative", o->db);
    o->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 200;
    o->command_timeout_ms = o->command_timeout_ms ? o->command_timeout_ms : 5;
    o->max_pending = o->max_pending ? o->max_pending : 1024;
    o->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : 100;
    o->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 5000;
    o->keepalive_ms = o->keepalive_ms ? o->keepalive_ms : REDIS_KEEPALIVE_MS;
    o->max_reply_bytes = o->max_reply_bytes ? o->max_reply_bytes : GW_REDIS_MAX_REPLY_DEFAULT;
    if (o->backoff_max_ms < o->backoff_min_ms) o->backoff_max_ms = o->backoff_min_ms;
    return 0;
}

static void conn_init(gw_redis_t *r, rconn_t *c, int is_sub)
{
    c->r = r;
    c->is_sub = is_sub;
    c->backoff_ms = r->o.backoff_min_ms;
    c->timer = evtimer_new(r->base, on_conn_timer, c);
}

/* Redis closes clients idle longer than its `timeout` (the deployment sets 300 s); a lost
 * command connection would make the cache resynchronise (drop its whole L1) for nothing. A
 * PING on an idle connection keeps it. Subscribed connections are exempt from `timeout`. */
static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    gw_redis_t *r = arg;
    if (redis_conn_ready(&r->cmd) && gw_mono_us() - r->last_cmd_us >= r->o.keepalive_ms * 1000ull) {
        const char *argv[] = {"PING"};
        gw_redis_send(r, 1, argv, NULL);
    }
}

/* Sentinel moved the master (or named it first): connections elsewhere go, waiting ones go now. */
static void on_master(void *arg, const gw_hostport_t *m)
{
    gw_redis_t *r = arg;
    rconn_t *cs[2] = {&r->cmd, &r->sub};
    char why[sizeof(r->cmd.why)], addr[GW_SENTINEL_HOST_MAX + 8];
    gw_hostport_format(m, addr, sizeof(addr));
    snprintf(why, sizeof(why), "Sentinel: the master is now %s", addr);
    for (int i = 0; i < 2; i++) {
        rconn_t *c = cs[i];
        if (c->is_sub && !r->channel) continue;
        if (c->ac && (strcmp(r->o.host, m->host) != 0 || r->o.port != m->port)) {
            request_drop(c, why, strlen(why));
        } else if (!c->ac) {
            c->backoff_ms = r->o.backoff_min_ms;
            redis_timer_in(c->timer, 0);
        }
    }
}

/* A resolution of the host name ended: connections to an address it no longer has go, and
 * the ones waiting for a first answer start. */
static void on_name(void *arg, int changed)
{
    gw_redis_t *r = arg;
    rconn_t *cs[2] = {&r->cmd, &r->sub};
    char why[640], set[256];
    gw_dns_name_describe(r->dname, set, sizeof(set));
    for (int i = 0; i < 2; i++) {
        rconn_t *c = cs[i];
        if (c->is_sub && !r->channel) continue;
        if (c->ac && changed && !gw_redis_target_current(r->dname, c->addr)) {
            snprintf(why, sizeof(why), "host %s moved from %s to %s", r->o.host, c->addr, set);
            request_drop(c, why, strlen(why));
        } else if (!c->ac && c->wait_dns) {
            c->wait_dns = 0;
            redis_timer_in(c->timer, 0);
        }
    }
}

gw_redis_t *gw_redis_new(struct event_base *base, const gw_redis_opts_t *opts, char *err,
                         size_t errlen)
{
    gw_redis_opts_t o = *opts;
    if (opts_check(&o, err, errlen) != 0) return NULL;
    gw_redis_t *r = calloc(1, sizeof(*r));
    if (!r) goto fail;
    r->base = base;
    r->o = o;
    snprintf(r->name, sizeof(r->name), strchr(o.host, ':') ? "[%s]:%d" : "%s:%d", o.host, o.port);
    r->rng = (gw_mono_us() ^ (uint64_t)(uintptr_t)r) | 1u;
    conn_init(r, &r->cmd, 0);
    conn_init(r, &r->sub, 1);
    r->deadline = evtimer_new(base, redis_on_deadline, r);
    r->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, r);
    if (!r->cmd.timer || !r->sub.timer || !r->deadline || !r->keepalive) goto fail;
    if (o.nsentinels) {
        gw_sentinel_opts_t so = {.sentinels = o.sentinels,
                                 .n = o.nsentinels,
                                 .master_name = o.master_name,
                                 .password = o.sentinel_password,
                                 .timeout_ms = o.connect_timeout_ms,
                                 .backoff_max_ms = o.backoff_max_ms};
        snprintf(r->name, sizeof(r->name), "master %s", o.master_name);
        r->sentinel = gw_sentinel_new(base, &so, on_master, r, err, errlen);
        if (!r->sentinel) {
            gw_redis_free(r);
            return NULL;
        }
    }
    if (!o.nsentinels) {
        r->dname = gw_dns_name_new(o.dns, "redis", o.host, o.port, o.dns_counts, on_name, r);
        if (!r->dname) goto fail;
    }
    gw_timer_add_ms(r->keepalive, r->o.keepalive_ms);
    conn_start(&r->cmd);
    return r;
fail:
    gw_redis_free(r);
    gw_errf(err, errlen, "redis: out of memory");
    return NULL;
}

void gw_redis_free(gw_redis_t *r)
{
    if (!r) return;
    gw_sentinel_free(r->sentinel);
    r->sentinel = NULL;
    rconn_t *conns[2] = {&r->cmd, &r->sub};
    for (int i = 0; i < 2; i++) {
        rconn_t *c = conns[i];
        redisAsyncContext *ac = c->ac;
        c->state = CS_WAIT;
        conn_publish(c);
        c->ac = NULL;
        if (ac) {
            ac->data = NULL;
            redisAsyncFree(ac); /* outstanding commands hear GW_REDIS_DOWN here */
        }
        if (c->timer) event_free(c->timer);
    }
    if (r->deadline) event_free(r->deadline);
    if (r->keepalive) event_free(r->keepalive);
    gw_dns_name_free(r->dname);
    free(r->channel);
    free(r);
}

int gw_redis_up(const gw_redis_t *r)
{
    return redis_conn_ready(&r->cmd);
}

void gw_redis_get_stats(const gw_redis_t *r, gw_redis_stats_t *out)
{
    const rstats_t *s = &r->st;
    memset(out, 0, sizeof(*out));
    out->commands = gw_stat_get(&s->commands);
    out->errors = gw_stat_get(&s->errors);
    out->timeouts = gw_stat_get(&s->timeouts);
    out->refused = gw_stat_get(&s->refused);
    out->reconnects = gw_stat_get(&s->reconnects);
    out->disconnects = gw_stat_get(&s->disconnects);
    out->bad_replies = gw_stat_get(&s->bad_replies);
    out->latency_us_sum = gw_stat_get(&s->latency_us_sum);
    out->latency_count = gw_stat_get(&s->latency_count);
    out->up = (int)gw_stat_get(&r->up_cmd);
    out->sub_up = (int)gw_stat_get(&r->up_sub);
    if (r->sentinel) {
        gw_sentinel_stats_t ss;
        gw_sentinel_get_stats(r->sentinel, &ss);
        out->sentinel = 1;
        out->sentinel_switches = ss.switches;
        out->sentinel_queries = ss.queries;
        out->sentinel_failures = ss.failures;
        out->sentinel_subscribed = ss.subscribed;
    }
}

void gw_redis_address(const gw_redis_t *r, char *buf, size_t len, const char **dns_error)
{
    if (len) buf[0] = '\0';
    if (dns_error) *dns_error = r->dname ? gw_dns_name_error(r->dname) : "";
    if (r->dname) gw_dns_name_describe(r->dname, buf, len);
}

int gw_redis_sentinel_master(const gw_redis_t *r, char *buf, size_t len)
{
    gw_hostport_t m;
    if (!r->sentinel) return -1;
    if (!gw_sentinel_master(r->sentinel, &m)) return 0;
    gw_hostport_format(&m, buf, len);
    return 1;
}
