/* yconf values: the text syntax of each value type (size, duration, listen address, host, bool,
 * int, double), its parsers and formatters, and what each key accepts for error messages. */
#include "common/yconf_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

/* ---------------------------------------------------------------- value syntax */

static int parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

int yconf_parse_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"k", KIB},
        {"K", KIB},
        {"KiB", KIB},
        {"m", MIB},
        {"M", MIB},
        {"MiB", MIB},
        {"g", GIB},
        {"G", GIB},
        {"GiB", GIB},
        {"t", TIB},
        {"T", TIB},
        {"TiB", TIB},
        {"KB", 1000},
        {"kB", 1000},
        {"MB", 1000000},
        {"GB", 1000000000},
        {"TB", 1000000000000ull},
    };
    uint64_t n;
    size_t i;

    if (parse_digits(&s, &n) < 0) return -1;
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s, units[i].suffix) != 0) continue;
        if (n > UINT64_MAX / units[i].mult) return -1;
        *bytes = n * units[i].mult;
        return 0;
    }
    return -1;
}

static int duration_unit(const char *s, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    size_t i;

    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s, units[i].unit) == 0) {
            *ms = units[i].ms;
            return 0;
        }
    }
    return -1;
}

int yconf_parse_duration(const char *s, uint64_t *ms)
{
    uint64_t whole, frac = 0, scale = 1, unit, total;
    int ndig = 0;

    if (parse_digits(&s, &whole) < 0) return -1;
    if (*s == '.') {
        /* Integer arithmetic on the fraction: "1.1s" must be exactly 1100, not 1099.999. */
        for (s++; *s >= '0' && *s <= '9'; s++, ndig++) {
            if (ndig == 9) return -1;
            frac = frac * 10 + (uint64_t)(*s - '0');
            scale *= 10;
        }
        if (ndig == 0) return -1;
    }
    if (duration_unit(s, &unit) < 0) return -1;
    if ((frac * unit) % scale != 0) /* finer than a millisecond */
        return -1;
    if (whole > UINT64_MAX / unit) return -1;
    total = whole * unit;
    if (total > UINT64_MAX - frac * unit / scale) return -1;
    *ms = total + frac * unit / scale;
    return 0;
}

int yconf_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const struct {
        uint64_t mult;
        const char *suffix;
    } units[] = {{TIB, "TiB"}, {GIB, "GiB"}, {MIB, "MiB"}, {KIB, "KiB"}};
    size_t i;

    for (i = 0; bytes && i < sizeof units / sizeof units[0]; i++)
        if (bytes % units[i].mult == 0)
            return snprintf(buf, len, "%llu%s", (unsigned long long)(bytes / units[i].mult),
                            units[i].suffix);
    return snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

int yconf_format_duration(uint64_t ms, char *buf, size_t len)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}};
    size_t i;

    if (ms == 0) return snprintf(buf, len, "0s");
    for (i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0)
            return snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].ms),
                            units[i].unit);
    return snprintf(buf, len, "%llums", (unsigned long long)ms);
}

static bool valid_dns_name(const char *h, size_t len)
{
    size_t i, label = 0;

    if (len == 0 || len > 253) return false;
    for (i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            if (++label > 63) return false;
        } else {
            return false;
        }
    }
    return label > 0 && h[len - 1] != '-';
}

/* inet_pton on a (pointer, length) host. */
static bool is_ip_literal(int af, const char *host, size_t len)
{
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];

    if (len >= sizeof buf) return false;
    memcpy(buf, host, len);
    buf[len] = '\0';
    return inet_pton(af, buf, addr) == 1;
}

bool yconf_valid_host(const char *host, size_t len)
{
    size_t digits_and_dots = strspn(host, "0123456789.");

    if (len == 0 || len >= MAX_NAME) return false;
    if (memchr(host, ':', len)) return is_ip_literal(AF_INET6, host, len);
    /* "999.1.1.1" is a DNS name by the label rules, but nobody means a name by it. */
    if (digits_and_dots >= len) return is_ip_literal(AF_INET, host, len);
    return valid_dns_name(host, len);
}

static int parse_port(const char *s, uint16_t *port)
{
    uint64_t v;

    if (strlen(s) > 5 || parse_digits(&s, &v) < 0 || *s || v < 1 || v > 65535) return -1;
    *port = (uint16_t)v;
    return 0;
}

int yconf_parse_listen(const char *s, char **host, uint16_t *port, char *err, size_t errlen)
{
    const char *h = s, *p, *colon = strrchr(s, ':');
    size_t hlen;
    char *copy;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return yc_errf(err, errlen, "expected [IPv6 address]:port such as [::1]:8000"), -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        p = close + 2;
        if (!memchr(h, ':', hlen) || !yconf_valid_host(h, hlen))
            return yc_errf(err, errlen, "invalid IPv6 address in brackets"), -1;
    } else {
        if (!colon)
            return yc_errf(err, errlen, "expected host:port such as 127.0.0.1:8000 or *:8000"), -1;
        hlen = (size_t)(colon - s);
        p = colon + 1;
        if (memchr(s, ':', hlen))
            return yc_errf(err, errlen, "an IPv6 address needs brackets, e.g. [::1]:8000"), -1;
        if (hlen == 0)
            return yc_errf(err, errlen, "missing host (*:PORT listens on all addresses)"), -1;
        if (!(hlen == 1 && *h == '*') && !yconf_valid_host(h, hlen))
            return yc_errf(err, errlen, "the host must be an IP address, a DNS name or *"), -1;
    }
    if (parse_port(p, port) < 0)
        return yc_errf(err, errlen, "the port must be a number from 1 to 65535"), -1;
    if (hlen == 1 && *h == '*') {
        h = "0.0.0.0";
        hlen = 7;
    }
    if (!(copy = strndup(h, hlen))) return yc_errf(err, errlen, "out of memory"), -1;
    *host = copy;
    return 0;
}

/* ---------------------------------------------------------------- typed values */

/* "an integer from 0 to 256": what the key accepts, for "expected ..." messages. */
void yc_describe(const yconf_key_t *k, char *buf, size_t len)
{
    char lo[32], hi[32];

    switch (key_type(k)) {
    case YCONF_STRING:
        snprintf(buf, len, "a string");
        return;
    case YCONF_BOOL:
        snprintf(buf, len, "true or false");
        return;
    case YCONF_LISTEN:
        snprintf(buf, len, "an address host:port");
        return;
    case YCONF_CUSTOM:
        snprintf(buf, len, "%s", k->custom && k->custom->what ? k->custom->what : "a value");
        return;
    case YCONF_MAP:
        snprintf(buf, len, "a mapping of names");
        return;
    case YCONF_INT:
        snprintf(buf, len, "an integer from %lld to %lld",
                 has_range(k) ? (long long)k->min : (long long)INT_MIN,
                 has_range(k) ? (long long)k->max : (long long)INT_MAX);
        return;
    case YCONF_DOUBLE:
        if (has_range(k))
            snprintf(buf, len, "a number from %g to %g", k->min, k->max);
        else
            snprintf(buf, len, "a number");
        return;
    }
    /* sizes and durations */
    if (!has_range(k)) {
        snprintf(buf, len, key_type(k) == YCONF_SIZE ? "a size" : "a duration");
        return;
    }
    if (key_type(k) == YCONF_SIZE) {
        yconf_format_size((uint64_t)k->min, lo, sizeof lo);
        yconf_format_size((uint64_t)k->max, hi, sizeof hi);
        snprintf(buf, len, "a size from %s to %s", lo, hi);
    } else {
        yconf_format_duration((uint64_t)k->min, lo, sizeof lo);
        yconf_format_duration((uint64_t)k->max, hi, sizeof hi);
        snprintf(buf, len, "a duration from %s to %s", lo, hi);
    }
}

static bool in_range(const yconf_key_t *k, double v)
{
    return !has_range(k) || (v >= k->min && v <= k->max);
}

static int parse_int(const yconf_key_t *k, const char *text, int *out)
{
    long long v, lo = has_range(k) ? (long long)k->min : INT_MIN;
    long long hi = has_range(k) ? (long long)k->max : INT_MAX;
    char *end;

    if (!((*text >= '0' && *text <= '9') || *text == '-' || *text == '+')) return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const yconf_key_t *k, const char *text, double *out)
{
    char *end;
    double v;

    /* strtod also takes "nan", "inf" and hex floats: nobody writes those in a config. */
    if (text[strspn(text, "0123456789+-.eE")] != '\0') return -1;
    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || !in_range(k, v)) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, bool *out, char *msg, size_t msglen)
{
    static const char *const yaml11[] = {"yes", "no", "on", "off", "y", "n"};
    size_t i;

    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        *out = text[0] == 't';
        return 0;
    }
    for (i = 0; i < sizeof yaml11 / sizeof yaml11[0]; i++)
        if (strcasecmp(text, yaml11[i]) == 0) {
            yc_errf(msg, msglen, "expected true or false (yes/no/on/off are not accepted)");
            return -1;
        }
    return yc_errf(msg, msglen, "expected true or false"), -1;
}

/* Parses text into v by the key's type; on -1 msg holds the problem (without the value). */
int yc_parse_value(const yconf_key_t *k, const char *text, value_t *v, char *msg, size_t msglen)
{
    char what[96];
    uint64_t u;

    yc_describe(k, what, sizeof what);
    switch (key_type(k)) {
    case YCONF_STRING:
        if (!(v->s = strdup(text))) return yc_errf(msg, msglen, "out of memory"), -1;
        return 0;
    case YCONF_BOOL:
        return parse_bool(text, &v->b, msg, msglen);
    case YCONF_INT:
        if (parse_int(k, text, &v->i) == 0) return 0;
        break;
    case YCONF_DOUBLE:
        if (parse_double(k, text, &v->d) == 0) return 0;
        break;
    case YCONF_SIZE:
        if (yconf_parse_size(text, &u) == 0 && u <= SIZE_MAX && in_range(k, (double)u)) {
            v->sz = (size_t)u;
            return 0;
        }
        break;
    case YCONF_DURATION:
        if (yconf_parse_duration(text, &v->ms) == 0 && in_range(k, (double)v->ms)) return 0;
        break;
    case YCONF_LISTEN:
        return yconf_parse_listen(text, &v->l.host, &v->l.port, msg, msglen);
    }
    yc_errf(msg, msglen, "expected %s", what);
    return -1;
}
