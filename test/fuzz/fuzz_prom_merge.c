/* libFuzzer target for the Prometheus re-export (gw_prom_merge_add/gw_prom_merge_write in
 * common/prom.c) on arbitrary exposition text from an upstream. Input: one upstream's /metrics
 * body; it is merged as two nodes' answers (the second half of the gateway's /metrics shape:
 * label "upstream", the gateway's own names reserved).
 * Properties: the merged output is itself valid exposition text that a second merge accepts with
 * 0 dropped lines and the same number of samples; every line ends in '\n'; every sample line
 * carries the added label first; no reserved family appears; each family's HELP and TYPE are
 * written at most once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const reserved[] = {"qdrant_gateway_*", "process_cpu_seconds_total", "qdrant_up",
                                       NULL};

static size_t count_samples(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        const char *eol = memchr(p + i, '\n', len - i);
        if (!eol) abort(); /* every line ends */
        if (p[i] != '#') n++;
        i = (size_t)(eol - p) + 1;
    }
    return n;
}

static int name_is(const char *line, size_t ll, const char *prefix, size_t plen, const char *name)
{
    size_t nl = strlen(name);
    return ll > plen + nl && memcmp(line, prefix, plen) == 0 && memcmp(line + plen, name, nl) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) return 0;
    const char *text = (const char *)data;
    gw_prom_merge_t *m = gw_prom_merge_new();
    if (!m) return 0;
    gw_prom_merge_add(m, text, size, "upstream", "http://127.0.0.1:6333", reserved);
    gw_prom_merge_add(m, text, size, "upstream", "http://[fd00::2]:6333 \"b\"\\", reserved);
    gw_text_t out = {0};
    gw_prom_merge_write(m, &out);
    gw_prom_merge_free(m);
    if (out.oom) abort();
    size_t samples = count_samples(out.p, out.len);

    /* Line by line: our label first on samples, nothing reserved, HELP/TYPE at most once. */
    const char *seen_help[512], *seen_type[512];
    size_t nhelp = 0, ntype = 0;
    for (size_t i = 0; i < out.len;) {
        const char *line = out.p + i, *eol = memchr(line, '\n', out.len - i);
        size_t ll = (size_t)(eol - line);
        i += ll + 1;
        int help = ll > 7 && memcmp(line, "# HELP ", 7) == 0;
        int type = ll > 7 && memcmp(line, "# TYPE ", 7) == 0;
        if (help || type) {
            const char **seen = help ? seen_help : seen_type;
            size_t *ns = help ? &nhelp : &ntype;
            const char *name = line + 7;
            size_t nl = strcspn(name, " \n");
            for (size_t k = 0; k < *ns; k++)
                if (strncmp(seen[k], name, nl) == 0 && strcspn(seen[k], " \n") == nl) abort();
            if (*ns < 512) seen[(*ns)++] = name;
            if (name_is(line, ll, "# TYPE ", 7, "qdrant_gateway_") ||
                name_is(line, ll, "# HELP ", 7, "qdrant_gateway_"))
                abort();
            continue;
        }
        if (line[0] == '#') abort(); /* the merge writes no other comment */
        const char *brace = memchr(line, '{', ll);
        if (!brace || ll - (size_t)(brace - line) < 11 || memcmp(brace, "{upstream=\"", 11) != 0)
            abort();
        if (name_is(line, ll, "", 0, "qdrant_gateway_") || name_is(line, ll, "", 0, "qdrant_up{"))
            abort();
    }

    /* A second merge accepts every line of the first one's output. */
    gw_prom_merge_t *m2 = gw_prom_merge_new();
    if (!m2) abort();
    size_t dropped = gw_prom_merge_add(m2, out.p ? out.p : "", out.len, "gateway", "g1", NULL);
    if (dropped != 0) abort();
    gw_text_t out2 = {0};
    gw_prom_merge_write(m2, &out2);
    gw_prom_merge_free(m2);
    if (out2.oom || count_samples(out2.p, out2.len) != samples) abort();
    gw_text_free(&out2);
    gw_text_free(&out);
    return 0;
}
