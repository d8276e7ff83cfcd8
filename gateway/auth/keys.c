/* The gateway key table; see keys.h. */
#include "gateway/auth/keys.h"
#include "gateway/auth/tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *gw_role_name(gw_role_t r)
{
    return r == GW_ROLE_ADMIN ? "admin" : r == GW_ROLE_WRITE ? "write" : "read";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_hex(const char *s, unsigned char out[GW_DIGEST_LEN])
{
    if (strlen(s) != 2 * GW_DIGEST_LEN) return -1;
    for (size_t i = 0; i < GW_DIGEST_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* "a, b,c" → the allowlist; spaces around names are dropped, empty names refused. */
static int parse_allowlist(const char *list, gw_access_t *a, gw_coll_mode_t mode)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    if (!(a->coll = calloc(cap, sizeof(*a->coll)))) return -1;
    a->global = GW_GLOBAL_LIST;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ','), *e;
        if (!end) end = p + strlen(p);
        while (p < end && *p == ' ')
            p++;
        for (e = end; e > p && e[-1] == ' '; e--)
            ;
        if (e == p || e - p > 255) return -1;
        if (!(a->coll[a->n].name = strndup(p, (size_t)(e - p)))) return -1;
        a->coll[a->n++].mode = mode;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int build_one(gw_key_t *k, const gw_auth_key_conf_t *c, char *err, size_t errlen)
{
    k->name = c->name;
    if (parse_hex(c->sha256, k->sha256) != 0) {
        snprintf(err, errlen, "auth.keys.%s.sha256: must be 64 hex digits", c->name);
        return -1;
    }
    k->role = strcmp(c->role, "admin") == 0   ? GW_ROLE_ADMIN
              : strcmp(c->role, "write") == 0 ? GW_ROLE_WRITE
                                              : GW_ROLE_READ;
    if (c->collections[0]) {
        gw_coll_mode_t m = k->role == GW_ROLE_READ ? GW_COLL_R : GW_COLL_RW;
        if (parse_allowlist(c->collections, &k->access, m) != 0) {
            snprintf(err, errlen, "auth.keys.%s.collections: empty or over-long name", c->name);
            return -1;
        }
    } else {
        k->access.global = k->role == GW_ROLE_ADMIN   ? GW_GLOBAL_M
                           : k->role == GW_ROLE_WRITE ? GW_GLOBAL_W
                                                      : GW_GLOBAL_R;
    }
    int per_min[2] = {c->rate_read, c->rate_write};
    for (int i = 0; i < 2; i++) {
        k->rate[i] = per_min[i] / 60.0;
        double b = c->rate_burst ? c->rate_burst : per_min[i] / 60.0;
        k->burst[i] = b < 1 ? 1 : b;
    }
    k->global_per_min[0] = c->rate_global_read;
    k->global_per_min[1] = c->rate_global_write;
    for (int i = 0; i < 2; i++) {
        int b = c->rate_global_burst ? c->rate_global_burst : k->global_per_min[i] / 60;
        k->global_burst[i] = b < 1 ? 1 : b;
    }
    if (c->tenant_field[0]) {
        char why[128];
        if (gw_tenant_valid(c->tenant_field, c->tenant_value, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "auth.keys.%s.tenant: %s", c->name, why);
            return -1;
        }
        k->tenant_field = c->tenant_field;
        k->tenant_value = c->tenant_value;
    }
    return 0;
}

int gw_keys_build(gw_keys_t *t, const gw_config_t *cfg, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (!cfg->nauth_keys) return 0;
    if (!(t->key = calloc(cfg->nauth_keys, sizeof(*t->key)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->nauth_keys; i++) {
        t->n = i + 1;
        if (build_one(&t->key[i], &cfg->auth_keys[i], err, errlen) != 0) goto fail;
        for (size_t j = 0; j < i; j++)
            if (memcmp(t->key[j].sha256, t->key[i].sha256, GW_DIGEST_LEN) == 0) {
                snprintf(err, errlen, "auth.keys.%s.sha256: the same key as auth.keys.%s",
                         t->key[i].name, t->key[j].name);
                goto fail;
            }
    }
    return 0;
fail:
    gw_keys_free(t);
    return -1;
}

void gw_keys_free(gw_keys_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        gw_access_free(&t->key[i].access);
    free(t->key);
    memset(t, 0, sizeof(*t));
}

const gw_key_t *gw_keys_find(const gw_keys_t *t, const char *cred, size_t len)
{
    unsigned char d[GW_DIGEST_LEN];
    const gw_key_t *found = NULL;
    if (!t->n || gw_digest_buf(cred, len, d) != 0) return NULL;
    for (size_t i = 0; i < t->n; i++) /* no early exit: the time does not tell which matched */
        if (gw_ct_eq(d, sizeof(d), t->key[i].sha256, GW_DIGEST_LEN) && !found) found = &t->key[i];
    return found;
}
