/* Sentinel addresses and +switch-master messages; see redis_sentinel.h. */
#include "common/redis_sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

static int is_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

static int parse_port(const char *s, size_t len, int *port)
{
    int v = 0;
    if (len == 0 || len > 5) return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) return -1;
    *port = v;
    return 0;
}

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':';
}

/* One "host:port" or "[v6]:port" of len bytes. */
static int parse_one(const char *s, size_t len, gw_hostport_t *hp, char *err, size_t errlen)
{
    const char *host = s, *colon;
    size_t hlen;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= s + len || close[1] != ':')
            return gw_errf(err, errlen, "\"%.*s\": expected [IPv6]:port", (int)len, s);
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = NULL;
        for (const char *p = s; p < s + len; p++)
            if (*p == ':') colon = p;
        if (!colon) return gw_errf(err, errlen, "\"%.*s\": expected host:port", (int)len, s);
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen))
            return gw_errf(err, errlen, "\"%.*s\": an IPv6 address goes in brackets", (int)len, s);
    }
    if (hlen == 0 || hlen >= sizeof(hp->host))
        return gw_errf(err, errlen, "\"%.*s\": the host is empty or too long", (int)len, s);
    for (size_t i = 0; i < hlen; i++)
        if (!host_char_ok(host[i]))
            return gw_errf(err, errlen, "\"%.*s\": bad character in the host", (int)len, s);
    if (parse_port(colon + 1, (size_t)(s + len - colon - 1), &hp->port) != 0)
        return gw_errf(err, errlen, "\"%.*s\": the port must be 1-65535", (int)len, s);
    memcpy(hp->host, host, hlen);
    hp->host[hlen] = '\0';
    return 0;
}

int gw_sentinel_parse_list(const char *text, gw_hostport_t *out, size_t max, size_t *n, char *err,
                           size_t errlen)
{
    const char *p = text ? text : "";
    *n = 0;
    for (;;) {
        while (*p && is_sep(*p))
            p++;
        if (!*p) break;
        const char *e = p;
        while (*e && !is_sep(*e))
            e++;
        if (*n == max) return gw_errf(err, errlen, "more than %zu Sentinels", max);
        if (parse_one(p, (size_t)(e - p), &out[*n], err, errlen) != 0) return -1;
        (*n)++;
        p = e;
    }
    if (*n == 0) return gw_errf(err, errlen, "no Sentinel address (expected host:port, ...)");
    return 0;
}

void gw_hostport_format(const gw_hostport_t *hp, char *buf, size_t len)
{
    snprintf(buf, len, strchr(hp->host, ':') ? "[%s]:%d" : "%s:%d", hp->host, hp->port);
}

int gw_sentinel_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int gw_sentinel_parse_switch(const char *msg, size_t len, const char *master, gw_hostport_t *to)
{
    const char *f[5];
    size_t fl[5], nf = 0, i = 0;
    while (i < len && nf < 5) {
        while (i < len && msg[i] == ' ')
            i++;
        if (i == len) break;
        f[nf] = msg + i;
        while (i < len && msg[i] != ' ')
            i++;
        fl[nf] = (size_t)(msg + i - f[nf]);
        nf++;
    }
    while (i < len && msg[i] == ' ')
        i++;
    if (nf != 5 || i != len) return -1;
    gw_hostport_t old;
    char one[GW_SENTINEL_HOST_MAX + 8];
    for (int k = 1; k <= 3; k += 2) { /* old-ip old-port, new-ip new-port */
        gw_hostport_t *hp = k == 1 ? &old : to;
        if (fl[k] == 0 || fl[k] >= GW_SENTINEL_HOST_MAX || fl[k + 1] > 5) return -1;
        if (memchr(f[k], ':', fl[k]))
            snprintf(one, sizeof(one), "[%.*s]:%.*s", (int)fl[k], f[k], (int)fl[k + 1], f[k + 1]);
        else
            snprintf(one, sizeof(one), "%.*s:%.*s", (int)fl[k], f[k], (int)fl[k + 1], f[k + 1]);
        char e[8];
        if (parse_one(one, strlen(one), hp, e, sizeof(e)) != 0) return -1;
    }
    size_t ml = strlen(master);
    return fl[0] == ml && memcmp(f[0], master, ml) == 0 ? 1 : 0;
}
