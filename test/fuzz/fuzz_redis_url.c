/* libFuzzer target for gw_redis_parse_url (common/redis_url.c). Input: the URL (a NUL byte ends
 * it, as for any C string).
 * Properties: either 0 with port in 1..65535, db >= 0, a non-empty NUL-terminated host that is an
 * IP literal or a host name, a NUL-terminated password, the other fields untouched; or -1 with a
 * non-empty, NUL-terminated message starting "redis URL: " and the whole struct untouched. A short
 * error buffer is never overrun. A parsed URL written back (password percent-encoded, IPv6 in
 * brackets) parses to the same host, port, password and db. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fill(gw_redis_opts_t *o)
{
    memset(o, 0x7e, sizeof(*o)); /* no NUL anywhere: a missing terminator shows */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048) return 0;
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';

    gw_redis_opts_t o, before;
    fill(&o);
    before = o;
    char err[256];
    memset(err, 'x', sizeof(err));
    int rc = gw_redis_parse_url(url, &o, err, sizeof(err));
    if (rc != 0 && rc != -1) abort();

    /* The same with an error buffer of 8 bytes in an exact-size block. */
    gw_redis_opts_t o2;
    fill(&o2);
    char *small = malloc(8);
    if (gw_redis_parse_url(url, &o2, small, 8) != rc) abort();
    if (rc < 0 && !memchr(small, '\0', 8)) abort();
    free(small);

    if (rc < 0) {
        if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "redis URL: ", 11) != 0 ||
            strlen(err) <= 11)
            abort();
        if (memcmp(&o, &before, sizeof(o)) != 0) abort();
        free(url);
        return 0;
    }

    if (o.port < 1 || o.port > 65535 || o.db < 0) abort();
    if (!memchr(o.host, '\0', sizeof(o.host)) || !o.host[0]) abort();
    if (!memchr(o.password, '\0', sizeof(o.password))) abort();
    if (memcmp(&o2, &o, sizeof(o)) != 0) abort(); /* deterministic */
    /* Fields after db are not the URL's. */
    size_t rest = offsetof(gw_redis_opts_t, connect_timeout_ms);
    if (memcmp((char *)&o + rest, (char *)&before + rest, sizeof(o) - rest) != 0) abort();
    unsigned char addr[16];
    int v6 = strchr(o.host, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, o.host, addr) != 1) {
        /* Not a literal: a host name (resolved later on the worker's loop), letters, digits,
         * '-' and '.' only. */
        if (v6) abort();
        for (const char *p = o.host; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
                abort();
    }

    /* Written back and read again: the same settings. */
    char again[1024];
    size_t n = (size_t)snprintf(again, sizeof(again), "redis://");
    if (o.password[0]) {
        again[n++] = ':';
        for (const char *p = o.password; *p; p++)
            n += (size_t)snprintf(again + n, sizeof(again) - n, "%%%02X", (unsigned char)*p);
        again[n++] = '@';
    }
    snprintf(again + n, sizeof(again) - n, v6 ? "[%s]:%d/%d" : "%s:%d/%d", o.host, o.port, o.db);
    gw_redis_opts_t o3;
    fill(&o3);
    if (gw_redis_parse_url(again, &o3, err, sizeof(err)) != 0) abort();
    if (strcmp(o3.host, o.host) != 0 || o3.port != o.port || o3.db != o.db ||
        strcmp(o3.password, o.password) != 0)
        abort();
    free(url);
    return 0;
}
