/* Prometheus text exposition format 0.0.4 (into a gw_text_t): family headers, samples,
 * histograms built from gw_hist_t, label escaping, and re-exporting another exporter's text
 * with an extra label (families merged across sources, so each is written exactly once). */
#ifndef GW_COMMON_PROM_H
#define GW_COMMON_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/stat.h"
#include "common/text.h"

/* "# HELP name help\n# TYPE name type\n". */
void gw_prom_family(gw_text_t *t, const char *name, const char *type, const char *help);
/* "name{labels} value\n"; labels is the inside of {} ("" or NULL: none). */
void gw_prom_sample(gw_text_t *t, const char *name, const char *labels, double value);
void gw_prom_sample_u64(gw_text_t *t, const char *name, const char *labels, uint64_t value);
/* name_bucket{labels,le="…"} cumulative counts, then name_sum (seconds) and name_count, from
 * one or more histograms added together (n >= 1). */
void gw_prom_histogram(gw_text_t *t, const char *name, const char *labels,
                       const gw_hist_t *const *h, size_t n);
/* Writes v escaped for a label value (backslash, double quote, newline) into out. */
void gw_prom_escape(const char *v, char *out, size_t cap);

/* Collects families from other exporters and writes them merged. */
typedef struct gw_prom_merge gw_prom_merge_t;
gw_prom_merge_t *gw_prom_merge_new(void);
/* Adds the samples of `text`, each with label `label="value"` added in front of its own
 * labels. Families whose name is in `reserved` (NULL-terminated list; names we export
 * ourselves; an entry ending in '*' is a prefix: "app_*" reserves every app_ name) are skipped.
 * Lines that are not valid exposition lines are dropped and counted. Returns the number of dropped
 * lines. */
size_t gw_prom_merge_add(gw_prom_merge_t *m, const char *text, size_t len, const char *label,
                         const char *value, const char *const *reserved);
/* Writes every family once: HELP and TYPE from the first source that had them, then all
 * samples of all sources. */
void gw_prom_merge_write(gw_prom_merge_t *m, gw_text_t *t);
void gw_prom_merge_free(gw_prom_merge_t *m);

#endif
