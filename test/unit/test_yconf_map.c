/* Unit tests for YCONF_MAP in common/yconf: maps of user-named sections bound into arrays of
 * structs (names, merging across files, --set, checks, dump, dispose, a mutation fuzz). */
#include "common/yconf.h"
#include "unit_util.h"
#include "yconf_mode.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- YCONF_MAP */

typedef struct pool {
    char *name;
    int size;
    char *token; /* auth.token, a secret in a nested section */
    bool on;
    uint64_t idle_ms;
    char *mode; /* custom, as in demo_t */
} pool_t;

typedef struct mdemo {
    int top;
    pool_t *pools;
    size_t npools;
} mdemo_t;

static int token_check(const char *text, const void *value, char *err, size_t errlen)
{
    (void)value;
    for (; *text; text++)
        if ((unsigned char)*text < 0x21) return snprintf(err, errlen, "must be printable"), -1;
    return 0;
}

static int pool_check(const void *elem, char *err, size_t errlen)
{
    const pool_t *p = elem;

    if (p->on && p->size > 50) return snprintf(err, errlen, "size over 50 needs on: false"), -1;
    return 0;
}

#define P(field, ctype) YCONF_OFFSET(pool_t, field, ctype)

static const yconf_key_t pool_keys[] = {
    {.name = "size",
     .flags = YCONF_INT,
     .offset = P(size, int),
     .min = 1,
     .max = 100,
     .def = "5",
     .help = "pool size"},
    {.name = "auth.token",
     .flags = YCONF_STRING | YCONF_SECRET,
     .offset = P(token, char *),
     .validate = token_check},
    {.name = "on", .flags = YCONF_BOOL, .offset = P(on, bool), .def = "true"},
    {.name = "idle", .flags = YCONF_DURATION, .offset = P(idle_ms, uint64_t), .def = "1s"},
    {.name = "mode",
     .flags = YCONF_CUSTOM,
     .offset = P(mode, char *),
     .def = "fast",
     .custom = &mode_ops},
    YCONF_END,
};

static const yconf_map_t pools_map = {
    .keys = pool_keys,
    .elem_size = sizeof(pool_t),
    .name_offset = offsetof(pool_t, name),
    .count_offset = offsetof(mdemo_t, npools),
    .max_count = 3,
    .check = pool_check,
};

static const yconf_key_t mdemo_keys[] = {
    {.name = "top", .flags = YCONF_INT, .offset = YCONF_OFFSET(mdemo_t, top, int), .def = "1"},
    {.name = "net.pools",
     .flags = YCONF_MAP,
     .offset = YCONF_OFFSET(mdemo_t, pools, pool_t *),
     .help = "named pools",
     .map = &pools_map},
    YCONF_END,
};

static void mdemo_init(mdemo_t *d)
{
    char err[ERRLEN] = "";

    memset(d, 0, sizeof *d);
    ck_assert_msg(yconf_init(mdemo_keys, d, err, sizeof err) == 0, "%s", err);
}

static const err_case_t map_errors[] = {
    {"net:\n  pools:\n    a:\n      size: 101\n",
     "m.yaml:4: net.pools.a.size: expected an integer from 1 to 100, got \"101\""},
    {"net:\n  pools:\n    a:\n      sise: 1\n",
     "m.yaml:4: net.pools.a.sise: unknown key (did you mean net.pools.a.size?)"},
    {"net:\n  pools:\n    a:\n      auth:\n        tokn: x\n",
     "m.yaml:5: net.pools.a.auth.tokn: unknown key (did you mean net.pools.a.auth.token?)"},
    {"net:\n  pools:\n    a:\n      auth: x\n",
     "m.yaml:4: net.pools.a.auth: expected a mapping of net.pools.a.auth.* keys, got \"x\""},
    {"net:\n  pools:\n    a:\n      auth:\n        token: \"s e\"\n",
     "m.yaml:5: net.pools.a.auth.token: must be printable"}, /* a secret is never echoed */
    {"net:\n  pools:\n    a:\n      mode: slow\n",
     "m.yaml:4: net.pools.a.mode: must be fast or safe, got \"slow\""},
    {"net:\n  pools:\n    a:\n      size: 60\n",
     "m.yaml:3: net.pools.a: size over 50 needs on: false"},
    {"net:\n  pools:\n    \"a b\": {}\n",
     "m.yaml:3: net.pools: invalid name \"a b\": names cannot hold '.', '=', spaces or control "
     "characters"},
    {"net:\n  pools:\n    \"a=b\": {}\n",
     "m.yaml:3: net.pools: invalid name \"a=b\": names cannot hold '.', '=', spaces or control "
     "characters"},
    {"net:\n  pools:\n    \"\\t\": {}\n",
     "m.yaml:3: net.pools: invalid name \"\\x09\": names cannot hold '.', '=', spaces or control "
     "characters"},
    {"net:\n  pools:\n    \"\": {}\n", "m.yaml:3: net.pools: invalid name \"\": names are 1 to 64 "
                                       "characters"},
    {"net:\n  pools: {a: {}, b: {}, c: {}, d: {}}\n", "m.yaml:2: net.pools.d: more than 3 entries"},
    {"net:\n  pools:\n    a: {}\n    b: {}\n    a: {}\n",
     "m.yaml:5: net.pools.a: duplicate key, first defined at line 3"},
    {"net:\n  pools: 3\n",
     "m.yaml:2: net.pools: expected a mapping of names to sections (net.pools.NAME.KEY), got "
     "\"3\""},
    {"net:\n  pools:\n    a: [1]\n",
     "m.yaml:3: net.pools.a: expected a mapping of net.pools.a.* keys, got a list"},
    {"net:\n  pools:\n    a:\n      include: x.yaml\n",
     "m.yaml:4: net.pools.a.include: unknown key"},
    {"net:\n  pool: {}\n", "m.yaml:2: net.pool: unknown key (did you mean net.pools?)"},
};

START_TEST(test_map_error)
{
    char err[ERRLEN] = "";
    mdemo_t d;
    int rc;

    mdemo_init(&d);
    rc = yconf_load_buffer(mdemo_keys, &d, "m.yaml", map_errors[_i].yaml,
                           strlen(map_errors[_i].yaml), err, sizeof err);
    yconf_dispose(mdemo_keys, &d); /* a failed load leaves something whole to free */
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err, map_errors[_i].want);
    ck_assert_ptr_null(d.pools);
    ck_assert_uint_eq(d.npools, 0);
}
END_TEST

START_TEST(test_map_values_and_dump)
{
    static const char yaml[] = "top: 7\n"
                               "net:\n"
                               "  pools:\n"
                               "    zeta:\n"
                               "      size: 100\n"
                               "      on: false\n"
                               "      auth: {token: t0k}\n"
                               "    alpha:\n"
                               "      mode: safe\n"
                               "      idle: 250ms\n";
    char err[ERRLEN] = "", *text = NULL, *text2 = NULL;
    size_t size = 0, size2 = 0;
    const char *which;
    mdemo_t d, back;
    FILE *f;

    mdemo_init(&d);
    mdemo_init(&back);
    ck_assert_ptr_null(d.pools);
    ck_assert_msg(
        yconf_load_buffer(mdemo_keys, &d, "m.yaml", yaml, strlen(yaml), err, sizeof err) == 0, "%s",
        err);
    ck_assert_int_eq(d.top, 7);
    ck_assert_uint_eq(d.npools, 2);
    ck_assert_str_eq(d.pools[0].name, "zeta");
    ck_assert_int_eq(d.pools[0].size, 100);
    ck_assert(!d.pools[0].on);
    ck_assert_str_eq(d.pools[0].token, "t0k");
    ck_assert_str_eq(d.pools[0].mode, "FAST"); /* defaults, custom ones included */
    ck_assert_uint_eq(d.pools[0].idle_ms, 1000);
    ck_assert_str_eq(d.pools[1].name, "alpha");
    ck_assert_int_eq(d.pools[1].size, 5);
    ck_assert(d.pools[1].on);
    ck_assert_str_eq(d.pools[1].token, "");
    ck_assert_str_eq(d.pools[1].mode, "SAFE");
    ck_assert_uint_eq(d.pools[1].idle_ms, 250);
    /* --set: an existing element, then a new one (at its defaults) */
    ck_assert_int_eq(yconf_set(mdemo_keys, &d, "net.pools.alpha.size=9", err, sizeof err), 0);
    ck_assert_int_eq(yconf_set(mdemo_keys, &d, "net.pools.q-1_x.auth.token=a\nb", err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "--set net.pools.q-1_x.auth.token=(secret): must be printable");
    ck_assert_uint_eq(d.npools, 2); /* the refused --set declared nothing */
    ck_assert_int_eq(yconf_set(mdemo_keys, &d, "net.pools.Q-1_x.idle=2m", err, sizeof err), 0);
    ck_assert_uint_eq(d.npools, 3);
    ck_assert_int_eq(d.pools[1].size, 9);
    ck_assert_str_eq(d.pools[2].name, "Q-1_x");
    ck_assert_uint_eq(d.pools[2].idle_ms, 120000);
    ck_assert_int_eq(yconf_check(mdemo_keys, &d, err, sizeof err), 0);
    /* one over max_count */
    ck_assert_int_eq(yconf_set(mdemo_keys, &d, "net.pools.four.size=1", err, sizeof err), -1);
    ck_assert_str_eq(err, "--set net.pools.four.size=1: more than 3 entries");
    /* yconf_check runs the element check on what --set made */
    ck_assert_int_eq(yconf_set(mdemo_keys, &d, "net.pools.alpha.size=51", err, sizeof err), 0);
    ck_assert_int_eq(yconf_check(mdemo_keys, &d, err, sizeof err), -1);
    ck_assert_str_eq(err, "net.pools.alpha: size over 50 needs on: false");
    ck_assert_int_eq(yconf_set(mdemo_keys, &d, "net.pools.alpha.size=9", err, sizeof err), 0);

    f = memstream(&text, &size);
    yconf_dump(mdemo_keys, &d, f, YCONF_DUMP_SECRETS | YCONF_DUMP_HELP);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "net:\n  # named pools\n  pools:\n    zeta:\n"
                                       "      # pool size\n      size: 100\n      auth:\n"
                                       "        token: \"t0k\"\n      on: false\n"));
    ck_assert_ptr_nonnull(strstr(text, "    Q-1_x:\n"));
    ck_assert_msg(yconf_load_buffer(mdemo_keys, &back, "dump", text, size, err, sizeof err) == 0,
                  "%s\n%s", err, text);
    ck_assert_msg(same_values(mdemo_keys, &d, &back, false, &which), "%s differs\n%s", which, text);
    ck_assert_str_eq(back.pools[1].mode, "SAFE");
    f = memstream(&text2, &size2);
    yconf_dump(mdemo_keys, &back, f, YCONF_DUMP_SECRETS | YCONF_DUMP_HELP);
    fclose(f);
    ck_assert_str_eq(text, text2);
    free(text2);
    /* without YCONF_DUMP_SECRETS the token is a comment */
    text2 = NULL;
    f = memstream(&text2, &size2);
    yconf_dump(mdemo_keys, &back, f, 0);
    fclose(f);
    ck_assert_ptr_null(strstr(text2, "t0k"));
    ck_assert_ptr_nonnull(strstr(text2, "        # token: (secret, not shown)\n"));
    free(text);
    free(text2);
    yconf_dispose(mdemo_keys, &d);
    yconf_dispose(mdemo_keys, &back);
    ck_assert_ptr_null(d.pools);
    ck_assert_uint_eq(d.npools, 0);
}
END_TEST

START_TEST(test_map_set_errors)
{
    static const struct {
        const char *kv, *want;
    } cases[] = {
        {"net.pools=1", "--set net.pools=1: net.pools is a map of named sections: set "
                        "net.pools.NAME.KEY=value"},
        {"net.pools.a=1", "--set net.pools.a=1: net.pools.a is a section, not a key"},
        {"net.pools.a.auth=1",
         "--set net.pools.a.auth=1: net.pools.a.auth is a section, not a key"},
        {"net.pools.a.sise=1", "--set net.pools.a.sise=1: unknown key (did you mean "
                               "net.pools.a.size?)"},
        {"net.pools.a b.size=1", "--set net.pools.a b.size=1: invalid name \"a b\": names cannot "
                                 "hold '.', '=', spaces or control characters"},
        {"net.pools.a.size=0", "--set net.pools.a.size=0: expected an integer from 1 to 100, got "
                               "\"0\""},
        {"net.pool.a.size=1", "--set net.pool.a.size=1: unknown key"},
    };
    char err[ERRLEN] = "";
    mdemo_t d;
    size_t i;

    mdemo_init(&d);
    for (i = 0; i < NELEM(cases); i++) {
        ck_assert_int_eq(yconf_set(mdemo_keys, &d, cases[i].kv, err, sizeof err), -1);
        ck_assert_str_eq(err, cases[i].want);
        ck_assert_uint_eq(d.npools, 0);
    }
    /* an empty map dumps as {} and reads back */
    {
        char *text = NULL;
        size_t size = 0;
        FILE *f = memstream(&text, &size);
        yconf_dump(mdemo_keys, &d, f, 0);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(text, "net:\n  pools: {}\n"));
        ck_assert_int_eq(yconf_load_buffer(mdemo_keys, &d, "d", text, size, err, sizeof err), 0);
        free(text);
    }
    yconf_dispose(mdemo_keys, &d);
}
END_TEST

/* Broken map tables are reported by yconf_init. */
static const yconf_map_t map_no_keys = {.elem_size = sizeof(pool_t)};
static const yconf_map_t map_small = {.keys = pool_keys, .elem_size = 2};
static const yconf_key_t nested_sub[] = {
    {.name = "inner", .flags = YCONF_MAP, .offset = P(name, char *), .map = &pools_map},
    YCONF_END,
};
static const yconf_map_t map_nested = {.keys = nested_sub, .elem_size = sizeof(pool_t)};
static const yconf_key_t bad_sub_default[] = {
    {.name = "n", .flags = YCONF_INT, .offset = P(size, int), .min = 1, .max = 2, .def = "9"},
    YCONF_END,
};
static const yconf_map_t map_bad_default = {.keys = bad_sub_default, .elem_size = sizeof(pool_t)};
#define MAPKEY(m, ...)                                                                             \
    {                                                                                              \
        {.name = "p",                                                                              \
         .flags = YCONF_MAP,                                                                       \
         .offset = YCONF_OFFSET(mdemo_t, pools, pool_t *),                                         \
         .map = m,                                                                                 \
         __VA_ARGS__},                                                                             \
            YCONF_END                                                                              \
    }
static const yconf_key_t bad_map_none[] = MAPKEY(NULL);
static const yconf_key_t bad_map_nokeys[] = MAPKEY(&map_no_keys);
static const yconf_key_t bad_map_small[] = MAPKEY(&map_small);
static const yconf_key_t bad_map_default[] = MAPKEY(&pools_map, .def = "x");
static const yconf_key_t bad_map_nested[] = MAPKEY(&map_nested);
static const yconf_key_t bad_map_subdef[] = MAPKEY(&map_bad_default);

START_TEST(test_map_bad_table)
{
    static const struct {
        const yconf_key_t *keys;
        const char *want;
    } cases[] = {
        {bad_map_none, "key table: p: YCONF_MAP without a valid map"},
        {bad_map_nokeys, "key table: p: YCONF_MAP without a valid map"},
        {bad_map_small, "key table: p: YCONF_MAP without a valid map"},
        {bad_map_default, "key table: p: YCONF_MAP takes no default, range or validate"},
        {bad_map_nested, "key table: p: inner: YCONF_MAP inside a map"},
        {bad_map_subdef, "key table: p: map key table: n: default: expected an integer from 1 to "
                         "2, got \"9\""},
    };
    char err[ERRLEN] = "";
    size_t i;
    mdemo_t d;

    for (i = 0; i < NELEM(cases); i++) {
        memset(&d, 0, sizeof d);
        ck_assert_int_eq(yconf_init(cases[i].keys, &d, err, sizeof err), -1);
        ck_assert_str_eq(err, cases[i].want);
    }
}
END_TEST

/* Mutated copies of a models section (a YCONF_MAP): no crash, no leak, errors name the file. */
START_TEST(test_map_mutations)
{
    static const char alphabet[] = ":-[]{}&*!|>'\"#%@` \n\t\\,?0a.~=\x01\xff";
    static const char text[] = "models:\n"
                               "  minilm:\n"
                               "    collection: docs\n"
                               "    dimension: 384\n"
                               "  img-2: {collection: pics, vector: clip, dimension: 3,\n"
                               "          default_limit: 2, max_limit: 5}\n"
                               "server:\n"
                               "  workers: 2\n";
    static const char name[] = "/nonexistent/models.yaml";
    char err[ERRLEN], copy[sizeof text];
    unsigned seed = 54321;
    size_t len;
    int round, j;

    for (round = 0; round < 2000; round++) {
        gw_config_t *c = gw_config_new();
        memcpy(copy, text, sizeof text);
        len = sizeof text - 1;
        for (j = 0; j < 1 + round % 3; j++)
            copy[(size_t)rand_r(&seed) % len] =
                alphabet[(size_t)rand_r(&seed) % (sizeof alphabet - 1)];
        if (round % 5 == 0) len = (size_t)rand_r(&seed) % len;
        err[0] = '\0';
        if (yconf_load_buffer(gw_config_keys(), c, name, copy, len, err, sizeof err) < 0)
            ck_assert_msg(strncmp(err, name, strlen(name)) == 0, "round %d: %s", round, err);
        else if (gw_config_finalize(c, err, sizeof err) < 0)
            ck_assert_msg(strncmp(err, "models.", 7) == 0, "round %d: %s", round, err);
        gw_config_free(c);
    }
}
END_TEST

/* ---------------------------------------------------------------- runner */

static Suite *yconf_map_suite(void)
{
    Suite *s = suite_create("yconf_map");
    TCase *maps = tcase_create("maps");

    tcase_add_loop_test(maps, test_map_error, 0, (int)NELEM(map_errors));
    tcase_add_test(maps, test_map_values_and_dump);
    tcase_add_test(maps, test_map_set_errors);
    tcase_add_test(maps, test_map_bad_table);
    tcase_add_test(maps, test_map_mutations);
    suite_add_tcase(s, maps);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(yconf_map_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
