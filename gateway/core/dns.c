/* Names resolved with evdns on the worker's loop; see dns.h.
 *
 * Two evdns bases per loop: `dns` asks the nameservers (A first, AAAA when a name has no A
 * record) and reports the answer's TTL; `hosts` has the hosts file and no nameserver, so
 * evdns_getaddrinfo on it answers at once when the file knows the name and otherwise queues a
 * request that can never be sent, which is cancelled on the spot. Queries are tokens on the
 * resolver's list: a name freed while its query runs leaves the token behind (evdns calls back
 * later, or gw_dns_free frees it), so no callback ever reaches a freed name. */
#include "gateway/core/dns.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/text.h"
#include "gateway/core/timer.h"

#define DNS_MAX_ADDRS 8

typedef struct dns_query dns_query_t;

struct gw_dns {
    struct event_base *base;
    struct evdns_base *dns;
    struct evdns_base *hosts; /* NULL when dns.hosts_file is "" */
    uint64_t min_ttl_ms, max_ttl_ms;
    int log;
    dns_query_t *queries; /* every query evdns still holds */
};

struct dns_query {
    gw_dns_t *d;
    gw_dns_name_t *n; /* NULL once the name was freed */
    dns_query_t *prev, *next;
    int v6; /* asking for AAAA (there was no A record) */
};

struct gw_dns_name {
    gw_dns_t *d;
    char label[16];
    char host[256]; /* without brackets */
    int port;
    int literal;
    struct sockaddr_storage addrs[DNS_MAX_ADDRS];
    socklen_t lens[DNS_MAX_ADDRS];
    size_t naddrs, next;
    dns_query_t *q;         /* the query under way, or NULL */
    struct event *timer;    /* next refresh */
    uint64_t last_start_us; /* of the last resolution */
    uint64_t retry_ms;      /* after failures: doubles from min_ttl to max_ttl */
    char error[192];
    gw_stat_t *counts;
    gw_dns_name_cb cb;
    void *cb_arg;
};

static void name_start(gw_dns_name_t *n);

/* ---- the resolver ------------------------------------------------------------------------ */

/* One "IP[:port]" item: the syntax evdns_base_nameserver_ip_add takes. */
static int check_resolver(const char *item, size_t len, char *err, size_t errlen)
{
    char one[128];
    struct sockaddr_storage ss;
    int sl = (int)sizeof(ss);
    if (len == 0 || len >= sizeof(one))
        return gw_errf(err, errlen, "dns.resolvers: expected IP[:port] items separated by commas");
    memcpy(one, item, len);
    one[len] = '\0';
    if (evutil_parse_sockaddr_port(one, (struct sockaddr *)&ss, &sl) != 0)
        return gw_errf(err, errlen,
                       "dns.resolvers: \"%s\" is not IP[:port] (a name server is given by its "
                       "address; IPv6 as [::1]:53)",
                       one);
    return 0;
}

int gw_dns_check_resolvers(const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        if (check_resolver(p, n, err, errlen) != 0) return -1;
        p += strcspn(p, ",");
        if (*p == ',') {
            p++;
            while (*p == ' ')
                p++;
            if (!*p) return check_resolver(p, 0, err, errlen);
        }
    }
    return 0;
}

static int dns_add_resolvers(gw_dns_t *d, const char *list, char *err, size_t errlen)
{
    if (gw_dns_check_resolvers(list, err, errlen) != 0) return -1;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        char one[128];
        snprintf(one, sizeof(one), "%.*s", (int)n, p);
        for (size_t l = strlen(one); l && one[l - 1] == ' '; l--)
            one[l - 1] = '\0';
        if (evdns_base_nameserver_ip_add(d->dns, one) != 0)
            return gw_errf(err, errlen, "dns.resolvers: cannot use name server %s", one);
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 0;
}

gw_dns_t *gw_dns_new(struct event_base *base, const gw_dns_opts_t *o, char *err, size_t errlen)
{
    gw_dns_t *d = calloc(1, sizeof(*d));
    if (!d) goto oom;
    d->base = base;
    d->min_ttl_ms = o->min_ttl_ms ? o->min_ttl_ms : 1000;
    d->max_ttl_ms = o->max_ttl_ms > d->min_ttl_ms ? o->max_ttl_ms : d->min_ttl_ms;
    d->log = o->log;
    d->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!d->dns) goto oom;
    const char *resolvers = o->resolvers ? o->resolvers : "";
    if (resolvers[0]) {
        if (dns_add_resolvers(d, resolvers, err, errlen) != 0) goto fail;
    } else {
        int rc = evdns_base_resolv_conf_parse(
            d->dns, DNS_OPTION_NAMESERVERS | DNS_OPTION_SEARCH | DNS_OPTION_MISC,
            "/etc/resolv.conf");
        if (rc != 0 && d->log)
            gw_log_warn("dns: /etc/resolv.conf %s (code %d): asking 127.0.0.1",
                        rc == 1 ? "cannot be read" : "names no usable name server", rc);
    }
    char secs[32];
    snprintf(secs, sizeof(secs), "%.3f", (double)(o->timeout_ms ? o->timeout_ms : 2000) / 1000.0);
    evdns_base_set_option(d->dns, "timeout:", secs);
    evdns_base_set_option(d->dns, "attempts:", "2");
    if (o->hosts_file && o->hosts_file[0]) {
        d->hosts = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (!d->hosts) goto oom;
        if (evdns_base_load_hosts(d->hosts, o->hosts_file) != 0 && d->log)
            gw_log_warn("dns: cannot read the hosts file %s: names go to DNS only", o->hosts_file);
    }
    return d;
oom:
    gw_errf(err, errlen, "dns: out of memory");
fail:
    gw_dns_free(d);
    return NULL;
}

void gw_dns_free(gw_dns_t *d)
{
    if (!d) return;
    /* Without failing requests: evdns calls nobody back, the tokens are ours to free. */
    if (d->dns) evdns_base_free(d->dns, 0);
    if (d->hosts) evdns_base_free(d->hosts, 0);
    while (d->queries) {
        dns_query_t *q = d->queries;
        d->queries = q->next;
        if (q->n) q->n->q = NULL;
        free(q);
    }
    free(d);
}

/* ---- one name ---------------------------------------------------------------------------- */

static void query_free(dns_query_t *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        q->d->queries = q->next;
    if (q->next) q->next->prev = q->prev;
    if (q->n) q->n->q = NULL;
    free(q);
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
        snprintf(buf, len, "%s:%d", a, ntohs(s->sin_port));
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
        snprintf(buf, len, "[%s]:%d", a, ntohs(s->sin6_port));
    }
}

void gw_dns_addr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    fmt_addr(ss, buf, len);
}

void gw_dns_name_describe(const gw_dns_name_t *n, char *buf, size_t len)
{
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (size_t i = 0; i < n->naddrs && used + 1 < len; i++) {
        char one[64];
        fmt_addr(&n->addrs[i], one, sizeof(one));
        int w = snprintf(buf + used, len - used, "%s%s", i ? "," : "", one);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static int addr_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct sockaddr_storage));
}

static void count(gw_dns_name_t *n, int what)
{
    if (n->counts) gw_stat_inc(&n->counts[what]);
}

/* A resolution gave these addresses (sorted here, v4 and v6 never mixed): keep them, log and
 * count a change, refresh at ttl. */
static void name_ok(gw_dns_name_t *n, struct sockaddr_storage *a, size_t na, uint64_t ttl_ms)
{
    gw_dns_t *d = n->d;
    qsort(a, na, sizeof(*a), addr_cmp);
    int changed = na != n->naddrs || memcmp(a, n->addrs, na * sizeof(*a)) != 0;
    char before[512], after[512];
    gw_dns_name_describe(n, before, sizeof(before));
    memcpy(n->addrs, a, na * sizeof(*a));
    for (size_t i = 0; i < na; i++)
        n->lens[i] =
            a[i].ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    n->naddrs = na;
    if (n->next >= na) n->next = 0;
    count(n, GW_DNS_R_OK);
    if (changed) count(n, GW_DNS_R_CHANGED);
    if (d->log && (changed || n->error[0])) {
        gw_dns_name_describe(n, after, sizeof(after));
        if (!before[0])
            gw_log_info("dns: %s host %s resolves to %s", n->label, n->host, after);
        else if (changed)
            gw_log_warn("dns: %s host %s moved from %s to %s", n->label, n->host, before, after);
        else
            gw_log_info("dns: %s host %s resolves again (%s)", n->label, n->host, after);
    }
    n->error[0] = '\0';
    n->retry_ms = 0;
    if (ttl_ms < d->min_ttl_ms) ttl_ms = d->min_ttl_ms;
    if (ttl_ms > d->max_ttl_ms) ttl_ms = d->max_ttl_ms;
    gw_timer_add_ms(n->timer, ttl_ms);
    if (n->cb) n->cb(n->cb_arg, changed);
}

/* The resolution failed: keep the last good addresses, log once per different error, retry
 * with backoff. */
static void name_failed(gw_dns_name_t *n, const char *why)
{
    gw_dns_t *d = n->d;
    count(n, GW_DNS_R_FAILED);
    if (strcmp(n->error, why) != 0) {
        if (d->log) {
            char keep[512];
            gw_dns_name_describe(n, keep, sizeof(keep));
            gw_log_warn("dns: cannot resolve %s host %s: %s; %s%s", n->label, n->host, why,
                        keep[0] ? "keeping " : "no address yet, retrying", keep);
        }
        snprintf(n->error, sizeof(n->error), "%s", why);
    }
    n->retry_ms = n->retry_ms ? n->retry_ms * 2 : d->min_ttl_ms;
    if (n->retry_ms > d->max_ttl_ms) n->retry_ms = d->max_ttl_ms;
    gw_timer_add_ms(n->timer, n->retry_ms);
    if (n->cb) n->cb(n->cb_arg, 0);
}

static void on_reply(int result, char type, int cnt, int ttl, void *addresses, void *arg)
{
    dns_query_t *q = arg;
    gw_dns_name_t *n = q->n;
    if (!n) { /* the name is gone */
        query_free(q);
        return;
    }
    struct sockaddr_storage a[DNS_MAX_ADDRS];
    size_t na = 0;
    if (result == DNS_ERR_NONE && type == DNS_IPv4_A) {
        for (int i = 0; i < cnt && na < DNS_MAX_ADDRS; i++, na++) {
            struct sockaddr_in *s = memset(&a[na], 0, sizeof(a[na]));
            s->sin_family = AF_INET;
            s->sin_port = htons((uint16_t)n->port);
            memcpy(&s->sin_addr, (const char *)addresses + 4 * i, 4);
        }
    } else if (result == DNS_ERR_NONE && type == DNS_IPv6_AAAA) {
        for (int i = 0; i < cnt && na < DNS_MAX_ADDRS; i++, na++) {
            struct sockaddr_in6 *s = memset(&a[na], 0, sizeof(a[na]));
            s->sin6_family = AF_INET6;
            s->sin6_port = htons((uint16_t)n->port);
            memcpy(&s->sin6_addr, (const char *)addresses + 16 * i, 16);
        }
    }
    if (na) {
        query_free(q);
        name_ok(n, a, na, ttl > 0 ? (uint64_t)ttl * 1000u : 0);
        return;
    }
    int none = result == DNS_ERR_NONE || result == DNS_ERR_NODATA || result == DNS_ERR_NOTEXIST;
    if (none && !q->v6) { /* no A record: maybe AAAA */
        q->v6 = 1;
        if (evdns_base_resolve_ipv6(n->d->dns, n->host, 0, on_reply, q)) return;
    }
    char why[160];
    snprintf(why, sizeof(why), "%s",
             none ? "no such name (no A or AAAA record)" : evdns_err_to_string(result));
    query_free(q);
    name_failed(n, why);
}

static void on_hosts(int err, struct evutil_addrinfo *res, void *arg)
{
    if (err == EVUTIL_EAI_CANCEL) return; /* the probe below, long returned: arg is stale */
    struct evutil_addrinfo **out = arg;
    if (err == 0)
        *out = res;
    else if (res)
        evutil_freeaddrinfo(res);
}

/* The hosts file's addresses for n, IPv4 ones when it has any: how many (0: not in it). */
static size_t hosts_lookup(gw_dns_name_t *n, struct sockaddr_storage *a)
{
    if (!n->d->hosts) return 0;
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct evutil_addrinfo *res = NULL;
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(n->d->hosts, n->host, NULL, &hints, on_hosts, &res);
    if (req) { /* not in the file: it waits for a name server this base does not have */
        evdns_getaddrinfo_cancel(req);
        return 0;
    }
    size_t na = 0;
    for (int fam = AF_INET; !na && fam; fam = fam == AF_INET ? AF_INET6 : 0) {
        for (struct evutil_addrinfo *ai = res; ai && na < DNS_MAX_ADDRS; ai = ai->ai_next) {
            if (ai->ai_family != fam || ai->ai_addrlen > sizeof(a[0])) continue;
            memset(&a[na], 0, sizeof(a[na]));
            memcpy(&a[na], ai->ai_addr, ai->ai_addrlen);
            if (fam == AF_INET)
                ((struct sockaddr_in *)&a[na])->sin_port = htons((uint16_t)n->port);
            else
                ((struct sockaddr_in6 *)&a[na])->sin6_port = htons((uint16_t)n->port);
            na++;
        }
    }
    if (res) evutil_freeaddrinfo(res);
    return na;
}

/* From the name's timer only: answers call back, which no caller of ours expects mid-call. */
static void name_start(gw_dns_name_t *n)
{
    if (n->q || n->literal) return;
    n->last_start_us = gw_mono_us();
    struct sockaddr_storage a[DNS_MAX_ADDRS];
    size_t na = hosts_lookup(n, a);
    if (na) {
        name_ok(n, a, na, n->d->max_ttl_ms); /* the file is read once: its TTL is the longest */
        return;
    }
    dns_query_t *q = calloc(1, sizeof(*q));
    if (!q) {
        name_failed(n, "out of memory");
        return;
    }
    q->d = n->d;
    q->n = n;
    q->next = n->d->queries;
    if (q->next) q->next->prev = q;
    n->d->queries = q;
    n->q = q;
    if (!evdns_base_resolve_ipv4(n->d->dns, n->host, 0, on_reply, q)) {
        query_free(q);
        name_failed(n, "cannot start a DNS query");
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    name_start(arg);
}

gw_dns_name_t *gw_dns_name_new(gw_dns_t *d, const char *label, const char *host, int port,
                               gw_stat_t *counts, gw_dns_name_cb cb, void *arg)
{
    gw_dns_name_t *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    size_t hl = strlen(host);
    int br = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    if (hl - 2 * (size_t)br >= sizeof(n->host)) goto fail;
    snprintf(n->host, sizeof(n->host), "%.*s", (int)(hl - 2 * (size_t)br), host + br);
    snprintf(n->label, sizeof(n->label), "%s", label);
    n->d = d;
    n->port = port;
    n->counts = counts;
    n->cb = cb;
    n->cb_arg = arg;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&n->addrs[0];
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&n->addrs[0];
    if (inet_pton(AF_INET, n->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        n->lens[0] = sizeof(*s4);
    } else if (inet_pton(AF_INET6, n->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        n->lens[0] = sizeof(*s6);
    }
    if (n->lens[0]) {
        n->literal = 1;
        n->naddrs = 1;
        return n;
    }
    if (!d) goto fail;
    n->timer = evtimer_new(d->base, on_timer, n);
    if (!n->timer) goto fail;
    gw_timer_add_ms(n->timer, 0); /* resolve on the loop, so the callback never runs in here */
    return n;
fail:
    free(n);
    return NULL;
}

void gw_dns_name_free(gw_dns_name_t *n)
{
    if (!n) return;
    if (n->q) n->q->n = NULL; /* its answer frees the token */
    if (n->timer) event_free(n->timer);
    free(n);
}

int gw_dns_name_pick(gw_dns_name_t *n, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!n->naddrs) return -1;
    size_t i = n->next++ % n->naddrs;
    if (n->next >= n->naddrs) n->next = 0;
    memcpy(ss, &n->addrs[i], sizeof(*ss));
    *len = n->lens[i];
    return 0;
}

int gw_dns_name_busy(const gw_dns_name_t *n)
{
    /* A name not asked yet (its first timer pending) counts as busy: the answer is coming. */
    return n->q != NULL || (!n->literal && !n->last_start_us);
}

void gw_dns_name_failed(gw_dns_name_t *n)
{
    if (n->literal || n->q || !n->last_start_us) return;
    /* From the timer, never from here: the caller is in its own failure path. */
    uint64_t since_ms = (gw_mono_us() - n->last_start_us) / 1000;
    gw_timer_add_ms(n->timer, since_ms >= n->d->min_ttl_ms ? 0 : n->d->min_ttl_ms - since_ms);
}

int gw_dns_name_is_literal(const gw_dns_name_t *n)
{
    return n->literal;
}

size_t gw_dns_name_count(const gw_dns_name_t *n)
{
    return n->naddrs;
}

const char *gw_dns_name_host(const gw_dns_name_t *n)
{
    return n->host;
}

const char *gw_dns_name_error(const gw_dns_name_t *n)
{
    return n->error;
}

int gw_dns_name_curl_entry(const gw_dns_name_t *n, char *buf, size_t len)
{
    if (n->literal || !n->naddrs) return -1;
    int used = snprintf(buf, len, "%s:%d:", n->host, n->port);
    for (size_t i = 0; i < n->naddrs && used > 0 && (size_t)used < len; i++) {
        char a[INET6_ADDRSTRLEN];
        const struct sockaddr_storage *ss = &n->addrs[i];
        if (ss->ss_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
        else
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
        int w = snprintf(buf + used, len - (size_t)used,
                         ss->ss_family == AF_INET ? "%s%s" : "%s[%s]", i ? "," : "", a);
        if (w < 0) return -1;
        used += w;
    }
    return used > 0 && (size_t)used < len ? 0 : -1;
}
