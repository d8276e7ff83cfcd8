/* Hop-by-hop header filtering for the proxy path: a fixed list plus whatever the message's
 * Connection header names, all compared ASCII case-insensitively without NUL terminators. */
#include "gateway/http/headers.h"

#include <string.h>

/* Locale-independent: header names are ASCII tokens, and <ctype.h> would consult the locale
 * and misbehave on negative chars. */
static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

int gw_header_name_eq(const char *name, size_t len, const char *lower_literal)
{
    size_t i;

    for (i = 0; i < len; i++) {
        /* A NUL in the literal ends it before the name ends: no match (and no over-read). */
        if (lower_literal[i] == '\0' ||
            ascii_lower((unsigned char)name[i]) != (unsigned char)lower_literal[i])
            return 0;
    }
    return lower_literal[i] == '\0';
}

static int ci_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen) return 0;
    for (size_t i = 0; i < alen; i++) {
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return 0;
    }
    return 1;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Walks a comma-separated list; each element is trimmed of spaces and tabs, empty ones skipped. */
static int list_has(const char *value, size_t len, const char *tok, size_t tok_len)
{
    size_t i = 0;

    if (value == NULL || tok_len == 0) return 0;
    while (i < len) {
        size_t start = i, end;
        while (i < len && value[i] != ',')
            i++;
        end = i;
        i++; /* past the comma (or past the end, which ends the loop) */
        while (start < end && is_ows(value[start]))
            start++;
        while (end > start && is_ows(value[end - 1]))
            end--;
        if (end > start && ci_eq(value + start, end - start, tok, tok_len)) return 1;
    }
    return 0;
}

int gw_header_has_token(const char *value, size_t len, const char *lower_token)
{
    return list_has(value, len, lower_token, strlen(lower_token));
}

/* Connection and the fields RFC 9110 7.6.1 calls connection-specific (Keep-Alive, TE,
 * Transfer-Encoding, Upgrade), plus Trailer as RFC 2616 13.5.1 and Go's ReverseProxy list it.
 * Proxy-* (Proxy-Connection included) is a prefix test below. */
static const char *const hop_by_hop[] = {
    "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
};

/* Headers a Connection value cannot nominate. Letting a client strip them by listing them is the
 * hop-by-hop abuse pattern (Apache CVE-2022-31813): credentials must reach Qdrant as sent, and
 * framing and Host must not vanish between what the gateway parsed and what it forwards. */
static const char *const never_nominated[] = {
    "api-key",
    "authorization",
    "content-length",
    "host",
};

static int in_list(const char *name, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_header_name_eq(name, len, list[i])) return 1;
    }
    return 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int gw_header_is_hop_by_hop(const char *name, size_t name_len, const char *connection_value,
                            size_t connection_len)
{
    static const char proxy_prefix[] = "proxy-";

    if (name_len == 0) return 0;
    if (in_list(name, name_len, hop_by_hop, COUNT(hop_by_hop))) return 1;
    /* Proxy-Authorization, Proxy-Authenticate, Proxy-Connection, ...: credentials and state for
     * this hop's proxy, never for Qdrant. */
    if (name_len >= sizeof(proxy_prefix) - 1 &&
        gw_header_name_eq(name, sizeof(proxy_prefix) - 1, proxy_prefix))
        return 1;
    if (connection_value == NULL ||
        in_list(name, name_len, never_nominated, COUNT(never_nominated)))
        return 0;
    return list_has(connection_value, connection_len, name, name_len);
}

int gw_hdr_block_next(const char *buf, size_t len, size_t *off, gw_hdr_t *out)
{
    while (*off < len) {
        const char *line = buf + *off;
        const char *eol = memchr(line, '\n', len - *off);
        size_t ll = eol ? (size_t)(eol - line) : len - *off;
        *off += ll + (eol != NULL);
        if (ll && line[ll - 1] == '\r') ll--;
        const char *colon = memchr(line, ':', ll);
        if (!colon || colon == line) continue;
        size_t nl = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        *out = (gw_hdr_t){line, nl, v, vl};
        return 1;
    }
    return 0;
}
