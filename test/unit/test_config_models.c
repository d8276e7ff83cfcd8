/* Unit tests for the models: section of gateway/config (a YCONF_MAP of model name -> collection,
 * vector, dimension, limits): values, merging across files, --set, checks, the dump. */
#include "common/yconf.h"
#include "gateway/core/config.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- models.NAME.* */

START_TEST(test_models_values)
{
    static const char yaml[] = "models:\n"
                               "  minilm:\n"
                               "    collection: docs\n"
                               "    dimension: 384\n"
                               "  clip_v2-img:\n"
                               "    collection: \"images 2\"\n"
                               "    vector: image\n"
                               "    dimension: 65536\n"
                               "    default_limit: 1\n"
                               "    max_limit: 10000\n"
                               "  same:\n"
                               "    collection: docs\n"
                               "    dimension: 1\n"
                               "    default_limit: 7\n"
                               "    max_limit: 7\n";
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    tmp_t t;

    ck_assert_uint_eq(c->nmodels, 0);
    ck_assert_ptr_null(c->models);
    tmp_open(&t);
    tmp_write(&t, "c.yaml", yaml, path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    assert_defaults(c); /* nothing else moved */
    ck_assert_msg(gw_config_finalize(c, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c->nmodels, 3);
    /* declaration order, defaults filled in */
    ck_assert_str_eq(c->models[0].name, "minilm");
    ck_assert_str_eq(c->models[0].collection, "docs");
    ck_assert_str_eq(c->models[0].vector, "");
    ck_assert_int_eq(c->models[0].dimension, 384);
    ck_assert_int_eq(c->models[0].default_limit, 10);
    ck_assert_int_eq(c->models[0].max_limit, 100);
    ck_assert_str_eq(c->models[1].name, "clip_v2-img");
    ck_assert_str_eq(c->models[1].collection, "images 2");
    ck_assert_str_eq(c->models[1].vector, "image");
    ck_assert_int_eq(c->models[1].dimension, 65536);
    ck_assert_int_eq(c->models[1].default_limit, 1);
    ck_assert_int_eq(c->models[1].max_limit, 10000);
    ck_assert_str_eq(c->models[2].name, "same");
    ck_assert_int_eq(c->models[2].default_limit, 7);
    ck_assert_int_eq(c->models[2].max_limit, 7);
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

/* A later file updates a model key by key (like a section) and may add models. */
START_TEST(test_models_across_files)
{
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    tmp_t t;

    tmp_open(&t);
    tmp_write(&t, "base.yaml",
              "models:\n  a:\n    collection: one\n    dimension: 4\n    max_limit: 50\n", path,
              sizeof path);
    tmp_write(&t, "c.yaml",
              "include: base.yaml\nmodels:\n  b:\n    collection: two\n    dimension: 8\n"
              "  a:\n    dimension: 5\n",
              path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c->nmodels, 2);
    ck_assert_str_eq(c->models[0].name, "a");
    ck_assert_str_eq(c->models[0].collection, "one");
    ck_assert_int_eq(c->models[0].dimension, 5);
    ck_assert_int_eq(c->models[0].max_limit, 50);
    ck_assert_str_eq(c->models[1].name, "b");
    /* "models:" with nothing under it (all commented out) adds and removes nothing */
    tmp_write(&t, "d.yaml", "models:\n  # x:\n  #   dimension: 3\n", path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c->nmodels, 2);
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

static const struct {
    const char *kv, *want;
} model_set_errors[] = {
    {"models.m.dimension=abc",
     "--set models.m.dimension=abc: expected an integer from 1 to 65536, got \"abc\""},
    {"models.M.dimension=3",
     "--set models.M.dimension=3: invalid name \"M\": only a-z, 0-9, _ and - are allowed"},
    {"models..dimension=3", "--set models..dimension=3: invalid name \"\": names are 1 to 64 "
                            "characters"},
    {"models.m.dimenson=3",
     "--set models.m.dimenson=3: unknown key (did you mean models.m.dimension?)"},
    {"models.m.limit=3", "--set models.m.limit=3: unknown key"},
    {"models.m=3", "--set models.m=3: models.m is a section, not a key"},
    {"models.m.=3", "--set models.m.=3: models.m. is a section, not a key"},
    {"models=3", "--set models=3: models is a map of named sections: set models.NAME.KEY=value"},
    {"models.m.collection=a\x01", "--set models.m.collection=a\x01: must not contain control "
                                  "characters, got \"a\\x01\""},
};

START_TEST(test_models_set_error)
{
    char err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    int rc = gw_config_set(c, model_set_errors[_i].kv, err, sizeof err);

    ck_assert_uint_eq(c->nmodels, 0); /* a refused --set declares nothing */
    gw_config_free(c);
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err, model_set_errors[_i].want);
}
END_TEST

START_TEST(test_models_set)
{
    char err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();

    /* --set declares a model; finalize insists it is complete */
    ck_assert_int_eq(gw_config_set(c, "models.minilm.dimension=384", err, sizeof err), 0);
    ck_assert_uint_eq(c->nmodels, 1);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err, "models.minilm: collection must be set");
    ck_assert_int_eq(gw_config_set(c, "models.minilm.collection=docs", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_str_eq(c->models[0].collection, "docs");
    /* ... and changes one that exists */
    ck_assert_int_eq(gw_config_set(c, "models.minilm.max_limit=5", err, sizeof err), 0);
    ck_assert_uint_eq(c->nmodels, 1);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err, "models.minilm: default_limit (10) is larger than max_limit (5)");
    ck_assert_int_eq(gw_config_set(c, "models.minilm.default_limit=5", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    /* a refused value leaves the existing model as it was */
    ck_assert_int_eq(gw_config_set(c, "models.minilm.dimension=0", err, sizeof err), -1);
    ck_assert_int_eq(c->models[0].dimension, 384);
    gw_config_free(c);
}
END_TEST

START_TEST(test_models_dump_round_trip)
{
    static const char *const sets[] = {
        "models.minilm.collection=docs", "models.minilm.dimension=384",
        "models.img.collection=my pics", "models.img.vector=clip \"v2\"",
        "models.img.dimension=512",      "models.img.max_limit=1000",
    };
    char path[PATHLEN], err[ERRLEN] = "", *text = NULL;
    gw_config_t *c = gw_config_new(), *back = gw_config_new(), *empty = gw_config_new();
    const char *which;
    size_t size = 0, i;
    FILE *f;
    tmp_t t;

    tmp_open(&t);
    /* no models: "models: {}", which reads back */
    f = memstream(&text, &size);
    gw_config_dump(empty, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "\nmodels: {}\n"));
    free(text);
    text = NULL;
    for (i = 0; i < NELEM(sets); i++)
        ck_assert_msg(gw_config_set(c, sets[i], err, sizeof err) == 0, "%s: %s", sets[i], err);
    f = memstream(&text, &size);
    gw_config_dump(c, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "\nmodels:\n  minilm:\n    collection: \"docs\"\n"
                                       "    vector: \"\"\n    dimension: 384\n"
                                       "    default_limit: 10\n    max_limit: 100\n  img:\n"));
    ck_assert_ptr_nonnull(strstr(text, "    vector: \"clip \\\"v2\\\"\"\n"));
    tmp_write(&t, "dump.yaml", text, path, sizeof path);
    ck_assert_msg(gw_config_load_file(back, path, err, sizeof err) == 0, "%s\n%s", err, text);
    ck_assert_msg(same_values(gw_config_keys(), c, back, true, &which), "%s differs", which);
    ck_assert_uint_eq(back->nmodels, 2);
    ck_assert_str_eq(back->models[1].vector, "clip \"v2\"");
    ck_assert(!same_values(gw_config_keys(), c, empty, true, &which));
    ck_assert_str_eq(which, "models");
    free(text);
    gw_config_free(c);
    gw_config_free(back);
    gw_config_free(empty);
    tmp_close(&t);
}
END_TEST

/* ---------------------------------------------------------------- runner */

static Suite *config_models_suite(void)
{
    Suite *s = suite_create("config_models");
    TCase *models = tcase_create("models");

    tcase_add_test(models, test_models_values);
    tcase_add_test(models, test_models_across_files);
    tcase_add_loop_test(models, test_models_set_error, 0, (int)NELEM(model_set_errors));
    tcase_add_test(models, test_models_set);
    tcase_add_test(models, test_models_dump_round_trip);
    suite_add_tcase(s, models);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_models_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
