/* libFuzzer target for the model API's pure part (gateway/handler/models.c and its memo).
 * Input: byte 0 holds flags (bit 0: batch; bit 1: which model; bits 2-7: a plan for the answer
 * when the request is refused), then the client's search body, then optionally a NUL byte and
 * Qdrant's answer body.
 * Properties of gw_models_translate: 0 or 400, nothing else; 400 leaves *out alone and gives a
 * Qdrant-style message ("Format error in JSON body: ..." or "Wrong input: ..."), also into a
 * short buffer without overrun; 0 gives valid compact JSON (no duplicate keys) whose "query" is
 * the client's query_vector, "limit" within 1..max_limit, "using" the model's vector, only known
 * fields, a plan of 1..100 searches matching the body; the memo gives byte-identical results.
 * Properties of gw_models_answer: NULL exactly when the body is not Qdrant's answer shape (a
 * "result" with "points" whose items have an id and a numeric score; for a batch, an array of
 * plan.n such objects); otherwise valid JSON carrying the model, the collection, and per point
 * the same id and score (and payload when asked for, {} if none); the memo gives the same. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/handler/models.h"
#include "gateway/handler/models_memo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gw_model_t models[2] = {
    {"mini", "docs", "", 4, 10, 100},
    {"img", "pics", "clip", 3, 2, 5},
};
static gw_models_memo_t *memo;

#define FORMAT "Format error in JSON body: "
#define WRONG  "Wrong input: "

static json_t *load_strict(const char *s, size_t len)
{
    json_t *v = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
    if (!v) abort();
    return v;
}

/* One translated search against the client's. */
static void check_query(const gw_model_t *m, const json_t *q, const json_t *req, int payload)
{
    if (!json_is_object(q) || !json_is_object(req)) abort();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)q, k, v)
    {
        if (strcmp(k, "query") && strcmp(k, "using") && strcmp(k, "limit") && strcmp(k, "filter") &&
            strcmp(k, "with_payload") && strcmp(k, "score_threshold") && strcmp(k, "offset"))
            abort();
    }
    if (!json_equal(json_object_get(q, "query"), json_object_get(req, "query_vector"))) abort();
    if (json_array_size(json_object_get(q, "query")) != (size_t)m->dimension) abort();
    json_t *limit = json_object_get(q, "limit");
    if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
        json_integer_value(limit) > m->max_limit)
        abort();
    json_t *using = json_object_get(q, "using");
    if (m->vector[0] ? !json_is_string(using) || strcmp(json_string_value(using), m->vector) != 0
                     : using != NULL)
        abort();
    static const char *const passed[] = {"filter", "with_payload", "score_threshold", "offset"};
    for (size_t i = 0; i < 4; i++) {
        json_t *a = json_object_get(req, passed[i]);
        if (json_is_null(a)) a = NULL;
        json_t *b = json_object_get(q, passed[i]);
        if ((a == NULL) != (b == NULL) || (a && !json_equal(a, b))) abort();
    }
    json_t *wp = json_object_get(req, "with_payload");
    int want = wp && !json_is_null(wp) && !json_is_false(wp);
    if (payload != want) abort();
}

static void check_translation(const gw_model_t *m, int batch, const char *body, size_t len,
                              const gw_model_plan_t *plan, const char *out, size_t outlen)
{
    if (strlen(out) != outlen) abort();
    json_t *q = load_strict(out, outlen);
    json_t *req = load_strict(body, len);
    if (plan->batch != batch || plan->n < 1 || plan->n > GW_MODELS_MAX_BATCH) abort();
    for (size_t i = 0; i < plan->n; i++)
        if (plan->payload[i] > 1) abort();
    if (batch) {
        json_t *s = json_object_get(q, "searches"), *rs = json_object_get(req, "searches");
        if (json_object_size(q) != 1 || json_array_size(s) != plan->n ||
            json_array_size(rs) != plan->n)
            abort();
        for (size_t i = 0; i < plan->n; i++)
            check_query(m, json_array_get(s, i), json_array_get(rs, i), plan->payload[i]);
    } else {
        if (plan->n != 1) abort();
        check_query(m, q, req, plan->payload[0]);
    }
    json_decref(q);
    json_decref(req);
}

/* The points of one Qdrant search answer, or NULL if it is not one. */
static const json_t *points_of(const json_t *res)
{
    const json_t *pts = json_object_get(res, "points");
    if (!json_is_array(pts)) return NULL;
    for (size_t i = 0; i < json_array_size(pts); i++) {
        const json_t *p = json_array_get(pts, i);
        if (!json_object_get(p, "id") || !json_is_number(json_object_get(p, "score"))) return NULL;
    }
    return pts;
}

static void check_hits(const json_t *hits, const json_t *pts, int payload)
{
    if (json_array_size(hits) != json_array_size(pts)) abort();
    for (size_t i = 0; i < json_array_size(pts); i++) {
        const json_t *h = json_array_get(hits, i), *p = json_array_get(pts, i);
        if (!json_equal(json_object_get(h, "id"), json_object_get(p, "id")) ||
            !json_equal(json_object_get(h, "score"), json_object_get(p, "score")))
            abort();
        json_t *hp = json_object_get(h, "payload"), *pp = json_object_get(p, "payload");
        if (!payload ? hp != NULL
            : pp     ? !json_equal(hp, pp)
                     : !json_is_object(hp) || json_object_size(hp))
            abort();
        if (json_object_size(h) != 2u + (payload != 0)) abort();
    }
}

static void check_answer(const gw_model_t *m, const gw_model_plan_t *plan, const char *body,
                         size_t len)
{
    size_t alen = 0, mlen = 0;
    char *a = gw_models_answer(m, plan, body, len, 0.25, &alen);
    char *am = gw_models_answer_memo(memo, m, plan, body, len, 0.25, &mlen);
    char *am2 = gw_models_answer_memo(memo, m, plan, body, len, 0.25, &mlen);
    if ((a == NULL) != (am == NULL) || (a == NULL) != (am2 == NULL)) abort();
    if (a && (alen != mlen || memcmp(a, am, alen) != 0 || memcmp(a, am2, alen) != 0)) abort();
    free(am);
    free(am2);

    /* What the answer should be, from the body itself. */
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *res = json_object_get(root, "result");
    int shaped = 1;
    if (plan->batch) {
        if (!json_is_array(res) || json_array_size(res) != plan->n) shaped = 0;
        for (size_t i = 0; shaped && i < plan->n; i++)
            if (!points_of(json_array_get(res, i))) shaped = 0;
    } else if (!points_of(res)) {
        shaped = 0;
    }
    if (shaped != (a != NULL)) abort();
    if (a) {
        if (strlen(a) != alen) abort();
        json_t *v = load_strict(a, alen);
        json_t *r = json_object_get(v, "result");
        if (strcmp(json_string_value(json_object_get(v, "status")), "ok") != 0 ||
            json_real_value(json_object_get(v, "time")) != 0.25 ||
            strcmp(json_string_value(json_object_get(r, "model")), m->name) != 0 ||
            strcmp(json_string_value(json_object_get(r, "collection")), m->collection) != 0)
            abort();
        if (plan->batch) {
            const json_t *b = json_object_get(r, "batches");
            if (json_array_size(b) != plan->n) abort();
            for (size_t i = 0; i < plan->n; i++)
                check_hits(json_object_get(json_array_get(b, i), "hits"),
                           points_of(json_array_get(res, i)), plan->payload[i]);
        } else {
            check_hits(json_object_get(r, "hits"), points_of(res), plan->payload[0]);
        }
        json_decref(v);
    }
    json_decref(root);
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384) return 0;
    if (!memo) memo = gw_models_memo_new();
    int batch = data[0] & 1;
    const gw_model_t *m = &models[(data[0] >> 1) & 1];
    const char *body = (const char *)data + 1;
    const char *nul = memchr(body, '\0', size - 1);
    size_t blen = nul ? (size_t)(nul - body) : size - 1;

    gw_model_plan_t plan, plan2;
    char *out = (char *)1, *out2 = NULL, err[512], small[24];
    size_t outlen = 0, outlen2 = 0;
    err[0] = '\0';
    int rc = gw_models_translate(m, batch, body, blen, &plan, &out, &outlen, err, sizeof(err));
    if (rc != 0 && rc != 400) abort();
    if (rc == 400) {
        if (out != (char *)1) abort();
        if (!memchr(err, '\0', sizeof(err))) abort();
        if (strncmp(err, FORMAT, strlen(FORMAT)) != 0 && strncmp(err, WRONG, strlen(WRONG)) != 0)
            abort();
        if (strlen(err) <= strlen(WRONG)) abort();
        char *o = (char *)1;
        if (gw_models_translate(m, batch, body, blen, &plan2, &o, &outlen2, small, sizeof(small)) !=
                400 ||
            !memchr(small, '\0', sizeof(small)) || strncmp(small, err, sizeof(small) - 1) != 0)
            abort();
        out = NULL;
        /* An answer for a plan of the flags' choosing still gets checked. */
        memset(&plan, 0, sizeof(plan));
        plan.batch = batch;
        plan.n = batch ? 1 + ((data[0] >> 2) & 3) : 1;
        for (size_t i = 0; i < plan.n; i++)
            plan.payload[i] = (data[0] >> (4 + i)) & 1;
    } else {
        check_translation(m, batch, body, blen, &plan, out, outlen);
    }
    /* Through the memo (twice: a miss, then a hit when it was kept): the same. */
    for (int round = 0; round < 2; round++) {
        out2 = NULL;
        int rc2 = gw_models_translate_memo(memo, m, batch, body, blen, &plan2, &out2, &outlen2, err,
                                           sizeof(err));
        if (rc2 != rc) abort();
        if (rc == 0 &&
            (outlen2 != outlen || memcmp(out, out2, outlen) != 0 || plan2.batch != plan.batch ||
             plan2.n != plan.n || memcmp(plan2.payload, plan.payload, plan.n) != 0))
            abort();
        free(out2);
    }
    free(out);
    if (nul) check_answer(m, &plan, nul + 1, size - 1 - blen - 1);
    return 0;
}
