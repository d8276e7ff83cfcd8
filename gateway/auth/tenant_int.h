/* Internal to gateway/auth/tenant*.c: the rewrite's context and the filter walkers shared by
 * the read rewrites (tenant_reads.c) and the write rewrites (tenant.c). */
#ifndef GW_AUTH_TENANT_INT_H
#define GW_AUTH_TENANT_INT_H

#include <jansson.h>

#include "gateway/auth/tenant.h"

typedef struct tn_ctx {
    const gw_tenant_t *t;
    char *msg;
    size_t cap;
    int status; /* 400 or 403 once refused */
} tn_ctx_t;

/* Refusals: fill x->msg ("Forbidden: tenant-bound credential (FIELD): ..." / "Format error in
 * JSON body: ...") and return -1. */
int tn_forbid(tn_ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tn_bad(tn_ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when a payload key path names the tenant field (its first segment, quoted or not). */
int tn_names_field(const tn_ctx_t *x, const char *key);

/* Checks the client's filter (any depth): conditions on the tenant field other than the exact
 * bound match are refused. 0 / -1. */
int tn_check_filter(tn_ctx_t *x, json_t *f, int depth);

/* Joins the tenant condition to the `must` of obj[name] (creating the filter when absent or
 * null), after checking the client's part. 0 / -1. */
int tn_inject(tn_ctx_t *x, json_t *obj, const char *name);

/* The tenant condition, new reference. */
json_t *tn_condition(const tn_ctx_t *x);

/* Read bodies (tenant_reads.c), each 0 / -1. */
int tn_search(tn_ctx_t *x, json_t *b);    /* search, groups, matrix, facet, scroll, count */
int tn_query(tn_ctx_t *x, json_t *b);     /* query, query groups (prefetches too) */
int tn_recommend(tn_ctx_t *x, json_t *b); /* recommend, recommend groups */
int tn_discover(tn_ctx_t *x, json_t *b);
/* {"searches": [...]}, each through fn. */
int tn_batch(tn_ctx_t *x, json_t *b, int (*fn)(tn_ctx_t *, json_t *));

#endif
