/* redis://[:password@]host[:port][/db]; see redis_url.h. */
#include "common/redis_url.h"
#include "common/yconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/text.h"

/* ---- URL ---------------------------------------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int url_password(const char *s, const char *end, char *out, size_t cap, char *err,
                        size_t errlen)
{
    size_t n = 0;
    if (s == end) return gw_errf(err, errlen, "redis URL: empty password after ':'");
    for (; s < end; s++) {
        int ch = (unsigned char)*s;
        if (ch == '%') {
            int hi = end - s >= 3 ? hexval(s[1]) : -1;
            int lo = hi >= 0 ? hexval(s[2]) : -1;
            if (hi < 0 || lo < 0)
                return gw_errf(err, errlen, "redis URL: bad percent-encoding in the password");
            ch = hi * 16 + lo;
            if (ch == 0) return gw_errf(err, errlen, "redis URL: the password contains %%00");
            s += 2;
        }
        if (n + 1 >= cap)
            return gw_errf(err, errlen, "redis URL: password longer than %zu bytes", cap - 1);
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return 0;
}

/* Parses digits in [s, end) into *out within [min, max]; what names the field in messages. */
static int url_number(const char *s, const char *end, long min, long max, const char *what,
                      long *out, char *err, size_t errlen)
{
    long v = 0;
    if (s == end) return gw_errf(err, errlen, "redis URL: missing %s", what);
    for (const char *p = s; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return gw_errf(err, errlen, "redis URL: %s \"%.*s\" is not a number", what,
                           (int)(end - s), s);
        if (v <= max) v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return gw_errf(err, errlen, "redis URL: %s %.*s out of range %ld-%ld", what, (int)(end - s),
                       s, min, max);
    *out = v;
    return 0;
}

static int is_ipv6(const char *s, size_t len)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char addr[sizeof(struct in6_addr)];
    if (len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* host[:port] in [s, end) into o. */
static int url_hostport(const char *s, const char *end, gw_redis_opts_t *o, char *err,
                        size_t errlen)
{
    const char *h = s, *hend, *after;
    int bracket = *s == '[';
    if (bracket) {
        h = s + 1;
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend) return gw_errf(err, errlen, "redis URL: unterminated '[' in the host");
        after = hend + 1;
    } else {
        hend = memchr(s, ':', (size_t)(end - s));
        hend = hend ? hend : end;
        after = hend;
        if (hend < end && memchr(hend + 1, ':', (size_t)(end - hend - 1)) &&
            is_ipv6(s, (size_t)(end - s)))
            return gw_errf(
                err, errlen,
                "redis URL: IPv6 addresses must be in brackets, as in redis://[::1]:6379");
    }
    if (h == hend) return gw_errf(err, errlen, "redis URL: missing host");
    if ((size_t)(hend - h) >= sizeof(o->host))
        return gw_errf(err, errlen, "redis URL: host too long");
    snprintf(o->host, sizeof(o->host), "%.*s", (int)(hend - h), h);
    unsigned char buf[sizeof(struct in6_addr)];
    if (!bracket && strcasecmp(o->host, "localhost") == 0) {
        snprintf(o->host, sizeof(o->host), "127.0.0.1");
    } else if (bracket && inet_pton(AF_INET6, o->host, buf) != 1) {
        return gw_errf(err, errlen, "redis URL: host [%s] is not an IPv6 address", o->host);
    } else if (!bracket && !yconf_valid_host(o->host, strlen(o->host))) {
        return gw_errf(err, errlen,
                       "redis URL: host \"%s\" is neither an IP address nor a host name", o->host);
    }
    o->port = 6379;
    if (after == end) return 0;
    if (*after != ':')
        return gw_errf(err, errlen, "redis URL: unexpected \"%.*s\" after the host",
                       (int)(end - after), after);
    long port;
    if (url_number(after + 1, end, 1, 65535, "port", &port, err, errlen) != 0) return -1;
    o->port = (int)port;
    return 0;
}

int gw_redis_parse_url(const char *url, gw_redis_opts_t *out, char *err, size_t errlen)
{
    gw_redis_opts_t o = *out;
    if (!url || strncasecmp(url, "redis://", 8) != 0) {
        if (url && strncasecmp(url, "rediss://", 9) == 0)
            return gw_errf(err, errlen, "redis URL: TLS (rediss://) is not supported");
        return gw_errf(err, errlen, "redis URL: must start with redis://");
    }
    const char *p = url + 8, *aend = p + strcspn(p, "/?#"), *at = NULL;
    for (const char *q = p; q < aend; q++)
        if (*q == '@') at = q;
    o.password[0] = '\0';
    if (at) {
        if (*p != ':')
            return gw_errf(err, errlen,
                           "redis URL: the part before '@' must be ':password' "
                           "(user names are not supported)");
        if (url_password(p + 1, at, o.password, sizeof(o.password), err, errlen) != 0) return -1;
        p = at + 1;
    }
    if (url_hostport(p, aend, &o, err, errlen) != 0) return -1;
    o.db = 0;
    p = aend;
    if (*p == '/') {
        const char *dend = p + 1 + strcspn(p + 1, "?#");
        long db = 0;
        if (dend > p + 1 && url_number(p + 1, dend, 0, INT_MAX, "database", &db, err, errlen) != 0)
            return -1;
        o.db = (int)db;
        p = dend;
    }
    if (*p == '?') return gw_errf(err, errlen, "redis URL: query parameters are not supported");
    if (*p == '#') return gw_errf(err, errlen, "redis URL: fragments are not supported");
    *out = o;
    return 0;
}
