/* Qdrant filters for fake_qdrant: JSON-path value lookup, condition checks that answer serde-like
 * errors, and brute-force evaluation of every supported condition against one point. */

#include "fq_filter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- JSON paths ------------------------------------------------------------------------ */

static void step_key(json_t *cur, const char *key, size_t kl, json_t *next)
{
    for (size_t k = 0; k < json_array_size(cur); k++) {
        json_t *v = json_array_get(cur, k);
        if (json_is_object(v)) {
            json_t *f = json_object_getn(v, key, kl);
            if (f)
                json_array_append(next, f);
        } else if (json_is_array(v)) { /* lenient: look inside arrays of objects */
            for (size_t j = 0; j < json_array_size(v); j++) {
                json_t *f = json_object_getn(json_array_get(v, j), key, kl);
                if (f)
                    json_array_append(next, f);
            }
        }
    }
}

static void step_index(json_t *cur, long idx, json_t *next)
{
    for (size_t k = 0; k < json_array_size(cur); k++) {
        json_t *v = json_array_get(cur, k);
        if (!json_is_array(v))
            continue;
        if (idx < 0)
            json_array_extend(next, v);
        else if ((size_t)idx < json_array_size(v))
            json_array_append(next, json_array_get(v, idx));
    }
}

void fq_payload_values(const json_t *payload, const char *path, json_t *out, int flatten)
{
    json_t *cur = json_array();
    json_array_append(cur, (json_t *)payload);
    const char *p = path;
    while (*p && json_array_size(cur)) {
        json_t *next = json_array();
        if (*p == '[') {
            const char *end = strchr(p, ']');
            if (!end)
                end = p + strlen(p) - 1;
            step_index(cur, end == p + 1 ? -1 : strtol(p + 1, NULL, 10), next);
            p = end + 1;
        } else {
            if (*p == '.')
                p++;
            const char *key = p;
            size_t kl;
            if (*p == '"') {
                key = p + 1;
                const char *q = strchr(key, '"');
                kl = q ? (size_t)(q - key) : strlen(key);
                p = q ? q + 1 : key + kl;
            } else {
                kl = strcspn(p, ".[");
                p += kl;
            }
            step_key(cur, key, kl, next);
        }
        json_decref(cur);
        cur = next;
    }
    for (size_t k = 0; k < json_array_size(cur); k++) {
        json_t *v = json_array_get(cur, k);
        if (flatten && json_is_array(v))
            json_array_extend(out, v);
        else
            json_array_append(out, v);
    }
    json_decref(cur);
}

/* ---- datetime ranges ------------------------------------------------------------------- */

/* RFC 3339-ish text → seconds since the epoch; -1 when not a datetime. */
static int parse_datetime(const char *s, double *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
        return -1;
    const char *p = s + n;
    double frac = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2)
            return -1;
        p += 1 + m;
        if (*p == ':' && sscanf(p + 1, "%2d%n", &tm.tm_sec, &m) == 1)
            p += 1 + m;
        if (*p == '.') {
            char *end;
            frac = strtod(p, &end);
            p = end;
        }
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    double t = (double)timegm(&tm) + frac;
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1)
            return -1;
        t -= (*p == '+' ? 1 : -1) * (hh * 3600.0 + mm * 60.0);
    } else if (*p && *p != 'Z' && *p != 'z') {
        return -1;
    }
    *out = t;
    return 0;
}

static int bound_value(const json_t *b, double *out)
{
    if (json_is_number(b)) {
        *out = json_number_value(b);
        return 0;
    }
    return json_is_string(b) ? parse_datetime(json_string_value(b), out) : -1;
}

static int in_range(const json_t *range, const json_t *v)
{
    double x, b;
    int dt = 0;
    const char *ks[] = {"gt", "gte", "lt", "lte"};
    for (int k = 0; k < 4; k++)
        dt |= json_is_string(json_object_get(range, ks[k]));
    if (dt ? !json_is_string(v) || parse_datetime(json_string_value(v), &x) < 0
           : !json_is_number(v))
        return 0;
    if (!dt)
        x = json_number_value(v);
    for (int k = 0; k < 4; k++) {
        const json_t *bv = json_object_get(range, ks[k]);
        if (!bv || json_is_null(bv) || bound_value(bv, &b) < 0)
            continue;
        if ((k == 0 && !(x > b)) || (k == 1 && !(x >= b)) || (k == 2 && !(x < b)) ||
            (k == 3 && !(x <= b)))
            return 0;
    }
    return 1;
}

/* ---- evaluation ------------------------------------------------------------------------ */

static int json_scalar_eq(const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    return 0;
}

static int list_contains(const json_t *list, const json_t *v)
{
    for (size_t k = 0; k < json_array_size(list); k++) {
        if (json_scalar_eq(json_array_get(list, k), v))
            return 1;
    }
    return 0;
}

static int text_match(const char *kind, const char *hay, const char *needle)
{
    if (strcmp(kind, "prefix") == 0)
        return strncmp(hay, needle, strlen(needle)) == 0;
    if (strcmp(kind, "text_any") == 0) {
        char *dup = strdup(needle), *save = NULL;
        int hit = 0;
        for (char *w = strtok_r(dup, " \t\n", &save); w && !hit; w = strtok_r(NULL, " \t\n", &save))
            hit = strstr(hay, w) != NULL;
        free(dup);
        return hit;
    }
    return strstr(hay, needle) != NULL; /* text, phrase */
}

static int match_one(const json_t *m, const json_t *v)
{
    static const char *texts[] = {"text", "text_any", "phrase", "prefix"};
    const json_t *x;
    if ((x = json_object_get(m, "value")))
        return json_scalar_eq(x, v);
    if ((x = json_object_get(m, "any")))
        return list_contains(x, v);
    if ((x = json_object_get(m, "except")))
        return !list_contains(x, v);
    for (int k = 0; k < 4; k++) {
        if ((x = json_object_get(m, texts[k])))
            return json_is_string(v) && text_match(texts[k], json_string_value(v),
                                                    json_string_value(x));
    }
    return 0;
}

static double geo_dist_m(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371008.8, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(sqrt(a));
}

static int geo_polygon_has(const json_t *poly, double lon, double lat)
{
    const json_t *pts = json_object_get(json_object_get(poly, "exterior"), "points");
    size_t n = json_array_size(pts);
    int inside = 0;
    for (size_t i = 0, j = n ? n - 1 : 0; i < n; j = i++) {
        double xi = json_number_value(json_object_get(json_array_get(pts, i), "lon"));
        double yi = json_number_value(json_object_get(json_array_get(pts, i), "lat"));
        double xj = json_number_value(json_object_get(json_array_get(pts, j), "lon"));
        double yj = json_number_value(json_object_get(json_array_get(pts, j), "lat"));
        if ((yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi)
            inside = !inside;
    }
    return inside;
}

static int geo_match(const json_t *cond, const json_t *v)
{
    if (!json_is_object(v))
        return 0;
    double lon = json_number_value(json_object_get(v, "lon"));
    double lat = json_number_value(json_object_get(v, "lat"));
    const json_t *g;
    if ((g = json_object_get(cond, "geo_radius"))) {
        const json_t *c = json_object_get(g, "center");
        return geo_dist_m(lat, lon, json_number_value(json_object_get(c, "lat")),
                          json_number_value(json_object_get(c, "lon"))) <=
               json_number_value(json_object_get(g, "radius"));
    }
    if ((g = json_object_get(cond, "geo_bounding_box"))) {
        const json_t *tl = json_object_get(g, "top_left"), *br = json_object_get(g, "bottom_right");
        return lon >= json_number_value(json_object_get(tl, "lon")) &&
               lon <= json_number_value(json_object_get(br, "lon")) &&
               lat <= json_number_value(json_object_get(tl, "lat")) &&
               lat >= json_number_value(json_object_get(br, "lat"));
    }
    if ((g = json_object_get(cond, "geo_polygon")))
        return geo_polygon_has(g, lon, lat);
    return 0;
}

static int count_ok(const json_t *vc, size_t n)
{
    const char *ks[] = {"gt", "gte", "lt", "lte"};
    for (int k = 0; k < 4; k++) {
        const json_t *b = json_object_get(vc, ks[k]);
        if (!json_is_integer(b))
            continue;
        json_int_t x = (json_int_t)n, v = json_integer_value(b);
        if ((k == 0 && !(x > v)) || (k == 1 && !(x >= v)) || (k == 2 && !(x < v)) ||
            (k == 3 && !(x <= v)))
            return 0;
    }
    return 1;
}

/* A FieldCondition (has "key"). */
static int field_match(const json_t *payload, const json_t *cond)
{
    const char *key = json_string_value(json_object_get(cond, "key"));
    json_t *vals = json_array();
    fq_payload_values(payload, key ? key : "", vals, 1);
    size_t n = json_array_size(vals);
    int ok = 1;
    const json_t *x;
    if ((x = json_object_get(cond, "match")) && json_is_object(x)) {
        int any = 0;
        for (size_t k = 0; k < n && !any; k++)
            any = match_one(x, json_array_get(vals, k));
        ok = any;
    }
    if (ok && (x = json_object_get(cond, "range")) && json_is_object(x)) {
        int any = 0;
        for (size_t k = 0; k < n && !any; k++)
            any = in_range(x, json_array_get(vals, k));
        ok = any;
    }
    if (ok && (json_object_get(cond, "geo_radius") || json_object_get(cond, "geo_bounding_box") ||
               json_object_get(cond, "geo_polygon"))) {
        int any = 0;
        for (size_t k = 0; k < n && !any; k++)
            any = geo_match(cond, json_array_get(vals, k));
        ok = any;
    }
    if (ok && (x = json_object_get(cond, "values_count")) && json_is_object(x))
        ok = count_ok(x, n);
    json_decref(vals);
    return ok;
}

static int is_empty_at(const json_t *payload, const char *key)
{
    json_t *vals = json_array();
    fq_payload_values(payload, key, vals, 1);
    int empty = 1;
    for (size_t k = 0; k < json_array_size(vals); k++)
        empty &= json_is_null(json_array_get(vals, k));
    json_decref(vals);
    return empty;
}

static int is_null_at(const json_t *payload, const char *key)
{
    json_t *vals = json_array();
    fq_payload_values(payload, key, vals, 0);
    int isnull = 0;
    for (size_t k = 0; k < json_array_size(vals); k++)
        isnull |= json_is_null(json_array_get(vals, k));
    json_decref(vals);
    return isnull;
}

static int eval_filter(const fq_collection_t *c, const fq_point_t *p, const json_t *payload,
                       const json_t *f);

static int has_id(const fq_point_t *p, const json_t *ids)
{
    for (size_t k = 0; k < json_array_size(ids); k++) {
        fq_pid_t id;
        if (fq_pid_from_json(json_array_get(ids, k), &id) == 0 && fq_pid_cmp(&id, &p->id) == 0)
            return 1;
    }
    return 0;
}

static int nested_match(const fq_collection_t *c, const fq_point_t *p, const json_t *payload,
                        const json_t *nested)
{
    json_t *vals = json_array();
    const char *key = json_string_value(json_object_get(nested, "key"));
    fq_payload_values(payload, key ? key : "", vals, 1);
    int hit = 0;
    for (size_t k = 0; k < json_array_size(vals) && !hit; k++) {
        json_t *el = json_array_get(vals, k);
        hit = json_is_object(el) && eval_filter(c, p, el, json_object_get(nested, "filter"));
    }
    json_decref(vals);
    return hit;
}

static int eval_cond(const fq_collection_t *c, const fq_point_t *p, const json_t *payload,
                     const json_t *cond)
{
    const json_t *x;
    if (json_object_get(cond, "key"))
        return field_match(payload, cond);
    if ((x = json_object_get(cond, "has_id")))
        return has_id(p, x);
    if ((x = json_object_get(cond, "is_empty")))
        return is_empty_at(payload, json_string_value(json_object_get(x, "key")));
    if ((x = json_object_get(cond, "is_null")))
        return is_null_at(payload, json_string_value(json_object_get(x, "key")));
    if ((x = json_object_get(cond, "has_vector"))) {
        int slot = fq_col_vslot(c, json_string_value(x));
        return slot >= 0 && p->vec[slot] != NULL;
    }
    if ((x = json_object_get(cond, "nested")))
        return nested_match(c, p, payload, x);
    return eval_filter(c, p, payload, cond);
}

/* Count of conditions (one or many) that hold; *total gets how many there are. */
static size_t count_true(const fq_collection_t *c, const fq_point_t *p, const json_t *payload,
                         const json_t *conds, size_t *total)
{
    size_t hits = 0;
    if (json_is_object(conds)) {
        *total = 1;
        return (size_t)eval_cond(c, p, payload, conds);
    }
    *total = json_array_size(conds);
    for (size_t k = 0; k < *total; k++)
        hits += (size_t)eval_cond(c, p, payload, json_array_get(conds, k));
    return hits;
}

static int eval_filter(const fq_collection_t *c, const fq_point_t *p, const json_t *payload,
                       const json_t *f)
{
    size_t total, hits;
    const json_t *x;
    if (!f || !json_is_object(f))
        return 1;
    if ((x = json_object_get(f, "must")) && !json_is_null(x)) {
        hits = count_true(c, p, payload, x, &total);
        if (hits != total)
            return 0;
    }
    if ((x = json_object_get(f, "must_not")) && !json_is_null(x)) {
        if (count_true(c, p, payload, x, &total) > 0)
            return 0;
    }
    if ((x = json_object_get(f, "should")) && !json_is_null(x)) {
        hits = count_true(c, p, payload, x, &total);
        if (total > 0 && hits == 0)
            return 0;
    }
    if ((x = json_object_get(f, "min_should")) && json_is_object(x)) {
        hits = count_true(c, p, payload, json_object_get(x, "conditions"), &total);
        if ((json_int_t)hits < json_integer_value(json_object_get(x, "min_count")))
            return 0;
    }
    return 1;
}

int fq_filter_match(const fq_collection_t *c, const fq_point_t *p, const json_t *filter)
{
    if (!filter || json_is_null(filter))
        return 1;
    return eval_filter(c, p, p->payload, filter);
}
