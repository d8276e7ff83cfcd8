/* Structural checks of Qdrant filters for fake_qdrant: malformed conditions fail like serde's
 * untagged Condition enum, key-only conditions like Qdrant's validator (422). */
#include "fq_filter.h"

#include <stdio.h>
#include <string.h>

static int check_filter(fq_rq_t *rq, const json_t *f, const char *path);

static int bad_condition(fq_rq_t *rq, const json_t *cond)
{
    return fq_fmt_error(rq, cond, "data did not match any variant of untagged enum Condition");
}

static int is_str_list_or_int_list(const json_t *a)
{
    if (!json_is_array(a))
        return 0;
    int strs = 0, ints = 0;
    for (size_t k = 0; k < json_array_size(a); k++) {
        strs += json_is_string(json_array_get(a, k));
        ints += json_is_integer(json_array_get(a, k));
    }
    return (size_t)strs == json_array_size(a) || (size_t)ints == json_array_size(a);
}

static int match_ok(const json_t *m)
{
    static const char *texts[] = {"text", "text_any", "phrase", "prefix"};
    const json_t *x;
    if (!json_is_object(m))
        return 0;
    if ((x = json_object_get(m, "value")))
        return json_is_string(x) || json_is_integer(x) || json_is_boolean(x);
    if ((x = json_object_get(m, "any")))
        return is_str_list_or_int_list(x);
    if ((x = json_object_get(m, "except")))
        return is_str_list_or_int_list(x);
    for (int k = 0; k < 4; k++) {
        if ((x = json_object_get(m, texts[k])))
            return json_is_string(x);
    }
    return 0;
}

static int range_ok(const json_t *r)
{
    static const char *ks[] = {"gt", "gte", "lt", "lte"};
    if (!json_is_object(r))
        return 0;
    for (int k = 0; k < 4; k++) {
        const json_t *b = json_object_get(r, ks[k]);
        if (b && !json_is_null(b) && !json_is_number(b) && !json_is_string(b))
            return 0;
    }
    return 1;
}

static int check_field(fq_rq_t *rq, const json_t *cond, const char *path)
{
    static const char *kinds[] = {"match",       "range",        "geo_bounding_box",
                                  "geo_radius",  "geo_polygon",  "values_count",
                                  "is_empty",    "is_null"};
    if (!json_is_string(json_object_get(cond, "key")))
        return bad_condition(rq, cond);
    int any = 0;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const json_t *v = json_object_get(cond, kinds[k]);
        any |= v && !json_is_null(v);
    }
    if (!any)
        return fq_validation_error(rq, "%s: At least one field condition must be specified",
                                   path);
    const json_t *m = json_object_get(cond, "match");
    if (m && !json_is_null(m) && !match_ok(m))
        return bad_condition(rq, cond);
    const json_t *r = json_object_get(cond, "range");
    if (r && !json_is_null(r) && !range_ok(r))
        return bad_condition(rq, cond);
    return 0;
}

static int key_object_ok(const json_t *v)
{
    return json_is_object(v) && json_is_string(json_object_get(v, "key"));
}

static int check_condition(fq_rq_t *rq, const json_t *cond, const char *path)
{
    const json_t *x;
    if (!json_is_object(cond))
        return bad_condition(rq, cond);
    if (json_object_get(cond, "key"))
        return check_field(rq, cond, path);
    if ((x = json_object_get(cond, "has_id"))) {
        for (size_t k = 0; json_is_array(x) && k < json_array_size(x); k++) {
            fq_pid_t id;
            if (fq_pid_from_json(json_array_get(x, k), &id) < 0)
                return bad_condition(rq, cond);
        }
        return json_is_array(x) ? 0 : bad_condition(rq, cond);
    }
    if ((x = json_object_get(cond, "is_empty")) || (x = json_object_get(cond, "is_null")))
        return key_object_ok(x) ? 0 : bad_condition(rq, cond);
    if ((x = json_object_get(cond, "has_vector")))
        return json_is_string(x) ? 0 : bad_condition(rq, cond);
    if ((x = json_object_get(cond, "nested"))) {
        if (!key_object_ok(x) || !json_is_object(json_object_get(x, "filter")))
            return bad_condition(rq, cond);
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.nested.filter", path);
        return check_filter(rq, json_object_get(x, "filter"), sub);
    }
    if (json_object_size(cond) && !json_object_get(cond, "must") &&
        !json_object_get(cond, "should") && !json_object_get(cond, "must_not") &&
        !json_object_get(cond, "min_should"))
        return bad_condition(rq, cond);
    return check_filter(rq, cond, path);
}

/* One condition or a list of them (MaybeOneOrMany). */
static int check_clause(fq_rq_t *rq, const json_t *v, const char *path)
{
    char sub[512];
    if (!v || json_is_null(v))
        return 0;
    if (json_is_object(v))
        return check_condition(rq, v, path);
    if (!json_is_array(v)) {
        char un[256];
        fq_describe_unexpected(v, un, sizeof(un));
        return fq_fmt_error(rq, v, "invalid type: %s, expected a sequence", un);
    }
    for (size_t k = 0; k < json_array_size(v); k++) {
        snprintf(sub, sizeof(sub), "%s[%zu]", path, k);
        if (check_condition(rq, json_array_get(v, k), sub) < 0)
            return -1;
    }
    return 0;
}

static int check_filter(fq_rq_t *rq, const json_t *f, const char *path)
{
    static const char *clauses[] = {"must", "should", "must_not"};
    char sub[512];
    if (!json_is_object(f)) {
        char un[256];
        fq_describe_unexpected(f, un, sizeof(un));
        return fq_fmt_error(rq, f, "invalid type: %s, expected struct Filter", un);
    }
    for (int k = 0; k < 3; k++) {
        snprintf(sub, sizeof(sub), "%s.%s", path, clauses[k]);
        if (check_clause(rq, json_object_get(f, clauses[k]), sub) < 0)
            return -1;
    }
    const json_t *ms = json_object_get(f, "min_should");
    if (ms && !json_is_null(ms)) {
        if (!json_is_object(ms) || !json_is_integer(json_object_get(ms, "min_count")))
            return fq_fmt_error(rq, ms, "missing field `min_count`");
        snprintf(sub, sizeof(sub), "%s.min_should.conditions", path);
        return check_clause(rq, json_object_get(ms, "conditions"), sub);
    }
    return 0;
}

int fq_filter_check(fq_rq_t *rq, const json_t *filter, const char *path)
{
    if (!filter || json_is_null(filter))
        return 0;
    return check_filter(rq, filter, path);
}
