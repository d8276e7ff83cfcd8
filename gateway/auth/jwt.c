/* HS256 JWT verification in the order jsonwebtoken 10 (Qdrant 1.19) applies its checks:
 * split, header, algorithm, signature, claims shape, exp, then Qdrant's own validation. */
#include "gateway/auth/jwt.h"
#include "gateway/auth/tenant.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_JWT "Invalid API key or JWT"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

long gw_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    if (len % 4 == 1) return -1;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) return -1; /* non-canonical: the unused trailing bits must be zero */
    return (long)o;
}

size_t gw_b64url_encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

int gw_ct_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a, *y = b;
    unsigned char d = alen != blen;
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

void gw_access_free(gw_access_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->coll[i].name);
    free(a->coll);
    memset(a, 0, sizeof(*a));
}

void gw_jwt_claims_free(gw_jwt_claims_t *c)
{
    if (!c) return;
    gw_access_free(&c->access);
    free(c->sub);
    free(c->subject);
    free(c->value_exists_collection);
    free(c->tenant_field);
    free(c->tenant_value);
    memset(c, 0, sizeof(*c));
}

static int fail(char *msg, size_t cap, int status, const char *text)
{
    snprintf(msg, cap, "%s", text);
    return status;
}

/* base64url then JSON (duplicate keys refused, as serde does for struct fields). */
static json_t *decode_part(const char *p, size_t len)
{
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    if (!buf) return NULL;
    long n = gw_b64url_decode(p, len, buf, len / 4 * 3 + 3);
    json_t *j =
        n < 0 ? NULL : json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    return j;
}

static int opt_string(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return !v || json_is_null(v) || json_is_string(v);
}

/* The JOSE header: an object whose "alg" is HS256, optional string fields of the right type. */
static int header_ok(json_t *h)
{
    static const char *const strs[] = {"typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256"};
    if (!json_is_object(h)) return 0;
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0) return 0;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (!opt_string(h, strs[i])) return 0;
    return 1;
}

static int dup_string(json_t *v, char **out)
{
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    *out = strdup(json_string_value(v));
    return *out ? 0 : -1;
}

static int parse_coll_mode(const char *s, gw_coll_mode_t *m)
{
    if (strcmp(s, "r") == 0)
        *m = GW_COLL_R;
    else if (strcmp(s, "rw") == 0)
        *m = GW_COLL_RW;
    else if (strcmp(s, "prw") == 0)
        *m = GW_COLL_PRW;
    else
        return -1;
    return 0;
}

/* `access`: absent = full; "r" | "m" | [{collection, access, payload?}]. -1: wrong shape. */
static int parse_access(json_t *v, gw_access_t *a, int *payload_at)
{
    *payload_at = -1;
    if (!v) {
        a->global = GW_GLOBAL_M;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "r") == 0)
            a->global = GW_GLOBAL_R;
        else if (strcmp(s, "m") == 0)
            a->global = GW_GLOBAL_M;
        else
            return -1;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > GW_JWT_MAX_COLLECTIONS) return -1;
    a->global = GW_GLOBAL_LIST;
    size_t n = json_array_size(v);
    a->coll = calloc(n ? n : 1, sizeof(*a->coll));
    if (!a->coll) return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i), *c = json_object_get(e, "collection"),
               *m = json_object_get(e, "access"), *p = json_object_get(e, "payload");
        if (!json_is_object(e) || !json_is_string(c) || !json_is_string(m)) return -1;
        if (parse_coll_mode(json_string_value(m), &a->coll[i].mode) != 0) return -1;
        if (!(a->coll[i].name = strdup(json_string_value(c)))) return -1;
        a->n = i + 1;
        if (p && !json_is_null(p) && *payload_at < 0) *payload_at = (int)i;
    }
    return 0;
}

/* value_exists: {collection: string, matches: [{key: string, value: string|integer|bool}]}. */
static int parse_value_exists(json_t *v, gw_jwt_claims_t *c)
{
    if (!v || json_is_null(v)) return 0;
    json_t *coll = json_object_get(v, "collection"), *m = json_object_get(v, "matches");
    if (!json_is_object(v) || !json_is_string(coll) || !json_is_array(m)) return -1;
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *e = json_array_get(m, i), *val = json_object_get(e, "value");
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "key"))) return -1;
        if (!(json_is_string(val) || json_is_integer(val) || json_is_boolean(val))) return -1;
    }
    c->value_exists_matches = json_array_size(m);
    return dup_string(coll, &c->value_exists_collection);
}

/* The gateway's own claim, tenant: {field, value} (Qdrant ignores unknown claims). 0, or 401
 * with the reason in msg. */
static int parse_tenant(json_t *v, gw_jwt_claims_t *c, char *msg, size_t cap)
{
    if (!v || json_is_null(v)) return 0;
    json_t *f = json_object_get(v, "field"), *val = json_object_get(v, "value");
    char why[128];
    if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_string(f) ||
        !json_is_string(val))
        return fail(msg, cap, 401, "tenant: expected {\"field\": string, \"value\": string}");
    if (gw_tenant_valid(json_string_value(f), json_string_value(val), why, sizeof(why)) != 0 ||
        strlen(json_string_value(val)) != json_string_length(val)) {
        snprintf(msg, cap, "tenant: %s", why);
        return 401;
    }
    if (dup_string(f, &c->tenant_field) != 0 || dup_string(val, &c->tenant_value) != 0)
        return fail(msg, cap, 401, NOT_JWT);
    return 0;
}

/* exp: u64; nbf: i64 (only read when checked). */
static int parse_times(json_t *p, gw_jwt_claims_t *c)
{
    json_t *exp = json_object_get(p, "exp");
    if (exp && !json_is_null(exp)) {
        if (!json_is_integer(exp) || json_integer_value(exp) < 0) return -1;
        c->has_exp = 1;
        c->exp = (uint64_t)json_integer_value(exp);
    }
    json_t *nbf = json_object_get(p, "nbf");
    if (json_is_integer(nbf)) {
        c->has_nbf = 1;
        c->nbf = json_integer_value(nbf);
    }
    return 0;
}

/* Qdrant's Claims::validate: no `payload` constraint, each collection once. */
static int validate_access(const gw_access_t *a, int payload_at, char *msg, size_t cap)
{
    if (payload_at >= 0) {
        snprintf(msg, cap,
                 "access[%d].payload: The 'payload' constraint is deprecated and should not be "
                 "used",
                 payload_at);
        return 401;
    }
    for (size_t i = 1; i < a->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->coll[i].name, a->coll[j].name) == 0) {
                snprintf(msg, cap, "access[%zu].collection: Collection name should be unique", i);
                return 401;
            }
    return 0;
}

static int check_signature(const char *token, size_t msg_len, const char *sig, size_t sig_len,
                           const gw_jwt_opts_t *o)
{
    unsigned char given[64], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    long n = gw_b64url_decode(sig, sig_len, given, sizeof(given));
    if (n < 0) return -1; /* not base64: not a JWT */
    if (!HMAC(EVP_sha256(), o->secret, (int)o->secret_len, (const unsigned char *)token, msg_len,
              mac, &mac_len))
        return 0;
    return gw_ct_eq(given, (size_t)n, mac, mac_len) ? 1 : 0;
}

static int verify_claims(json_t *p, const gw_jwt_opts_t *o, gw_jwt_claims_t *out, char *msg,
                         size_t cap)
{
    int payload_at;
    if (!json_is_object(p) || parse_times(p, out) != 0 ||
        dup_string(json_object_get(p, "sub"), &out->sub) != 0 ||
        dup_string(json_object_get(p, "subject"), &out->subject) != 0 ||
        parse_access(json_object_get(p, "access"), &out->access, &payload_at) != 0 ||
        parse_value_exists(json_object_get(p, "value_exists"), out) != 0)
        return fail(msg, cap, 401, NOT_JWT);
    if (out->has_exp && o->now > o->leeway && out->exp < o->now - o->leeway)
        return fail(msg, cap, 403, "ExpiredSignature");
    if (o->check_nbf && out->has_nbf && out->nbf > (int64_t)(o->now + o->leeway))
        return fail(msg, cap, 401, NOT_JWT); /* jsonwebtoken's ImmatureSignature */
    int st = validate_access(&out->access, payload_at, msg, cap);
    return st ? st : parse_tenant(json_object_get(p, "tenant"), out, msg, cap);
}

int gw_jwt_verify(const char *token, size_t len, const gw_jwt_opts_t *o, gw_jwt_claims_t *out,
                  char *msg, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (len > o->max_bytes || !o->secret_len) return fail(msg, cap, 401, NOT_JWT);
    const char *dot2 = memrchr(token, '.', len);
    const char *dot1 = dot2 ? memrchr(token, '.', (size_t)(dot2 - token)) : NULL;
    if (!dot1) return fail(msg, cap, 401, NOT_JWT);
    json_t *h = decode_part(token, (size_t)(dot1 - token));
    int ok = header_ok(h);
    json_decref(h);
    if (!ok) return fail(msg, cap, 401, NOT_JWT);
    int sig = check_signature(token, (size_t)(dot2 - token), dot2 + 1,
                              len - (size_t)(dot2 + 1 - token), o);
    if (sig < 0) return fail(msg, cap, 401, NOT_JWT);
    if (sig == 0) return fail(msg, cap, 403, "InvalidSignature");
    json_t *p = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!p) return fail(msg, cap, 401, NOT_JWT);
    int st = verify_claims(p, o, out, msg, cap);
    json_decref(p);
    return st;
}
