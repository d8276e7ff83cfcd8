/* Unit tests for gateway/auth: base64url, HS256 JWT verification with Qdrant's answers (the
 * battery of issue 16: valid r/rw/m, expired, nbf, wrong key, alg none/HS512/RS256, tampered,
 * missing claims, bad claims, huge), the route → need table, access checks with Qdrant's
 * texts, and the gateway key table. Tokens are signed here with OpenSSL's HMAC. */
#include "gateway/auth/jwt.h"
#include "gateway/auth/keys.h"
#include "gateway/auth/rules.h"
#include "unit_util.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "s3cret"
#define NOW    1700000000ull

static char *b64(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 8);
    gw_b64url_encode((const unsigned char *)s, strlen(s), out);
    return out;
}

/* header.payload.signature, signed with key. */
static char *sign(const char *header, const char *payload, const char *key)
{
    char *h = b64(header), *p = b64(payload);
    size_t n = strlen(h) + strlen(p) + 64;
    char *tok = malloc(n);
    snprintf(tok, n, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)tok, strlen(tok), mac, &ml);
    char sig[64];
    gw_b64url_encode(mac, ml, sig);
    strcat(tok, ".");
    strcat(tok, sig);
    free(h);
    free(p);
    return tok;
}

static int verify(const char *tok, gw_jwt_claims_t *c, char *msg)
{
    gw_jwt_opts_t o = {(const unsigned char *)SECRET, strlen(SECRET), NOW, 30, 1, 8192};
    return gw_jwt_verify(tok, strlen(tok), &o, c, msg, 256);
}

static int verify_payload(const char *header, const char *payload, const char *key, char *msg)
{
    gw_jwt_claims_t c;
    char *tok = sign(header, payload, key);
    int st = verify(tok, &c, msg);
    gw_jwt_claims_free(&c);
    free(tok);
    return st;
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

START_TEST(test_b64url)
{
    unsigned char out[16];
    char enc[32];
    ck_assert_int_eq(gw_b64url_decode("YWJj", 4, out, sizeof(out)), 3);
    ck_assert_int_eq(memcmp(out, "abc", 3), 0);
    ck_assert_int_eq(gw_b64url_decode("YWI", 3, out, sizeof(out)), 2);
    ck_assert_int_eq(gw_b64url_decode("YWJ", 3, out, sizeof(out)), -1);  /* trailing bits */
    ck_assert_int_eq(gw_b64url_decode("YWI=", 4, out, sizeof(out)), -1); /* padding */
    ck_assert_int_eq(gw_b64url_decode("Y+I", 3, out, sizeof(out)), -1);  /* not url alphabet */
    ck_assert_int_eq(gw_b64url_decode("Y", 1, out, sizeof(out)), -1);
    ck_assert_int_eq(gw_b64url_decode("YWJjYWJjYWJj", 12, out, 8), -1); /* too long for cap */
    ck_assert_uint_eq(gw_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc), 3);
    ck_assert_str_eq(enc, "-_8");
    ck_assert(gw_ct_eq("ab", 2, "ab", 2));
    ck_assert(!gw_ct_eq("ab", 2, "ac", 2));
    ck_assert(!gw_ct_eq("ab", 2, "abc", 3));
}
END_TEST

START_TEST(test_valid_tokens)
{
    gw_jwt_claims_t c;
    char msg[256] = "";
    char *t = sign(HS256, "{\"access\":\"r\",\"exp\":1700000100,\"sub\":\"svc\"}", SECRET);
    ck_assert_int_eq(verify(t, &c, msg), 0);
    ck_assert_int_eq(c.access.global, GW_GLOBAL_R);
    ck_assert_str_eq(c.sub, "svc");
    gw_jwt_claims_free(&c);
    free(t);

    t = sign(HS256,
             "{\"access\":[{\"collection\":\"a\",\"access\":\"rw\"},{\"collection\":\"b\","
             "\"access\":\"r\"}],\"value_exists\":{\"collection\":\"v\",\"matches\":[{\"key\":"
             "\"k\",\"value\":1}]}}",
             SECRET);
    ck_assert_int_eq(verify(t, &c, msg), 0);
    ck_assert_int_eq(c.access.global, GW_GLOBAL_LIST);
    ck_assert_uint_eq(c.access.n, 2);
    ck_assert_str_eq(c.access.coll[0].name, "a");
    ck_assert_int_eq(c.access.coll[0].mode, GW_COLL_RW);
    ck_assert_int_eq(c.access.coll[1].mode, GW_COLL_R);
    ck_assert_str_eq(c.value_exists_collection, "v");
    gw_jwt_claims_free(&c);
    free(t);

    /* Missing claims: no exp is accepted (jsonwebtoken 10), no access means full access. */
    t = sign(HS256, "{}", SECRET);
    ck_assert_int_eq(verify(t, &c, msg), 0);
    ck_assert_int_eq(c.access.global, GW_GLOBAL_M);
    ck_assert(!c.has_exp);
    gw_jwt_claims_free(&c);
    free(t);
    /* Within the 30 s leeway. */
    ck_assert_int_eq(verify_payload(HS256, "{\"exp\":1699999980}", SECRET, msg), 0);
}
END_TEST

START_TEST(test_refused_tokens)
{
    char msg[256];
    ck_assert_int_eq(verify_payload(HS256, "{\"exp\":1699999960}", SECRET, msg), 403);
    ck_assert_str_eq(msg, "ExpiredSignature");
    ck_assert_int_eq(verify_payload(HS256, "{\"access\":\"r\"}", "wrong", msg), 403);
    ck_assert_str_eq(msg, "InvalidSignature");
    ck_assert_int_eq(verify_payload(HS256, "{\"nbf\":1700000100}", SECRET, msg), 401);
    ck_assert_str_eq(msg, "Invalid API key or JWT");
    ck_assert_int_eq(verify_payload(HS256, "{\"nbf\":1700000020}", SECRET, msg), 0);
    static const char *const bad_headers[] = {"{\"alg\":\"none\"}",
                                              "{\"alg\":\"HS512\"}",
                                              "{\"alg\":\"RS256\"}",
                                              "{\"typ\":\"JWT\"}",
                                              "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                                              "{\"alg\":\"HS256\",\"typ\":1}",
                                              "[]",
                                              "nope"};
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        ck_assert_int_eq(verify_payload(bad_headers[i], "{}", SECRET, msg), 401);
        ck_assert_str_eq(msg, "Invalid API key or JWT");
    }
    static const char *const bad_claims[] = {"{\"access\":\"x\"}",
                                             "{\"access\":null}",
                                             "{\"access\":[{\"collection\":\"a\"}]}",
                                             "{\"access\":[{\"collection\":1,\"access\":\"r\"}]}",
                                             "{\"exp\":-1}",
                                             "{\"exp\":\"1\"}",
                                             "{\"exp\":1.5}",
                                             "{\"sub\":1}",
                                             "{\"value_exists\":{\"collection\":\"v\"}}",
                                             "[1]",
                                             "{\"a\":1,\"a\":2}",
                                             "not json"};
    for (size_t i = 0; i < sizeof(bad_claims) / sizeof(bad_claims[0]); i++) {
        ck_assert_int_eq(verify_payload(HS256, bad_claims[i], SECRET, msg), 401);
        ck_assert_str_eq(msg, "Invalid API key or JWT");
    }
    ck_assert_int_eq(verify_payload(HS256,
                                    "{\"access\":[{\"collection\":\"a\",\"access\":\"r\","
                                    "\"payload\":{\"u\":1}}]}",
                                    SECRET, msg),
                     401);
    ck_assert_str_eq(msg,
                     "access[0].payload: The 'payload' constraint is deprecated and should not "
                     "be used");
    ck_assert_int_eq(verify_payload(HS256,
                                    "{\"access\":[{\"collection\":\"a\",\"access\":\"r\"},{"
                                    "\"collection\":\"a\",\"access\":\"rw\"}]}",
                                    SECRET, msg),
                     401);
    ck_assert_str_eq(msg, "access[1].collection: Collection name should be unique");
}
END_TEST

START_TEST(test_tampered_and_malformed)
{
    gw_jwt_claims_t c;
    char msg[256];
    char *t = sign(HS256, "{\"access\":\"r\"}", SECRET);
    char *dot = strchr(t, '.');
    char *forged = b64("{\"access\":\"m\"}"), buf[512];
    snprintf(buf, sizeof(buf), "%.*s.%s%s", (int)(dot - t), t, forged, strrchr(t, '.'));
    ck_assert_int_eq(verify(buf, &c, msg), 403); /* tampered payload: the signature fails */
    ck_assert_str_eq(msg, "InvalidSignature");
    gw_jwt_claims_free(&c);
    snprintf(buf, sizeof(buf), "%s=", t); /* padding on the signature: not base64url */
    ck_assert_int_eq(verify(buf, &c, msg), 401);
    gw_jwt_claims_free(&c);
    ck_assert_int_eq(verify("abc", &c, msg), 401);
    ck_assert_int_eq(verify("a.b", &c, msg), 401);
    ck_assert_int_eq(verify("..", &c, msg), 401);
    ck_assert_int_eq(verify("", &c, msg), 401);
    /* Huge: refused before parsing. */
    size_t big = 9000;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = 0;
    memcpy(huge, t, strlen(t));
    ck_assert_int_eq(verify(huge, &c, msg), 401);
    free(huge);
    free(forged);
    free(t);
}
END_TEST

static gw_need_t need_of(const char *method, const char *path)
{
    gw_route_t rt;
    gw_route_classify(method, strlen(method), path, strlen(path), &rt);
    return gw_need_of_route(&rt, path, strlen(path));
}

START_TEST(test_route_needs)
{
    static const struct {
        const char *method, *path, *need;
    } cases[] = {
        {"GET", "/", "open"},
        {"GET", "/healthz", "open"},
        {"GET", "/readyz", "open"},
        {"GET", "/api/v1/health", "open"},
        {"GET", "/collections", "any"},
        {"GET", "/aliases", "any"},
        {"GET", "/telemetry", "any"},
        {"GET", "/nope", "any"},
        {"GET", "/metrics", "global_read"},
        {"GET", "/cluster", "global_read"},
        {"GET", "/snapshots", "global_read"},
        {"POST", "/snapshots", "global_manage"},
        {"POST", "/api/v1/cache/purge", "global_manage"},
        {"PUT", "/collections/c", "global_manage"},
        {"DELETE", "/collections/c", "global_manage"},
        {"POST", "/collections/aliases", "global_manage"},
        {"GET", "/collections/c", "read"},
        {"POST", "/collections/c/points/search", "read"},
        {"POST", "/collections/c/points/query", "read"},
        {"POST", "/collections/c/points/scroll", "read"},
        {"POST", "/collections/c/points", "read"},
        {"PUT", "/collections/c/points", "write"},
        {"POST", "/collections/c/points/delete", "write"},
        {"PUT", "/collections/c/index", "write"},
        {"GET", "/collections/c/shards/0/snapshot", "write"},
        {"POST", "/api/v1/models/m/vectors/search", "read"},
        {"GET", "/api/v1/models", "any"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(
            strcmp(gw_need_name(need_of(cases[i].method, cases[i].path)), cases[i].need) == 0,
            "%s %s: %s, want %s", cases[i].method, cases[i].path,
            gw_need_name(need_of(cases[i].method, cases[i].path)), cases[i].need);
}
END_TEST

START_TEST(test_access_checks)
{
    char msg[256];
    gw_access_coll_t list[] = {{"a", GW_COLL_R}, {"b", GW_COLL_RW}, {"p", GW_COLL_PRW}};
    gw_access_t coll = {GW_GLOBAL_LIST, 3, list}, r = {GW_GLOBAL_R, 0, NULL},
                m = {GW_GLOBAL_M, 0, NULL}, w = {GW_GLOBAL_W, 0, NULL};
    gw_need_t read = {GW_NEED_COLL, 0}, write = {GW_NEED_COLL, GW_NEED_WRITE},
              gread = {GW_NEED_GLOBAL, 0}, gman = {GW_NEED_GLOBAL, GW_NEED_MANAGE},
              wx = {GW_NEED_COLL, GW_NEED_WRITE | GW_NEED_EXTRAS};
    ck_assert_int_eq(gw_access_check(&coll, read, "a", msg, sizeof(msg)), 0);
    ck_assert_int_eq(gw_access_check(&coll, write, "a", msg, sizeof(msg)), 403);
    ck_assert_str_eq(msg, "Forbidden: Write access to collection a is required");
    ck_assert_int_eq(gw_access_check(&coll, read, "z", msg, sizeof(msg)), 403);
    ck_assert_str_eq(msg, "Forbidden: Access to collection z is required");
    ck_assert_int_eq(gw_access_check(&coll, write, "b", msg, sizeof(msg)), 0);
    ck_assert_int_eq(gw_access_check(&coll, wx, "p", msg, sizeof(msg)), 403);
    ck_assert_str_eq(msg, "Forbidden: Only points access is allowed for collection p");
    ck_assert_int_eq(gw_access_check(&coll, gread, "", msg, sizeof(msg)), 403);
    ck_assert_str_eq(msg, "Forbidden: Global access is required");
    ck_assert_int_eq(gw_access_check(&r, write, "a", msg, sizeof(msg)), 403);
    ck_assert_str_eq(msg, "Forbidden: Global manage access is required");
    ck_assert_int_eq(gw_access_check(&r, gread, "", msg, sizeof(msg)), 0);
    ck_assert_int_eq(gw_access_check(&m, gman, "", msg, sizeof(msg)), 0);
    ck_assert_int_eq(gw_access_check(&w, write, "a", msg, sizeof(msg)), 0);
    ck_assert_int_eq(gw_access_check(&w, gman, "", msg, sizeof(msg)), 403);
}
END_TEST

START_TEST(test_keys_table)
{
    gw_config_t *cfg = gw_config_new();
    char err[256];
    /* sha256("k1") and sha256("k2") */
    ck_assert_int_eq(gw_config_set(cfg,
                                   "auth.keys.one.sha256="
                                   "2adcd1c3d4a4b4ab4b1c2f2b9fe2a7c5a1e0c55e5b4a0a5c1d9d8d3d8a0b5f0"
                                   "1",
                                   err, sizeof(err)),
                     0);
    ck_assert_int_eq(gw_config_set(cfg, "auth.keys.one.role=write", err, sizeof(err)), 0);
    ck_assert_int_eq(gw_config_set(cfg, "auth.keys.one.collections=a, b", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.keys.one.role=root", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.keys.one.sha256=abc", err, sizeof(err)), 0);
    gw_keys_t t;
    ck_assert_int_eq(gw_keys_build(&t, cfg, err, sizeof(err)), 0);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_int_eq(t.key[0].role, GW_ROLE_WRITE);
    ck_assert_uint_eq(t.key[0].access.n, 2);
    ck_assert_str_eq(t.key[0].access.coll[1].name, "b");
    ck_assert_int_eq(t.key[0].access.coll[1].mode, GW_COLL_RW);
    ck_assert_ptr_null(gw_keys_find(&t, "k1", 2)); /* not the hash above */
    gw_keys_free(&t);
    unsigned char d[32];
    char hex[65], set[128];
    gw_digest_buf("k2", 2, d);
    gw_digest_hex(d, hex);
    snprintf(set, sizeof(set), "auth.keys.two.sha256=%s", hex);
    ck_assert_int_eq(gw_config_set(cfg, set, err, sizeof(err)), 0);
    ck_assert_int_eq(gw_keys_build(&t, cfg, err, sizeof(err)), 0);
    const gw_key_t *k = gw_keys_find(&t, "k2", 2);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(k->name, "two");
    ck_assert_int_eq(k->access.global, GW_GLOBAL_R);
    gw_keys_free(&t);
    gw_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("jwt");
    tcase_add_test(tc, test_b64url);
    tcase_add_test(tc, test_valid_tokens);
    tcase_add_test(tc, test_refused_tokens);
    tcase_add_test(tc, test_tampered_and_malformed);
    tcase_add_test(tc, test_route_needs);
    tcase_add_test(tc, test_access_checks);
    tcase_add_test(tc, test_keys_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
