/* Parsing upstream.url once at startup; see resolve.h. */
#include "gateway/upstream/resolve.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

int gw_upstream_parse(const char *url, gw_upstream_target_t *t)
{
    memset(t, 0, sizeof(*t));
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        gw_log_error("upstream.url %s does not parse", url);
        goto done;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when written in the URL */
    snprintf(t->authority, sizeof(t->authority), "%s%s%s", host, port ? ":" : "", port ? port : "");
    size_t hl = strlen(host);
    int bracketed = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    snprintf(t->host, sizeof(t->host), "%.*s", (int)(bracketed ? hl - 2 : hl), host + bracketed);
    t->port = atoi(dport);
    t->https = strcmp(scheme, "https") == 0;
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--; /* the request target brings its own leading slash */
    snprintf(t->url, sizeof(t->url), "%.*s", (int)ul, url);
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(dport);
    curl_url_cleanup(u);
    return rc;
}

int gw_upstream_parse_all(const char *list, const char *one, gw_upstream_targets_t *ts)
{
    memset(ts, 0, sizeof(*ts));
    if (!list || !list[0]) {
        ts->n = 1;
        return gw_upstream_parse(one, &ts->t[0]);
    }
    const char *p = list;
    char url[512];
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == 0) break;
        if (ts->n == GW_UPSTREAM_MAX_PEERS || n >= sizeof(url)) {
            gw_log_error("upstream.urls: more than %d peers, or one too long",
                         GW_UPSTREAM_MAX_PEERS);
            return -1;
        }
        memcpy(url, p, n);
        url[n] = '\0';
        if (gw_upstream_parse(url, &ts->t[ts->n]) != 0) return -1;
        ts->n++;
        p += n;
    }
    return ts->n > 0 ? 0 : -1;
}
