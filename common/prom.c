/* Prometheus text exposition: writing, and merging other exporters' output. */
#include "common/prom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint64_t gw_hist_bounds_us[GW_HIST_BOUNDS] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,    25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* ---- writing ------------------------------------------------------------------------------- */

void gw_prom_family(gw_text_t *t, const char *name, const char *type, const char *help)
{
    gw_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void gw_prom_sample(gw_text_t *t, const char *name, const char *labels, double value)
{
    if (labels && labels[0])
        gw_text_printf(t, "%s{%s} %.17g\n", name, labels, value);
    else
        gw_text_printf(t, "%s %.17g\n", name, value);
}

void gw_prom_sample_u64(gw_text_t *t, const char *name, const char *labels, uint64_t value)
{
    if (labels && labels[0])
        gw_text_printf(t, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
    else
        gw_text_printf(t, "%s %llu\n", name, (unsigned long long)value);
}

void gw_prom_histogram(gw_text_t *t, const char *name, const char *labels,
                       const gw_hist_t *const *h, size_t n)
{
    const char *sep = labels && labels[0] ? "," : "";
    const char *lb = labels ? labels : "";
    uint64_t cum = 0, sum = 0;
    for (int b = 0; b <= GW_HIST_BOUNDS; b++) {
        for (size_t i = 0; i < n; i++)
            cum += gw_stat_get(&h[i]->bucket[b]);
        if (b < GW_HIST_BOUNDS)
            gw_text_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lb, sep,
                           (double)gw_hist_bounds_us[b] / 1e6, (unsigned long long)cum);
        else
            gw_text_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lb, sep,
                           (unsigned long long)cum);
    }
    for (size_t i = 0; i < n; i++)
        sum += gw_stat_get(&h[i]->sum_us);
    /* Buckets and count are read while workers write: _count is the +Inf bucket, so the two
     * always agree, as the exposition format requires. */
    if (labels && labels[0]) {
        gw_text_printf(t, "%s_sum{%s} %.9f\n", name, labels, (double)sum / 1e6);
        gw_text_printf(t, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
    } else {
        gw_text_printf(t, "%s_sum %.9f\n", name, (double)sum / 1e6);
        gw_text_printf(t, "%s_count %llu\n", name, (unsigned long long)cum);
    }
}

void gw_prom_escape(const char *v, char *out, size_t cap)
{
    size_t o = 0;
    for (; *v && o + 3 < cap; v++) {
        if (*v == '\\' || *v == '"') {
            out[o++] = '\\';
            out[o++] = *v;
        } else if (*v == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *v;
        }
    }
    out[o] = '\0';
}

/* ---- merging ------------------------------------------------------------------------------- */

typedef struct fam {
    char name[200];
    char *help, *type;
    gw_text_t samples;
} fam_t;

struct gw_prom_merge {
    fam_t *f;
    size_t n, cap;
};

gw_prom_merge_t *gw_prom_merge_new(void)
{
    return calloc(1, sizeof(gw_prom_merge_t));
}

void gw_prom_merge_free(gw_prom_merge_t *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->f[i].help);
        free(m->f[i].type);
        gw_text_free(&m->f[i].samples);
    }
    free(m->f);
    free(m);
}

static fam_t *merge_family(gw_prom_merge_t *m, const char *name, size_t len)
{
    if (len >= sizeof(m->f[0].name)) return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->f[i].name) == len && memcmp(m->f[i].name, name, len) == 0) return &m->f[i];
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        fam_t *f = realloc(m->f, cap * sizeof(*f));
        if (!f) return NULL;
        m->f = f;
        m->cap = cap;
    }
    fam_t *f = &m->f[m->n++];
    memset(f, 0, sizeof(*f));
    memcpy(f->name, name, len);
    return f;
}

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

static size_t name_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && name_char(s[i], i == 0))
        i++;
    return i;
}

/* Does sample `s` belong to family `f` (histogram/summary/counter suffixes)? */
static int in_family(const fam_t *f, const char *s, size_t sl)
{
    static const char *const suffixes[] = {"",       "_bucket",  "_sum", "_count",
                                           "_total", "_created", "_info"};
    size_t fl = strlen(f->name);
    if (sl < fl || memcmp(s, f->name, fl) != 0) return 0;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (sl - fl == strlen(suffixes[i]) && memcmp(s + fl, suffixes[i], sl - fl) == 0) return 1;
    return 0;
}

static int reserved_name(const char *name, size_t len, const char *const *reserved)
{
    for (; reserved && *reserved; reserved++) {
        size_t rl = strlen(*reserved);
        if (rl && (*reserved)[rl - 1] == '*') {
            if (len >= rl - 1 && memcmp(*reserved, name, rl - 1) == 0) return 1;
        } else if (rl == len && memcmp(*reserved, name, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* "# HELP name text" / "# TYPE name type": records it on the family; 0, or -1 if malformed. */
static int merge_meta(gw_prom_merge_t *m, const char *line, size_t len, fam_t **cur,
                      const char *const *reserved)
{
    int help = len > 7 && memcmp(line, "# HELP ", 7) == 0;
    int type = len > 7 && memcmp(line, "# TYPE ", 7) == 0;
    if (!help && !type) return 0; /* another comment: ignored */
    const char *name = line + 7;
    size_t nl = name_len(name, len - 7);
    if (nl == 0) return -1;
    const char *rest = name + nl;
    size_t rl = len - 7 - nl;
    if (rl && *rest == ' ') rest++, rl--;
    if (reserved_name(name, nl, reserved)) {
        *cur = NULL;
        return 0;
    }
    fam_t *f = merge_family(m, name, nl);
    if (!f) return -1;
    char **slot = help ? &f->help : &f->type;
    if (!*slot) *slot = strndup(rest, rl);
    *cur = f;
    return 0;
}

/* A sample line, relabelled; 0, or -1 if malformed. */
static int merge_sample(gw_prom_merge_t *m, const char *line, size_t len, fam_t **cur,
                        const char *label, const char *value, const char *const *reserved)
{
    size_t nl = name_len(line, len);
    if (nl == 0 || memchr(line, '\0', len)) return -1; /* a NUL would cut the copy short */
    const char *p = line + nl, *end = line + len;
    const char *labels = NULL;
    size_t ll = 0;
    if (p < end && *p == '{') {
        const char *q = p + 1;
        int quoted = 0;
        for (; q < end && (quoted || *q != '}'); q++) {
            if (*q == '\\' && quoted && q + 1 < end)
                q++;
            else if (*q == '"')
                quoted = !quoted;
        }
        if (q >= end) return -1;
        labels = p + 1;
        ll = (size_t)(q - labels);
        p = q + 1;
    }
    if (p >= end || *p != ' ') return -1;
    while (p < end && *p == ' ')
        p++;
    char num[64];
    size_t vl = 0;
    while (p + vl < end && p[vl] != ' ')
        vl++;
    if (vl == 0 || vl >= sizeof(num)) return -1;
    memcpy(num, p, vl);
    num[vl] = '\0';
    char *numend;
    strtod(num, &numend);
    if (*numend != '\0') return -1;
    if (reserved_name(line, nl, reserved)) return 0;
    fam_t *f = *cur && in_family(*cur, line, nl) ? *cur : merge_family(m, line, nl);
    if (!f) return -1;
    *cur = f;
    gw_text_printf(&f->samples, "%.*s{%s=\"%s\"%s%.*s} %.*s\n", (int)nl, line, label, value,
                   ll ? "," : "", (int)ll, labels ? labels : "", (int)(end - p), p);
    return 0;
}

size_t gw_prom_merge_add(gw_prom_merge_t *m, const char *text, size_t len, const char *label,
                         const char *value, const char *const *reserved)
{
    size_t off = 0, dropped = 0;
    fam_t *cur = NULL;
    char esc[256];
    gw_prom_escape(value, esc, sizeof(esc));
    while (off < len) {
        const char *line = text + off;
        const char *eol = memchr(line, '\n', len - off);
        size_t ll = eol ? (size_t)(eol - line) : len - off;
        off += ll + 1;
        if (ll && line[ll - 1] == '\r') ll--;
        if (ll == 0) continue;
        int rc = line[0] == '#' ? merge_meta(m, line, ll, &cur, reserved)
                                : merge_sample(m, line, ll, &cur, label, esc, reserved);
        if (rc != 0) dropped++;
    }
    return dropped;
}

void gw_prom_merge_write(gw_prom_merge_t *m, gw_text_t *t)
{
    for (size_t i = 0; i < m->n; i++) {
        fam_t *f = &m->f[i];
        if (f->samples.len == 0) continue;
        if (f->help) gw_text_printf(t, "# HELP %s %s\n", f->name, f->help);
        if (f->type) gw_text_printf(t, "# TYPE %s %s\n", f->name, f->type);
        gw_text_add(t, f->samples.p, f->samples.len);
    }
}
