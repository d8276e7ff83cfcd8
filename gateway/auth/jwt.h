/* Qdrant's JWTs (Qdrant >= 1.9, `service.jwt_rbac`), verified the way Qdrant 1.19 verifies
 * them (src/common/auth/jwt_parser.rs on jsonwebtoken 10): HS256 only, signed with Qdrant's
 * api_key; claims `exp` (30 s leeway by default), `access`, `value_exists`, `sub`, `subject`.
 * Pure functions: no I/O, no clock (the caller passes `now`), thread-safe. */
#ifndef GW_AUTH_JWT_H
#define GW_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

/* Global access levels. GW_GLOBAL_W exists only for gateway keys (role write without an
 * allowlist: write on every collection, no global manage). */
typedef enum {
    GW_GLOBAL_LIST = 0, /* not global: the collection list applies */
    GW_GLOBAL_R,        /* "r" */
    GW_GLOBAL_W,
    GW_GLOBAL_M, /* "m", or no `access` claim at all */
} gw_global_mode_t;

/* Per-collection modes ("access" list entries). */
typedef enum {
    GW_COLL_R = 1, /* "r" */
    GW_COLL_RW,    /* "rw" */
    GW_COLL_PRW,   /* "prw": points read-write, no snapshots, indexes or cluster info */
} gw_coll_mode_t;

typedef struct gw_access_coll {
    char *name; /* heap, NUL-terminated */
    gw_coll_mode_t mode;
} gw_access_coll_t;

typedef struct gw_access {
    gw_global_mode_t global;
    size_t n; /* GW_GLOBAL_LIST only */
    gw_access_coll_t *coll;
} gw_access_t;

#define GW_JWT_MAX_COLLECTIONS 1024 /* longer access lists are refused (401) */

typedef struct gw_jwt_claims {
    gw_access_t access;
    int has_exp, has_nbf;
    uint64_t exp;
    int64_t nbf;
    char *sub;     /* NULL when absent */
    char *subject; /* NULL when absent */
    /* value_exists: parsed and checked for shape; the existence scroll is left to Qdrant,
     * which receives the token too. */
    char *value_exists_collection; /* NULL when absent */
    size_t value_exists_matches;
    /* tenant: {field, value}, the gateway's own claim (gateway/auth/tenant.h); NULL when
     * absent. A malformed one is refused (401): the gateway could not enforce it. */
    char *tenant_field, *tenant_value;
} gw_jwt_claims_t;

typedef struct gw_jwt_opts {
    const unsigned char *secret; /* HMAC key: Qdrant's api_key */
    size_t secret_len;
    uint64_t now;     /* seconds since the epoch */
    uint64_t leeway;  /* seconds, for exp (and nbf) */
    int check_nbf;    /* Qdrant does not validate nbf; the gateway can */
    size_t max_bytes; /* longer tokens are refused before any parsing */
} gw_jwt_opts_t;

/* Verifies token (len bytes, no NUL needed) and fills *out (free with gw_jwt_claims_free,
 * also after a failure). Returns 0, or the status Qdrant answers with and its plain-text body
 * in msg: 401 "Invalid API key or JWT" for anything that is not a well-formed HS256 token of
 * valid claims (Qdrant's parser returns None), 403 "InvalidSignature" / "ExpiredSignature",
 * 401 with the validation text for claims Qdrant's validator refuses. */
int gw_jwt_verify(const char *token, size_t len, const gw_jwt_opts_t *o, gw_jwt_claims_t *out,
                  char *msg, size_t cap);
void gw_jwt_claims_free(gw_jwt_claims_t *c);
void gw_access_free(gw_access_t *a);

/* Strict base64url without padding (what jsonwebtoken accepts): no '=', no other alphabet,
 * unused trailing bits must be zero. Returns the decoded length, or -1 (invalid or > cap). */
long gw_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);
/* Encodes without padding; out needs 4 * ceil(len / 3) + 1 bytes. Returns the length. */
size_t gw_b64url_encode(const unsigned char *in, size_t len, char *out);

/* Constant-time equality of two buffers (the time depends only on the lengths). */
int gw_ct_eq(const void *a, size_t alen, const void *b, size_t blen);

#endif
