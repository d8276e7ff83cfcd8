/* The Redis client's commands: tokens in issue order, replies delivered (bounded, see
 * client.h), per-command deadlines and the stalled-connection rule. */
#include "gateway/redis/client_int.h"

/* ---- commands ----------------------------------------------------------------------------- */

static void tok_unlink(gw_redis_t *r, tok_t *t)
{
    if (r->live == t) r->live = t->next;
    if (t->prev)
        t->prev->next = t->next;
    else
        r->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        r->tail = t->prev;
}

static void deliver_array(gw_redis_t *r, gw_redis_array_cb cb, void *arg, const redisReply *rep)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        gw_stat_inc(&r->st.errors);
        cb(arg, rep ? GW_REDIS_ERROR : GW_REDIS_DOWN, NULL, 0);
        return;
    }
    gw_redis_elem_t small[16] = {{0}}, *el = small;
    if (rep->elements > 16 && !(el = calloc(rep->elements, sizeof(*el)))) {
        cb(arg, GW_REDIS_ERROR, NULL, 0);
        return;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_NIL)
            el[i] = (gw_redis_elem_t){GW_REDIS_NIL, NULL, 0};
        else if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
            el[i] = (gw_redis_elem_t){GW_REDIS_OK, e->str, e->len};
        else if (e->type == REDIS_REPLY_ERROR)
            el[i] = (gw_redis_elem_t){GW_REDIS_ERROR, e->str, e->len};
        else
            el[i] = (gw_redis_elem_t){GW_REDIS_OK, NULL, 0};
    }
    cb(arg, GW_REDIS_OK, el, rep->elements);
    if (el != small) free(el);
}

static void deliver(gw_redis_t *r, gw_redis_cb cb, void *arg, const redisReply *rep)
{
    if (!rep) {
        gw_stat_inc(&r->st.errors);
        cb(arg, GW_REDIS_DOWN, NULL, 0, 0);
        return;
    }
    switch (rep->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        cb(arg, GW_REDIS_OK, rep->str, rep->len, 0);
        break;
    case REDIS_REPLY_INTEGER:
        cb(arg, GW_REDIS_OK, NULL, 0, rep->integer);
        break;
    case REDIS_REPLY_ARRAY:
        cb(arg, GW_REDIS_OK, NULL, 0, (long long)rep->elements);
        break;
    case REDIS_REPLY_NIL:
        cb(arg, GW_REDIS_NIL, NULL, 0, 0);
        break;
    default:
        gw_stat_inc(&r->st.errors);
        cb(arg, GW_REDIS_ERROR, rep->str, rep->len, 0);
    }
}

/* The first command to hear of a teardown caused by a bad reply is the one that reply answered
 * (replies come in order): it hears GW_REDIS_ERROR and why; the others GW_REDIS_DOWN. */
static void tell_bad(gw_redis_t *r, const tok_t *t)
{
    const char *why = r->cmd.rb.why;
    gw_stat_inc(&r->st.errors);
    if (t->cb)
        t->cb(t->arg, GW_REDIS_ERROR, why, strlen(why), 0);
    else if (t->acb)
        t->acb(t->arg, GW_REDIS_ERROR, NULL, 0);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    tok_t *t = privdata;
    gw_redis_t *r = t->r;
    rconn_t *c = &r->cmd;
    int bad = 0;
    r->npending--;
    tok_unlink(r, t);
    if (!reply) {
        c->closing = 1; /* teardown: commands issued from the callback are refused */
        gw_reply_bound_error(&c->rb, ac->c.err, ac->c.errstr);
        if ((bad = c->rb.bad && !c->told)) c->told = 1;
    } else if (c->suspect) { /* a good reply after a bad one: back to the usual backoff */
        c->suspect = 0;
        c->backoff_ms = r->o.backoff_min_ms;
    }
    if (!t->delivered) {
        if (reply) {
            r->consec_timeouts = 0;
            gw_stat_add(&r->st.latency_us_sum, gw_mono_us() - t->start_us);
            gw_stat_inc(&r->st.latency_count);
        }
        if (bad)
            tell_bad(r, t);
        else if (t->cb)
            deliver(r, t->cb, t->arg, reply);
        else if (t->acb)
            deliver_array(r, t->acb, t->arg, reply);
        else if (!reply || ((redisReply *)reply)->type == REDIS_REPLY_ERROR)
            gw_stat_inc(&r->st.errors);
    }
    free(t);
}

static void deadline_arm(gw_redis_t *r, uint64_t now)
{
    uint64_t due = r->live->start_us + (uint64_t)r->o.command_timeout_ms * 1000u;
    redis_timer_in(r->deadline, due > now ? due - now : 0);
}

/* Times out every expired command (the user hears now; the late reply only frees the token),
 * then drops a stalled connection or re-arms for the next deadline. */
void redis_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    gw_redis_t *r = arg;
    uint64_t tmo = (uint64_t)r->o.command_timeout_ms * 1000u, now = gw_mono_us();
    tok_t *t;
    while ((t = r->live) && t->start_us + tmo <= now) {
        r->live = t->next;
        t->delivered = 1;
        gw_stat_inc(&r->st.timeouts);
        if (t->cb || t->acb) { /* a slow write alone is no reason to drop the connection */
            r->consec_timeouts++;
            if (t->cb)
                t->cb(t->arg, GW_REDIS_TIMEOUT, NULL, 0, 0);
            else
                t->acb(t->arg, GW_REDIS_TIMEOUT, NULL, 0);
        }
    }
    now = gw_mono_us();
    if (r->cmd.ac && !r->cmd.drop && r->head &&
        (r->consec_timeouts >= r->o.max_pending || now - r->head->start_us > STALL_FACTOR * tmo)) {
        char why[128];
        snprintf(why, sizeof(why),
                 "stalled (oldest command unanswered for %llu ms, %u timeouts in a row)",
                 (unsigned long long)((now - r->head->start_us) / 1000u), r->consec_timeouts);
        r->consec_timeouts = 0;
        redis_conn_drop(&r->cmd, why);
        return;
    }
    if (r->live) deadline_arm(r, now);
}

static int refuse(gw_redis_t *r)
{
    gw_stat_inc(&r->st.refused);
    return -1;
}

/* Sends are tokens too (cb NULL): they count toward max_pending and the stall detection, so a
 * send-only workload against a hung Redis still gets the connection dropped. */
static int submit(gw_redis_t *r, gw_redis_cb cb, gw_redis_array_cb acb, void *arg, int argc,
                  const char **argv, const size_t *argvlen)
{
    if (!redis_conn_ready(&r->cmd) || r->npending >= r->o.max_pending || argc <= 0)
        return refuse(r);
    tok_t *t = calloc(1, sizeof(*t));
    if (!t) return refuse(r);
    t->r = r;
    t->cb = cb;
    t->acb = acb;
    t->arg = arg;
    t->start_us = gw_mono_us();
    if (redisAsyncCommandArgv(r->cmd.ac, on_reply, t, argc, argv, argvlen) != REDIS_OK) {
        free(t);
        return refuse(r);
    }
    t->prev = r->tail;
    if (r->tail)
        r->tail->next = t;
    else
        r->head = t;
    r->tail = t;
    if (!r->live) r->live = t;
    r->npending++;
    gw_stat_inc(&r->st.commands);
    r->last_cmd_us = gw_mono_us();
    if (!evtimer_pending(r->deadline, NULL)) deadline_arm(r, t->start_us);
    return 0;
}

int gw_redis_command(gw_redis_t *r, gw_redis_cb cb, void *arg, int argc, const char **argv,
                     const size_t *argvlen)
{
    return submit(r, cb, NULL, arg, argc, argv, argvlen);
}

int gw_redis_command_array(gw_redis_t *r, gw_redis_array_cb cb, void *arg, int argc,
                           const char **argv, const size_t *argvlen)
{
    return cb ? submit(r, NULL, cb, arg, argc, argv, argvlen) : -1;
}

int gw_redis_send(gw_redis_t *r, int argc, const char **argv, const size_t *argvlen)
{
    return submit(r, NULL, NULL, NULL, argc, argv, argvlen);
}
