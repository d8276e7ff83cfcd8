/* Gateway keys (auth.keys.NAME.*): the table built from the configuration, and finding the
 * key a client presented by its SHA-256, compared in constant time with every entry. */
#ifndef GW_AUTH_KEYS_H
#define GW_AUTH_KEYS_H

#include <stddef.h>

#include "common/digest.h"
#include "gateway/auth/jwt.h"
#include "gateway/core/config.h"

typedef enum { GW_ROLE_READ = 1, GW_ROLE_WRITE, GW_ROLE_ADMIN } gw_role_t;

typedef struct gw_key {
    const char *name; /* the configuration's (outlives the table) */
    unsigned char sha256[GW_DIGEST_LEN];
    gw_role_t role;
    /* The role as an access grant: no allowlist → global (read / write / manage); an
     * allowlist → those collections, r for read, rw for write and admin. */
    gw_access_t access;
    const char *tenant_field, *tenant_value; /* NULL when unbound */
    double rate[2];  /* tokens per second for reads [0] and writes [1]; 0 = no limit */
    double burst[2]; /* bucket sizes */
    /* rate.global.*: per minute across replicas for reads [0] and writes [1] (0 = none), and
     * their bursts (>= 1). */
    int global_per_min[2];
    int global_burst[2];
} gw_key_t;

typedef struct gw_keys {
    size_t n;
    gw_key_t *key;
} gw_keys_t;

/* Builds the table from cfg->auth_keys. 0, or -1 with "auth.keys.NAME: problem" in err. */
int gw_keys_build(gw_keys_t *t, const gw_config_t *cfg, char *err, size_t errlen);
void gw_keys_free(gw_keys_t *t);

/* The key whose SHA-256 is that of cred, or NULL. Every entry is compared. */
const gw_key_t *gw_keys_find(const gw_keys_t *t, const char *cred, size_t len);

/* "read", "write", "admin". */
const char *gw_role_name(gw_role_t r);

#endif
