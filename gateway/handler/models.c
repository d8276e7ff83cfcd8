/* The gateway API's model logic: the model table, validation and translation of searches to
 * Qdrant's query API, and the shape of every answer. Pure functions over jansson values. */
#include "gateway/handler/models.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

#define FORMAT "Format error in JSON body: "
#define WRONG  "Wrong input: "

const gw_model_t *gw_models_find(const gw_config_t *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->nmodels; i++) {
        const gw_model_t *m = &cfg->models[i];
        if (strlen(m->name) == len && memcmp(m->name, name, len) == 0) return m;
    }
    return NULL;
}

/* ---- JSON output with shortest exact reals ------------------------------------------------- */

static void text_str(gw_text_t *o, const char *s)
{
    gw_text_add(o, s, strlen(s));
}

static void put_string(gw_text_t *o, const char *s, size_t n)
{
    gw_text_add(o, "\"", 1);
    size_t run = 0; /* bytes that need no escape, written in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof(esc), "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof(esc), "\\n");
        else if (c == '\r')
            snprintf(esc, sizeof(esc), "\\r");
        else if (c == '\t')
            snprintf(esc, sizeof(esc), "\\t");
        else if (c < 0x20 || c == 0x7f)
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        else
            continue;
        gw_text_add(o, s + run, i - run);
        text_str(o, esc);
        run = i + 1;
    }
    gw_text_add(o, s + run, n - run);
    gw_text_add(o, "\"", 1);
}

static void put_real(gw_text_t *o, double d)
{
    char buf[40];
    if (!isfinite(d)) { /* cannot come from parsed JSON; keep the output valid anyway */
        text_str(o, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    text_str(o, buf);
    if (!strpbrk(buf, ".eE"))
        text_str(o, ".0"); /* stays a real for readers that care (Qdrant writes 1.0) */
}

static void put_json(gw_text_t *o, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        gw_text_add(o, "{", 1);
        json_object_foreach((json_t *)v, k, x)
        {
            if (!first) gw_text_add(o, ",", 1);
            first = 0;
            put_string(o, k, strlen(k));
            gw_text_add(o, ":", 1);
            put_json(o, x);
        }
        gw_text_add(o, "}", 1);
        break;
    }
    case JSON_ARRAY:
        gw_text_add(o, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) gw_text_add(o, ",", 1);
            put_json(o, json_array_get(v, i));
        }
        gw_text_add(o, "]", 1);
        break;
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text_str(o, num);
        break;
    case JSON_REAL:
        put_real(o, json_real_value(v));
        break;
    case JSON_TRUE:
        text_str(o, "true");
        break;
    case JSON_FALSE:
        text_str(o, "false");
        break;
    default:
        text_str(o, "null");
        break;
    }
}

char *gw_models_dump(const json_t *v, size_t *len)
{
    gw_text_t o = {0};
    put_json(&o, v);
    return gw_text_take(&o, len);
}

char *gw_models_wrap(const char *result, size_t rlen, double secs, size_t *len)
{
    gw_text_t o = {0};
    text_str(&o, "{\"result\":");
    gw_text_add(&o, result, rlen);
    text_str(&o, ",\"status\":\"ok\",\"time\":");
    put_real(&o, secs);
    gw_text_add(&o, "}", 1);
    return gw_text_take(&o, len);
}

char *gw_models_envelope(json_t *result, double secs, size_t *len)
{
    json_t *env = json_object();
    if (!env || !result) {
        json_decref(env);
        json_decref(result);
        return NULL;
    }
    json_object_set_new(env, "result", result);
    json_object_set_new(env, "status", json_string("ok"));
    json_object_set_new(env, "time", json_real(secs));
    char *text = gw_models_dump(env, len);
    json_decref(env);
    return text;
}

/* ---- validation and translation ---------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Where errors go: the buffer and the "searches[i]: " prefix of the search being checked. */
typedef struct perr {
    char *buf;
    size_t len;
    char where[32];
} perr_t;

static int bad(perr_t *e, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(perr_t *e, const char *kind, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(e->buf, e->len, "%s%s%s", kind, e->where, msg);
    return 400;
}

static const char *const search_fields[] = {"query_vector", "limit",           "filter",
                                            "with_payload", "score_threshold", "offset"};

static int check_fields(perr_t *e, const json_t *req)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v)
    {
        size_t i;
        for (i = 0; i < sizeof(search_fields) / sizeof(search_fields[0]); i++)
            if (strcmp(k, search_fields[i]) == 0) break;
        if (i == sizeof(search_fields) / sizeof(search_fields[0]))
            return bad(e, FORMAT,
                       "unknown field `%.64s`, expected one of `query_vector`, `limit`, `filter`, "
                       "`with_payload`, `score_threshold`, `offset`",
                       k);
    }
    return 0;
}

/* A member that is absent or null counts as not given. */
static json_t *member(const json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_null(v) ? NULL : v;
}

static int check_vector(perr_t *e, const gw_model_t *m, const json_t *vec)
{
    if (!vec) return bad(e, FORMAT, "missing field `query_vector`");
    if (!json_is_array(vec))
        return bad(e, FORMAT, "query_vector: expected an array of numbers, got %s", type_name(vec));
    size_t n = json_array_size(vec);
    if (n != (size_t)m->dimension)
        return bad(e, WRONG, "model %s expects %d dimensions, got %zu", m->name, m->dimension, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(vec, i);
        if (!json_is_number(x))
            return bad(e, WRONG, "query_vector[%zu]: expected a number, got %s", i, type_name(x));
        double d = json_number_value(x);
        if (!isfinite(d) || fabs(d) > FLT_MAX)
            return bad(e, WRONG, "query_vector[%zu]: %g is not a finite 32-bit float", i, d);
    }
    return 0;
}

static int check_limit(perr_t *e, const gw_model_t *m, const json_t *v, json_int_t *limit)
{
    *limit = m->default_limit;
    if (!v) return 0;
    if (!json_is_integer(v))
        return bad(e, FORMAT, "limit: expected a positive integer, got %s", type_name(v));
    *limit = json_integer_value(v);
    if (*limit < 1)
        return bad(e, WRONG, "limit must be at least 1, got %" JSON_INTEGER_FORMAT, *limit);
    if (*limit > m->max_limit)
        return bad(e, WRONG,
                   "limit %" JSON_INTEGER_FORMAT " is over the maximum of %d for model %s", *limit,
                   m->max_limit, m->name);
    return 0;
}

/* filter, with_payload, score_threshold, offset: shapes only; Qdrant judges the contents. */
static int check_options(perr_t *e, const json_t *req, int *payload)
{
    const json_t *v;
    if ((v = member(req, "filter")) && !json_is_object(v))
        return bad(e, FORMAT, "filter: expected an object, got %s", type_name(v));
    *payload = 0;
    if ((v = member(req, "with_payload"))) {
        if (!json_is_boolean(v) && !json_is_array(v) && !json_is_object(v))
            return bad(e, FORMAT,
                       "with_payload: expected a boolean, a list of fields or an include/exclude "
                       "object, got %s",
                       type_name(v));
        *payload = !json_is_false(v);
    }
    if ((v = member(req, "score_threshold")) && !json_is_number(v))
        return bad(e, FORMAT, "score_threshold: expected a number, got %s", type_name(v));
    if ((v = member(req, "offset"))) {
        if (!json_is_integer(v))
            return bad(e, FORMAT, "offset: expected an integer, got %s", type_name(v));
        if (json_integer_value(v) < 0)
            return bad(e, WRONG, "offset must be 0 or more, got %" JSON_INTEGER_FORMAT,
                       json_integer_value(v));
    }
    return 0;
}

/* One search: checked, and its Qdrant QueryRequest in *q (new reference). */
static int translate_one(perr_t *e, const gw_model_t *m, const json_t *req, json_t **q,
                         int *payload)
{
    int rc;
    json_int_t limit;
    if (!json_is_object(req)) return bad(e, FORMAT, "expected an object, got %s", type_name(req));
    if ((rc = check_fields(e, req)) || (rc = check_vector(e, m, member(req, "query_vector"))) ||
        (rc = check_limit(e, m, member(req, "limit"), &limit)) ||
        (rc = check_options(e, req, payload)))
        return rc;
    json_t *o = json_object();
    if (!o) return bad(e, "", "Service internal error: out of memory");
    json_object_set(o, "query", member(req, "query_vector"));
    if (m->vector[0]) json_object_set_new(o, "using", json_string(m->vector));
    json_object_set_new(o, "limit", json_integer(limit));
    static const char *const passed[] = {"filter", "with_payload", "score_threshold", "offset"};
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        json_t *v = member(req, passed[i]);
        if (v) json_object_set(o, passed[i], v);
    }
    *q = o;
    return 0;
}

static int translate_batch(perr_t *e, const gw_model_t *m, const json_t *req, gw_model_plan_t *plan,
                           json_t **q)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v)
    {
        if (strcmp(k, "searches") != 0)
            return bad(e, FORMAT, "unknown field `%.64s`, expected `searches`", k);
    }
    const json_t *list = member(req, "searches");
    if (!list) return bad(e, FORMAT, "missing field `searches`");
    if (!json_is_array(list))
        return bad(e, FORMAT, "searches: expected an array, got %s", type_name(list));
    size_t n = json_array_size(list);
    if (n < 1 || n > GW_MODELS_MAX_BATCH)
        return bad(e, WRONG, "searches must hold 1 to %d searches, got %zu", GW_MODELS_MAX_BATCH,
                   n);
    json_t *out = json_array();
    if (!out) return bad(e, "", "Service internal error: out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *one;
        int payload = 0, rc;
        snprintf(e->where, sizeof(e->where), "searches[%zu]: ", i);
        if ((rc = translate_one(e, m, json_array_get(list, i), &one, &payload))) {
            json_decref(out);
            return rc;
        }
        plan->payload[i] = (unsigned char)payload;
        json_array_append_new(out, one);
    }
    plan->n = n;
    *q = json_pack("{s:o}", "searches", out);
    return 0;
}

/* Parses a client body; 0 or 400 with serde-like text. */
static int parse_body(perr_t *e, const char *body, size_t len, json_t **root)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len) return bad(e, FORMAT, "EOF while parsing a value at line 1 column %zu", len);
    json_error_t jerr;
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!*root) return bad(e, FORMAT, "%s at line %d column %d", jerr.text, jerr.line, jerr.column);
    return 0;
}

int gw_models_translate(const gw_model_t *m, int batch, const char *body, size_t len,
                        gw_model_plan_t *plan, char **out, size_t *outlen, char *err, size_t errlen)
{
    perr_t e = {.buf = err, .len = errlen};
    json_t *root = NULL, *q = NULL;
    memset(plan, 0, sizeof(*plan));
    plan->batch = batch;
    plan->n = 1;
    int rc = parse_body(&e, body, len, &root);
    if (rc == 0 && !json_is_object(root))
        rc = bad(&e, FORMAT, "expected a JSON object, got %s", type_name(root));
    if (rc == 0 && batch) {
        rc = translate_batch(&e, m, root, plan, &q);
    } else if (rc == 0) {
        int payload = 0;
        rc = translate_one(&e, m, root, &q, &payload);
        plan->payload[0] = (unsigned char)payload;
    }
    json_decref(root);
    if (rc == 0 && !(*out = gw_models_dump(q, outlen))) {
        e.where[0] = '\0';
        rc = bad(&e, "", "Service internal error: out of memory");
    }
    json_decref(q);
    return rc;
}

/* ---- answers ----------------------------------------------------------------------------- */

/* Qdrant's {"points":[ScoredPoint...]} as [{"id","score","payload"?}...]; NULL if malformed. */
static json_t *hits_json(const json_t *res, int payload)
{
    const json_t *points = json_object_get(res, "points");
    if (!json_is_array(points)) return NULL;
    json_t *hits = json_array();
    for (size_t i = 0; hits && i < json_array_size(points); i++) {
        const json_t *p = json_array_get(points, i);
        json_t *id = json_object_get(p, "id"), *score = json_object_get(p, "score");
        if (!id || !json_is_number(score)) {
            json_decref(hits);
            return NULL;
        }
        json_t *h = json_object();
        json_object_set(h, "id", id);
        json_object_set(h, "score", score);
        if (payload) {
            json_t *pl = json_object_get(p, "payload");
            json_object_set_new(h, "payload", pl ? json_incref(pl) : json_object());
        }
        json_array_append_new(hits, h);
    }
    return hits;
}

static json_t *batches_json(const json_t *res, const gw_model_plan_t *plan)
{
    if (!json_is_array(res) || json_array_size(res) != plan->n) return NULL;
    json_t *out = json_array();
    for (size_t i = 0; out && i < plan->n; i++) {
        json_t *hits = hits_json(json_array_get(res, i), plan->payload[i]);
        if (!hits) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_pack("{s:o}", "hits", hits));
    }
    return out;
}

char *gw_models_result(const gw_model_t *m, const gw_model_plan_t *plan, const char *body,
                       size_t len, size_t *outlen)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *res = json_object_get(root, "result");
    json_t *shaped = plan->batch ? batches_json(res, plan) : hits_json(res, plan->payload[0]);
    json_decref(root);
    if (!shaped) return NULL;
    json_t *result = json_object();
    json_object_set_new(result, "model", json_string(m->name));
    json_object_set_new(result, "collection", json_string(m->collection));
    json_object_set_new(result, plan->batch ? "batches" : "hits", shaped);
    char *text = gw_models_dump(result, outlen);
    json_decref(result);
    return text;
}

char *gw_models_answer(const gw_model_t *m, const gw_model_plan_t *plan, const char *body,
                       size_t len, double secs, size_t *outlen)
{
    size_t rlen;
    char *result = gw_models_result(m, plan, body, len, &rlen);
    if (!result) return NULL;
    char *text = gw_models_wrap(result, rlen, secs, outlen);
    free(result);
    return text;
}

void gw_models_upstream_error(int status, const char *body, size_t len, char *buf, size_t buflen)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(root, "status"), "error"));
    if (msg) {
        snprintf(buf, buflen, "%s", msg);
    } else {
        while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
            len--;
        int printable = len > 0 && len <= 400;
        for (size_t i = 0; printable && i < len; i++)
            printable = (unsigned char)body[i] >= 0x20 && (unsigned char)body[i] < 0x7f;
        if (printable)
            snprintf(buf, buflen, "%.*s", (int)len, body);
        else
            snprintf(buf, buflen, "upstream answered %d", status);
    }
    json_decref(root);
}

/* ---- collections and model states -------------------------------------------------------- */

/* result.config.params.vectors of a GET /collections/{c} answer, or NULL. */
static const json_t *vectors_config(const json_t *root)
{
    const json_t *v = json_object_get(json_object_get(root, "result"), "config");
    v = json_object_get(json_object_get(v, "params"), "vectors");
    return json_is_object(v) ? v : NULL;
}

/* A single unnamed vector's config is {"size": N, "distance": "..."}; a named map's values are
 * objects (a vector may itself be named "size", hence the check on both members' types). */
static int is_single(const json_t *vectors)
{
    return json_is_integer(json_object_get(vectors, "size")) &&
           json_is_string(json_object_get(vectors, "distance"));
}

static const char *state_from_info(const gw_model_t *m, const json_t *vectors, char *detail,
                                   size_t dlen)
{
    const json_t *params = vectors;
    if (is_single(vectors) && m->vector[0]) {
        snprintf(detail, dlen, "collection %s has one unnamed vector, not one named %s",
                 m->collection, m->vector);
        return "dimension mismatch";
    }
    if (!is_single(vectors) && !m->vector[0]) {
        snprintf(detail, dlen, "collection %s has only named vectors: set models.%s.vector",
                 m->collection, m->name);
        return "dimension mismatch";
    }
    if (m->vector[0] && !(params = json_object_get(vectors, m->vector))) {
        snprintf(detail, dlen, "collection %s has no vector named %s", m->collection, m->vector);
        return "dimension mismatch";
    }
    json_int_t size = json_integer_value(json_object_get(params, "size"));
    if (size != m->dimension) {
        snprintf(detail, dlen,
                 "collection %s has %" JSON_INTEGER_FORMAT "-dimensional vectors, "
                 "the model %d",
                 m->collection, size, m->dimension);
        return "dimension mismatch";
    }
    detail[0] = '\0';
    return "ready";
}

const char *gw_models_state(const gw_model_t *m, int status, const char *body, size_t len,
                            const char *error, char *detail, size_t dlen)
{
    if (status == 0) {
        snprintf(detail, dlen, "%s", error ? error : "no answer from upstream");
        return "unknown";
    }
    if (status == 404) {
        snprintf(detail, dlen, "collection %s does not exist", m->collection);
        return "collection missing";
    }
    if (status != 200) {
        char msg[400];
        gw_models_upstream_error(status, body, len, msg, sizeof(msg));
        snprintf(detail, dlen, "upstream answered %d: %s", status, msg);
        return "unknown";
    }
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *vectors = vectors_config(root);
    const char *state;
    if (!vectors) {
        snprintf(detail, dlen, "unexpected collection info from upstream");
        state = "unknown";
    } else {
        state = state_from_info(m, vectors, detail, dlen);
    }
    json_decref(root);
    return state;
}

json_t *gw_models_model_json(const gw_model_t *m, const char *state, const char *detail)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:o}", "name", m->name, "collection",
                     m->collection, "vector", m->vector, "dimension", m->dimension, "default_limit",
                     m->default_limit, "max_limit", m->max_limit, "state", state, "detail",
                     detail && detail[0] ? json_string(detail) : json_null());
}

json_t *gw_models_collection_names(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *list = json_object_get(json_object_get(root, "result"), "collections");
    json_t *names = json_is_array(list) ? json_array() : NULL;
    for (size_t i = 0; names && i < json_array_size(list); i++) {
        json_t *name = json_object_get(json_array_get(list, i), "name");
        if (!json_is_string(name)) {
            json_decref(names);
            names = NULL;
            break;
        }
        json_array_append(names, name);
    }
    json_decref(root);
    return names;
}

/* {size, distance} of one vector's params. */
static json_t *vector_summary(const json_t *params)
{
    return json_pack("{s:O?,s:O?}", "size", json_object_get(params, "size"), "distance",
                     json_object_get(params, "distance"));
}

static json_t *vectors_summary(const json_t *vectors)
{
    if (is_single(vectors)) return vector_summary(vectors);
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)vectors, k, v)
    {
        json_object_set_new(out, k, vector_summary(v));
    }
    return out;
}

json_t *gw_models_collection_json(const gw_config_t *cfg, const char *name, int status,
                                  const char *body, size_t len, const char *error)
{
    json_t *models = json_array();
    for (size_t i = 0; i < cfg->nmodels; i++)
        if (strcmp(cfg->models[i].collection, name) == 0)
            json_array_append_new(models, json_string(cfg->models[i].name));
    json_t *root = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *vectors = vectors_config(root);
    json_t *points = json_object_get(json_object_get(root, "result"), "points_count");
    json_t *out = json_pack("{s:s,s:O,s:o,s:o}", "name", name, "points_count",
                            json_is_integer(points) ? points : json_null(), "vectors",
                            vectors ? vectors_summary(vectors) : json_null(), "models", models);
    if (out && !vectors) {
        char msg[400] = "unexpected collection info from upstream";
        if (status == 0)
            snprintf(msg, sizeof(msg), "%s", error ? error : "no answer from upstream");
        else if (status != 200)
            gw_models_upstream_error(status, body, len, msg, sizeof(msg));
        json_object_set_new(out, "error", json_string(msg));
    }
    json_decref(root);
    return out;
}
