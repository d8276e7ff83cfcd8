/* Model-API answer memo: a direct-mapped table of serialised "result" objects. */
#include "gateway/handler/models_memo.h"

#include <stdlib.h>
#include <string.h>

#include "common/digest.h"

#define MEMO_SLOTS     512        /* per worker */
#define MEMO_MAX_BYTES (64 << 10) /* larger results are not kept */

typedef struct memo_slot {
    unsigned char key[GW_DIGEST_LEN];
    char *text; /* NULL: empty */
    size_t len;
} memo_slot_t;

typedef struct query_slot {
    memo_slot_t q; /* Qdrant's query */
    gw_model_plan_t plan;
} query_slot_t;

struct gw_models_memo {
    memo_slot_t slot[MEMO_SLOTS]; /* answers */
    query_slot_t query[MEMO_SLOTS];
};

gw_models_memo_t *gw_models_memo_new(void)
{
    return calloc(1, sizeof(gw_models_memo_t));
}

void gw_models_memo_free(gw_models_memo_t *m)
{
    if (!m) return;
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        free(m->slot[i].text);
        free(m->query[i].q.text);
    }
    free(m);
}

static int memo_key(const gw_model_t *model, const gw_model_plan_t *plan, const char *body,
                    size_t len, unsigned char out[GW_DIGEST_LEN])
{
    gw_digest_t d;
    if (gw_digest_init(&d) != 0) return -1;
    gw_digest_field(&d, "qgw-model-answer-1", 18);
    gw_digest_field(&d, model->name, strlen(model->name));
    gw_digest_field(&d, model->collection, strlen(model->collection));
    gw_digest_u64(&d, (uint64_t)plan->batch);
    gw_digest_u64(&d, (uint64_t)plan->n);
    gw_digest_field(&d, plan->payload,
                    plan->n < GW_MODELS_MAX_BATCH ? plan->n : GW_MODELS_MAX_BATCH);
    gw_digest_field(&d, body, len);
    gw_digest_final(&d, out);
    return 0;
}

static size_t slot_of(const unsigned char key[GW_DIGEST_LEN])
{
    size_t idx;
    memcpy(&idx, key, sizeof(idx));
    return idx % MEMO_SLOTS;
}

int gw_models_translate_memo(gw_models_memo_t *m, const gw_model_t *model, int batch,
                             const char *body, size_t len, gw_model_plan_t *plan, char **out,
                             size_t *outlen, char *err, size_t errlen)
{
    unsigned char key[GW_DIGEST_LEN];
    gw_digest_t d;
    if (!m || gw_digest_init(&d) != 0)
        return gw_models_translate(model, batch, body, len, plan, out, outlen, err, errlen);
    gw_digest_field(&d, "qgw-model-query-1", 17);
    gw_digest_field(&d, model->name, strlen(model->name));
    gw_digest_field(&d, model->collection, strlen(model->collection));
    gw_digest_field(&d, model->vector, strlen(model->vector));
    gw_digest_u64(&d, (uint64_t)model->dimension);
    gw_digest_u64(&d, (uint64_t)model->default_limit);
    gw_digest_u64(&d, (uint64_t)model->max_limit);
    gw_digest_u64(&d, (uint64_t)batch);
    gw_digest_field(&d, body, len);
    gw_digest_final(&d, key);
    query_slot_t *s = &m->query[slot_of(key)];
    if (s->q.text && memcmp(s->q.key, key, GW_DIGEST_LEN) == 0) {
        char *copy = malloc(s->q.len + 1);
        if (copy) {
            memcpy(copy, s->q.text, s->q.len + 1);
            *plan = s->plan;
            *out = copy;
            *outlen = s->q.len;
            return 0;
        }
    }
    int status = gw_models_translate(model, batch, body, len, plan, out, outlen, err, errlen);
    if (status != 0 || *outlen > MEMO_MAX_BYTES) return status;
    char *keep = malloc(*outlen + 1);
    if (keep) {
        memcpy(keep, *out, *outlen);
        keep[*outlen] = '\0';
        free(s->q.text);
        s->q.text = keep;
        s->q.len = *outlen;
        s->plan = *plan;
        memcpy(s->q.key, key, GW_DIGEST_LEN);
    }
    return 0;
}

char *gw_models_answer_memo(gw_models_memo_t *m, const gw_model_t *model,
                            const gw_model_plan_t *plan, const char *body, size_t len, double secs,
                            size_t *outlen)
{
    unsigned char key[GW_DIGEST_LEN];
    if (!m || memo_key(model, plan, body, len, key) != 0)
        return gw_models_answer(model, plan, body, len, secs, outlen);
    memo_slot_t *s = &m->slot[slot_of(key)];
    if (s->text && memcmp(s->key, key, GW_DIGEST_LEN) == 0)
        return gw_models_wrap(s->text, s->len, secs, outlen);
    size_t rlen;
    char *result = gw_models_result(model, plan, body, len, &rlen);
    if (!result) return NULL;
    char *text = gw_models_wrap(result, rlen, secs, outlen);
    if (rlen <= MEMO_MAX_BYTES) {
        free(s->text);
        s->text = result;
        s->len = rlen;
        memcpy(s->key, key, GW_DIGEST_LEN);
    } else {
        free(result);
    }
    return text;
}
