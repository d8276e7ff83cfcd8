/* JWT checks like Qdrant's: see fq_auth.h. Base64url through OpenSSL's EVP_DecodeBlock after
 * mapping the alphabet (strict: the text must re-encode to itself), HMAC through EVP_Q_mac. */
#include "fq_auth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fq_http.h"
#include "fq_store.h"

#define NOT_JWT "Invalid API key or JWT"

/* base64url (no padding) → bytes; NULL when not canonical. *n gets the length. */
static unsigned char *unb64(const char *s, size_t len, size_t *n)
{
    if (len % 4 == 1) return NULL;
    size_t padded = (len + 3) / 4 * 4;
    char *t = malloc(padded + 1);
    unsigned char *out = malloc(padded / 4 * 3 + 1);
    for (size_t i = 0; i < len; i++)
        t[i] = s[i] == '-'                                   ? '+'
               : s[i] == '_'                                 ? '/'
               : (s[i] == '+' || s[i] == '/' || s[i] == '=') ? '!'
                                                             : s[i];
    for (size_t i = len; i < padded; i++)
        t[i] = '=';
    t[padded] = 0;
    int m = padded ? EVP_DecodeBlock(out, (unsigned char *)t, (int)padded) : 0;
    if (m < 0) goto bad;
    *n = (size_t)m - (padded - len);
    /* canonical: encoding the bytes again gives the same text */
    char *back = malloc(padded + 1);
    EVP_EncodeBlock((unsigned char *)back, out, (int)*n);
    int same = strncmp(back, t, padded) == 0;
    free(back);
    if (!same) goto bad;
    free(t);
    return out;
bad:
    free(t);
    free(out);
    return NULL;
}

static json_t *part(const char *s, size_t len)
{
    size_t n;
    unsigned char *b = unb64(s, len, &n);
    json_t *j = b ? json_loadb((char *)b, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(b);
    return j;
}

/* Access as Qdrant models it: global "r"/"m", or a list (JSON array kept as is). */
typedef struct grant {
    char global; /* 'r', 'm', or 0 for a list */
    json_t *list;
} grant_t;

static int str_or_null(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return !v || json_is_null(v) || json_is_string(v);
}

/* The claims' shape (serde's Claims); 0 or -1. */
static int claims_shape(json_t *c, grant_t *g)
{
    if (!json_is_object(c) || !str_or_null(c, "sub") || !str_or_null(c, "subject")) return -1;
    json_t *exp = json_object_get(c, "exp");
    if (exp && !json_is_null(exp) && !(json_is_integer(exp) && json_integer_value(exp) >= 0))
        return -1;
    json_t *a = json_object_get(c, "access");
    g->global = 'm';
    if (a) {
        if (json_is_string(a) &&
            (!strcmp(json_string_value(a), "r") || !strcmp(json_string_value(a), "m")))
            g->global = json_string_value(a)[0];
        else if (json_is_array(a)) {
            size_t i;
            json_t *e;
            json_array_foreach(a, i, e)
            {
                json_t *m = json_object_get(e, "access");
                if (!json_is_string(json_object_get(e, "collection")) || !json_is_string(m))
                    return -1;
                const char *s = json_string_value(m);
                if (strcmp(s, "r") && strcmp(s, "rw") && strcmp(s, "prw")) return -1;
            }
            g->global = 0;
            g->list = a;
        } else
            return -1;
    }
    json_t *ve = json_object_get(c, "value_exists");
    if (ve && !json_is_null(ve)) {
        json_t *m = json_object_get(ve, "matches");
        if (!json_is_string(json_object_get(ve, "collection")) || !json_is_array(m)) return -1;
        size_t i;
        json_t *e;
        json_array_foreach(m, i, e)
        {
            json_t *v = json_object_get(e, "value");
            if (!json_is_string(json_object_get(e, "key")) ||
                !(json_is_string(v) || json_is_integer(v) || json_is_boolean(v)))
                return -1;
        }
    }
    return 0;
}

/* Claims::validate. 0 or 401 with the text. */
static int claims_valid(const grant_t *g, char *msg, size_t cap)
{
    if (!g->list) return 0;
    for (size_t i = 0; i < json_array_size(g->list); i++) {
        json_t *e = json_array_get(g->list, i), *p = json_object_get(e, "payload");
        if (p && !json_is_null(p)) {
            snprintf(msg, cap,
                     "access[%zu].payload: The 'payload' constraint is deprecated and should "
                     "not be used",
                     i);
            return 401;
        }
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_object_get(e, "collection"),
                           json_object_get(json_array_get(g->list, j), "collection"))) {
                snprintf(msg, cap, "access[%zu].collection: Collection name should be unique", i);
                return 401;
            }
    }
    return 0;
}

/* 0 with *claims, or a status and msg. */
static int decode(const char *tok, const char *secret, json_t **claims, grant_t *g, char *msg,
                  size_t cap)
{
    size_t len = strlen(tok);
    const char *s = strrchr(tok, '.');
    const char *p = NULL;
    for (const char *q = tok; s && q < s; q++)
        if (*q == '.') p = q;
    snprintf(msg, cap, NOT_JWT);
    if (!s || !p) return 401;
    json_t *h = part(tok, (size_t)(p - tok));
    int alg_ok = json_is_object(h) && json_is_string(json_object_get(h, "alg")) &&
                 strcmp(json_string_value(json_object_get(h, "alg")), "HS256") == 0 &&
                 str_or_null(h, "typ") && str_or_null(h, "kid") && str_or_null(h, "cty");
    json_decref(h);
    if (!alg_ok) return 401;
    size_t sl;
    unsigned char *sig = unb64(s + 1, len - (size_t)(s + 1 - tok), &sl);
    if (!sig) return 401;
    unsigned char mac[64];
    size_t ml = 0;
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
              (const unsigned char *)tok, (size_t)(s - tok), mac, sizeof(mac), &ml);
    int good = sl == ml && CRYPTO_memcmp(sig, mac, ml) == 0;
    free(sig);
    if (!good) {
        snprintf(msg, cap, "InvalidSignature");
        return 403;
    }
    json_t *c = part(p + 1, (size_t)(s - p - 1));
    if (!c || claims_shape(c, g) != 0) {
        json_decref(c);
        return 401;
    }
    json_t *exp = json_object_get(c, "exp");
    if (json_is_integer(exp) && json_integer_value(exp) < (json_int_t)time(NULL) - 30) {
        json_decref(c);
        snprintf(msg, cap, "ExpiredSignature");
        return 403;
    }
    int st = claims_valid(g, msg, cap);
    if (st) {
        json_decref(c);
        return st;
    }
    *claims = c;
    return 0;
}

/* What an operation needs, from ACTION_ACCESS (r, coll_rw, m; coll_r; coll_prw) and the rbac
 * checks behind it: 'o' open, 'a' any token, 'G' global read, 'M' global manage, 'R' read of
 * the collection, 'W' write of it, 'X'/'Y' read/write of its extras. */
static char need_of(const fq_route_t *r, const char *method)
{
    static const struct {
        const char *op;
        char need;
    } t[] = {
        {"get_collections", 'a'},
        {"get_collections_aliases", 'a'},
        {"telemetry", 'a'},
        {"cluster_telemetry", 'a'},
        {"get_issues", 'a'},
        {"metrics", 'G'},
        {"cluster_status", 'G'},
        {"list_full_snapshots", 'G'},
        {"get_full_snapshot", 'G'},
        {"get_quotas", 'G'},
        {"get_logger_config", 'G'},
        {"create_collection", 'M'},
        {"delete_collection", 'M'},
        {"update_collection", 'M'},
        {"update_aliases", 'M'},
        {"update_collection_cluster", 'M'},
        {"create_shard_key", 'M'},
        {"delete_shard_key", 'M'},
        {"recover_from_snapshot", 'M'},
        {"recover_from_uploaded_snapshot", 'M'},
        {"recover_shard_from_snapshot", 'M'},
        {"recover_shard_from_uploaded_snapshot", 'M'},
        {"create_field_index", 'Y'},
        {"delete_field_index", 'Y'},
        {"create_vector_name", 'Y'},
        {"delete_vector_name", 'Y'},
        {"create_snapshot", 'Y'},
        {"delete_snapshot", 'Y'},
        {"list_snapshots", 'X'},
        {"get_snapshot", 'X'},
        {"list_shard_snapshots", 'X'},
        {"stream_shard_snapshot", 'W'},
    };
    if (r->flags & FQ_R_NOAUTH) return 'o';
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (r->op && strcmp(t[i].op, r->op) == 0) return t[i].need;
    int coll = strstr(r->pattern, "{collection_name}") != NULL;
    (void)method;
    int write = (r->flags & FQ_R_WRITE) != 0;
    if (coll) return write ? 'W' : 'R';
    return write ? 'M' : 'G';
}

/* 0, or 403 with the rbac message. */
static int allowed(const grant_t *g, char need, const char *coll, char *msg, size_t cap)
{
    if (need == 'o' || need == 'a') return 0;
    int write = need == 'W' || need == 'Y' || need == 'M';
    if (g->global) {
        if (write && g->global == 'r') {
            snprintf(msg, cap, "Forbidden: Global manage access is required");
            return 403;
        }
        return 0;
    }
    if (need == 'G' || need == 'M') {
        snprintf(msg, cap, "Forbidden: Global access is required");
        return 403;
    }
    const char *mode = NULL;
    for (size_t i = 0; i < json_array_size(g->list) && !mode; i++) {
        json_t *e = json_array_get(g->list, i);
        if (strcmp(json_string_value(json_object_get(e, "collection")), coll) == 0)
            mode = json_string_value(json_object_get(e, "access"));
    }
    if (!mode) {
        snprintf(msg, cap, "Forbidden: Access to collection %s is required", coll);
        return 403;
    }
    if ((need == 'X' || need == 'Y') && strcmp(mode, "prw") == 0) {
        snprintf(msg, cap, "Forbidden: Only points access is allowed for collection %s", coll);
        return 403;
    }
    if (write && strcmp(mode, "r") == 0) {
        snprintf(msg, cap, "Forbidden: Write access to collection %s is required", coll);
        return 403;
    }
    return 0;
}

/* value_exists (Qdrant's stateful validation, a scroll on every request): the token is valid
 * while a point of the collection has each `key` equal to its `value` in its payload. 0, or 401
 * (no such point: deleting it revokes every token naming it) or 403 (no such collection). */
static int value_exists_check(fq_app_t *app, json_t *claims)
{
    json_t *ve = json_object_get(claims, "value_exists");
    if (!ve || json_is_null(ve)) return 0;
    fq_collection_t *c =
        fq_store_resolve(app->store, json_string_value(json_object_get(ve, "collection")));
    if (!c) return 403;
    json_t *m = json_object_get(ve, "matches");
    fq_point_t **pts = fq_col_sorted(c);
    for (size_t k = 0; k < c->npts; k++) {
        size_t i;
        json_t *e;
        int all = 1;
        json_array_foreach(m, i, e)
        {
            json_t *have =
                json_object_get(pts[k]->payload, json_string_value(json_object_get(e, "key")));
            if (!have || !json_equal(have, json_object_get(e, "value"))) all = 0;
        }
        if (all) return 0;
    }
    return 401;
}

int fq_auth_gate(fq_rq_t *rq)
{
    const fq_options_t *o = &rq->app->opt;
    const fq_route_t *r = rq->route;
    if (!o->jwt_rbac || !o->api_key || (r && (r->flags & FQ_R_NOAUTH))) return 0;
    const char *key = fq_http_header(rq->http, "api-key");
    if (!key) {
        const char *a = fq_http_header(rq->http, "Authorization");
        if (a && strncmp(a, "Bearer ", 7) == 0) key = a + 7;
    }
    if (!key || strcmp(key, o->api_key) == 0 || (o->ro_api_key && !strcmp(key, o->ro_api_key)))
        return 0; /* the api-key check answers */
    char msg[512];
    json_t *claims = NULL;
    grant_t g = {0, NULL};
    int st = decode(key, o->api_key, &claims, &g, msg, sizeof(msg));
    if (st) {
        fq_reply_raw(rq, st, NULL, msg);
        return 1;
    }
    if ((st = value_exists_check(rq->app, claims)) != 0) {
        json_decref(claims);
        fq_reply_raw(rq, st, NULL, "Invalid JWT, stateful validation failed");
        return 1;
    }
    if (r) {
        const char *coll = strstr(r->pattern, "{collection_name}") ? rq->params[0] : "";
        st = allowed(&g, need_of(r, rq->http->method), coll ? coll : "", msg, sizeof(msg));
    }
    json_decref(claims);
    if (st) {
        fq_fail(rq, 403, "%s", msg);
        return 1;
    }
    rq->jwt_ok = 1;
    return 0;
}
