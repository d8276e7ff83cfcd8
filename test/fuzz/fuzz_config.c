/* libFuzzer target for the YAML configuration loader: the gateway's key table
 * (gateway/core/config.c) through yconf_load_buffer (common/yconf*.c), as gw_config_load_file
 * applies a file. Input: the file's bytes. It is named fuzz.yaml in a private temporary
 * directory that also holds small files to include (the names gateway.yaml includes, a file with
 * a bad value and one that includes itself), so includes are exercised without reaching outside.
 * Properties (leaks are LeakSanitizer's):
 * - any bytes either load, or fail with one line "FILE:LINE: ..." where FILE is the buffer or
 *   one of the included files and LINE a number >= 1, also into a short buffer without overrun;
 * - a loaded configuration dumps (secrets included) to YAML that loads into a fresh
 *   configuration and dumps to the same text (the effective config round-trips), and
 *   gw_config_finalize either accepts it or says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz_config.XXXXXX";
static char name[sizeof(dir) + 16];

static const struct {
    const char *file, *text;
} includes[] = {
    {"connection-pools.yaml", "upstream:\n  max_connections: 64\n  idle_timeout: 4s\n"},
    {"performance.yaml", "server:\n  workers: 2\nlimits:\n  max_body_bytes: 32MiB\n"},
    {"caching.yaml", "cache:\n  enabled: true\n  ttl: 60s\n  redis:\n    url: \"\"\n"},
    {"models.yaml", "models:\n  minilm:\n    collection: docs\n    dimension: 384\n"},
    {"bad.yaml", "server:\n  workers: lots\n"},
    {"loop.yaml", "include: loop.yaml\n"},
};
#define NINC (sizeof(includes) / sizeof(includes[0]))

static void cleanup(void)
{
    char p[sizeof(dir) + 32];
    for (size_t i = 0; i < NINC; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, includes[i].file);
        unlink(p);
    }
    rmdir(dir);
}

static void setup(void)
{
    if (!mkdtemp(dir)) abort();
    char p[sizeof(dir) + 32];
    for (size_t i = 0; i < NINC; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, includes[i].file);
        FILE *f = fopen(p, "w");
        if (!f) abort();
        fputs(includes[i].text, f);
        fclose(f);
    }
    snprintf(name, sizeof(name), "%s/fuzz.yaml", dir);
    atexit(cleanup);
}

/* "FILE:LINE: ..." with FILE ours, LINE >= 1; one line of printable text. */
static void check_error(const char *err, size_t cap)
{
    if (!memchr(err, '\0', cap)) abort();
    for (const char *s = err; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) abort();
    size_t dl = strlen(dir);
    if (strncmp(err, dir, dl) != 0 || err[dl] != '/') abort();
    const char *f = err + dl + 1, *colon = strchr(f, ':');
    if (!colon) abort();
    int known = colon - f == 9 && memcmp(f, "fuzz.yaml", 9) == 0;
    for (size_t i = 0; i < NINC && !known; i++)
        known = strlen(includes[i].file) == (size_t)(colon - f) &&
                memcmp(f, includes[i].file, (size_t)(colon - f)) == 0;
    if (!known) abort();
    char *end;
    unsigned long line = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || line < 1 || end[0] != ':' || end[1] != ' ' || !end[2]) abort();
}

static char *dump(const gw_config_t *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f) abort();
    yconf_dump(gw_config_keys(), c, f, YCONF_DUMP_SECRETS);
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    if (!name[0]) setup();
    const char *buf = (const char *)data;
    char err[512];
    gw_config_t *c = gw_config_new();
    if (!c) return 0;
    int rc = yconf_load_buffer(gw_config_keys(), c, name, buf, size, err, sizeof(err));
    if (rc != 0 && rc != -1) abort();

    /* Again into a short error buffer (exact-size block): same outcome, no overrun. */
    gw_config_t *c2 = gw_config_new();
    char *small = malloc(16);
    if (!c2 || !small) abort();
    if (yconf_load_buffer(gw_config_keys(), c2, name, buf, size, small, 16) != rc) abort();
    if (rc < 0 && !memchr(small, '\0', 16)) abort();
    free(small);
    gw_config_free(c2);

    if (rc < 0) {
        check_error(err, sizeof(err));
        gw_config_free(c);
        return 0;
    }
    size_t l1 = 0, l2 = 0;
    char *d1 = dump(c, &l1);
    gw_config_t *back = gw_config_new();
    if (!back) abort();
    if (yconf_load_buffer(gw_config_keys(), back, name, d1, l1, err, sizeof(err)) != 0) {
        fprintf(stderr, "dump does not load back: %s\n---\n%s---\n", err, d1);
        abort();
    }
    char *d2 = dump(back, &l2);
    if (l1 != l2 || memcmp(d1, d2, l1) != 0) {
        fprintf(stderr, "dump differs after reload:\n---\n%s---\n%s---\n", d1, d2);
        abort();
    }
    free(d1);
    free(d2);
    gw_config_free(back);
    err[0] = '\0';
    if (gw_config_finalize(c, err, sizeof(err)) != 0 && !err[0]) abort();
    gw_config_free(c);
    return 0;
}
