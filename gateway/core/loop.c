/* The worker loop's own machinery: an event base without locks, the eventfd mailbox through
 * which other threads wake it, the list of client connections and draining them at shutdown. */
#include "gateway/core/loop.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/core/dns.h"
#include "gateway/core/timer.h"

_Static_assert(GW_DNS_RESULTS == GW_DNS_R_N, "stats.h counts every resolution result");

/* Another thread called gw_loop_wake: the eventfd counter is reset, then each reason runs. */
static void loop_on_wake(evutil_socket_t fd, short what, void *arg)
{
    gw_loop_t *l = arg;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN) return;
    unsigned why = atomic_exchange(&l->wake_bits, 0);
    for (unsigned i = 0; i < GW_WAKE_N; i++)
        if ((why & (1u << i)) && l->wake_cb[i]) l->wake_cb[i](l->wake_arg[i]);
}

static void loop_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    gw_loop_t *l = arg;
    gw_log_warn("shutdown timeout: closing %zu connection(s) with requests in flight", l->nconns);
    event_base_loopexit(l->base, NULL);
}

static void loop_on_retire_end(evutil_socket_t fd, short what, void *arg)
{
    gw_loop_t *l = arg;
    if (l->nconns)
        gw_log_info("worker %d of the previous configuration: closing %zu connection(s) once idle",
                    l->id, l->nconns);
    gw_loop_drain(l, l->retire_drain_ms);
}

int gw_loop_init(gw_loop_t *l, int id, const gw_config_t *cfg, atomic_int *connections, char *err,
                 size_t errlen)
{
    memset(l, 0, sizeof(*l));
    l->id = id;
    l->cfg = cfg;
    l->connections = connections;
    l->conns.next = l->conns.prev = &l->conns;
    l->wake_fd = -1;
    atomic_init(&l->wake_bits, 0);
    l->stats = calloc(1, sizeof(*l->stats));
    /* One thread per loop: no locks in the base (every event_add/del took a mutex before).
     * Other threads reach the loop only through gw_loop_wake. */
    struct event_config *ec = event_config_new();
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK) == 0)
        l->base = event_base_new_with_config(ec);
    if (ec) event_config_free(ec);
    if (!l->base) {
        snprintf(err, errlen, "cannot create an event loop");
        return -1;
    }
    gw_dns_opts_t dopts = {.resolvers = cfg->dns_resolvers,
                           .hosts_file = cfg->dns_hosts_file,
                           .min_ttl_ms = cfg->dns_min_ttl_ms,
                           .max_ttl_ms = cfg->dns_max_ttl_ms,
                           .timeout_ms = cfg->dns_timeout_ms,
                           .log = id == 0};
    l->dns = gw_dns_new(l->base, &dopts, err, errlen);
    if (!l->dns) return -1;
    l->deadline_ev = evtimer_new(l->base, loop_on_deadline, l);
    l->retire_ev = evtimer_new(l->base, loop_on_retire_end, l);
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->wake_ev = l->wake_fd >= 0
                     ? event_new(l->base, l->wake_fd, EV_READ | EV_PERSIST, loop_on_wake, l)
                     : NULL;
    if (!l->stats || !l->deadline_ev || !l->retire_ev || !l->wake_ev ||
        event_add(l->wake_ev, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void gw_loop_close_conns(gw_loop_t *l)
{
    while (l->conns.next && l->conns.next != &l->conns)
        l->conns.next->destroy(l->conns.next);
}

void gw_loop_dispose(gw_loop_t *l)
{
    gw_loop_close_conns(l);
    if (l->wake_ev) event_free(l->wake_ev);
    if (l->wake_fd >= 0) close(l->wake_fd);
    if (l->deadline_ev) event_free(l->deadline_ev);
    if (l->retire_ev) event_free(l->retire_ev);
    gw_dns_free(l->dns); /* after every name on it: the pool and Redis went first */
    if (l->base) event_base_free(l->base);
    free(l->stats);
    memset(l, 0, sizeof(*l));
    l->wake_fd = -1;
}

void gw_loop_on_wake(gw_loop_t *l, unsigned why, gw_wake_cb cb, void *arg)
{
    if (why >= GW_WAKE_N) return;
    l->wake_cb[why] = cb;
    l->wake_arg[why] = arg;
}

void gw_loop_wake(gw_loop_t *l, unsigned why)
{
    atomic_fetch_or(&l->wake_bits, 1u << why);
    uint64_t one = 1;
    if (l->wake_fd >= 0 && write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        gw_log_warn("cannot wake worker %d: %s", l->id, strerror(errno));
}

void gw_loop_conn_add(gw_loop_t *l, gw_conn_link_t *c)
{
    c->next = l->conns.next;
    c->prev = &l->conns;
    l->conns.next->prev = c;
    l->conns.next = c;
    l->nconns++;
    if (l->stats) gw_stat_inc(&l->stats->conns[c->proto]);
}

void gw_loop_conn_remove(gw_loop_t *l, gw_conn_link_t *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = c;
    l->nconns--;
    if (l->stats) gw_stat_dec(&l->stats->conns[c->proto]);
    if ((l->draining || l->retiring) && l->nconns == 0) event_base_loopexit(l->base, NULL);
}

void gw_loop_retire(gw_loop_t *l, uint64_t grace_ms, uint64_t drain_ms)
{
    if (l->retiring || l->draining) return;
    l->retiring = 1;
    l->retire_drain_ms = drain_ms;
    if (l->nconns == 0) {
        event_base_loopexit(l->base, NULL);
        return;
    }
    gw_timer_add_ms(l->retire_ev, grace_ms);
}

void gw_loop_drain(gw_loop_t *l, uint64_t timeout_ms)
{
    if (l->draining) return;
    l->draining = 1;
    gw_conn_link_t *c = l->conns.next;
    while (c != &l->conns) {
        gw_conn_link_t *next = c->next;
        c->drain(c);
        c = next;
    }
    if (l->nconns == 0) {
        event_base_loopexit(l->base, NULL);
        return;
    }
    gw_timer_add_ms(l->deadline_ev, timeout_ms);
}

void gw_loop_run(gw_loop_t *l)
{
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
}
