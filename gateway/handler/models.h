/* The gateway API's model logic, as pure functions: the model table, validation of client
 * searches and their translation to Qdrant's query API, and the shaping of every answer. No I/O,
 * no event loop: gateway/handler/models_api.c does the plumbing. All functions are reentrant. */
#ifndef GW_MODELS_H
#define GW_MODELS_H

#include <jansson.h>
#include <stddef.h>

#include "gateway/core/config.h"

#define GW_MODELS_MAX_BATCH 100 /* searches in one /vectors/search/batch */

/* The model named name[0..len), or NULL. */
const gw_model_t *gw_models_find(const gw_config_t *cfg, const char *name, size_t len);

/* What a validated request asked for that shapes its answer. */
typedef struct gw_model_plan {
    int batch;                                  /* /vectors/search/batch */
    size_t n;                                   /* searches; 1 unless batch */
    unsigned char payload[GW_MODELS_MAX_BATCH]; /* with_payload asked for, per search */
} gw_model_plan_t;

/* Validates a client's search (batch = 0) or batch (batch = 1) body for model m and builds the
 * body of Qdrant's POST /collections/{c}/points/query (or /query/batch): compact JSON in *out
 * (heap, the caller frees), *outlen its length. Returns 0, or 400 with Qdrant-style text in err
 * ("Format error in JSON body: ..." for JSON and shape problems, "Wrong input: ..." for values;
 * batch problems start "searches[i]: "). */
int gw_models_translate(const gw_model_t *m, int batch, const char *body, size_t len,
                        gw_model_plan_t *plan, char **out, size_t *outlen, char *err,
                        size_t errlen);

/* The gateway's answer to a search or batch from Qdrant's 200 answer body:
 * {"result":{"model","collection","hits"|"batches"},"status":"ok","time":secs}. Heap string
 * (length in *len), or NULL when body is not the answer Qdrant gives. */
char *gw_models_answer(const gw_model_t *m, const gw_model_plan_t *plan, const char *body,
                       size_t len, double secs, size_t *outlen);
/* The "result" object of that answer alone (what gw_models_answer wraps), or NULL. */
char *gw_models_result(const gw_model_t *m, const gw_model_plan_t *plan, const char *body,
                       size_t len, size_t *outlen);
/* {"result":<result>,"status":"ok","time":secs} around an already serialised result. */
char *gw_models_wrap(const char *result, size_t rlen, double secs, size_t *len);

/* The error text of an upstream error answer: Qdrant's envelope {"status":{"error":...}}, else
 * the body as text (401/403 are plain text), else "upstream answered STATUS". */
void gw_models_upstream_error(int status, const char *body, size_t len, char *buf, size_t buflen);

/* A model's state from the answer to GET /collections/{collection}: status 0 = no answer
 * (error says why). Returns "ready", "collection missing", "dimension mismatch" or "unknown";
 * detail gets an explanation ("" when ready). */
const char *gw_models_state(const gw_model_t *m, int status, const char *body, size_t len,
                            const char *error, char *detail, size_t dlen);

/* One element of GET /api/v1/models' "models" array (new reference). */
json_t *gw_models_model_json(const gw_model_t *m, const char *state, const char *detail);

/* The names in GET /collections' 200 body, as a JSON array of strings (new reference), or NULL
 * when the body is not that answer. */
json_t *gw_models_collection_names(const char *body, size_t len);

/* One element of GET /api/v1/collections' "collections" array from the answer to
 * GET /collections/{name} (status 0 = no answer, error says why): name, points_count, vectors
 * (a single {size, distance} or a map name -> {size, distance}), the models mapped to it, and
 * "error" when its details could not be read. New reference. */
json_t *gw_models_collection_json(const gw_config_t *cfg, const char *name, int status,
                                  const char *body, size_t len, const char *error);

/* {"result":<result>,"status":"ok","time":secs} (takes the reference to result) as a heap
 * string, length in *len; NULL when out of memory. */
char *gw_models_envelope(json_t *result, double secs, size_t *len);

/* Compact JSON with reals written in their shortest exact form (0.9, not 0.90000000000000002).
 * Heap string, length in *len; NULL when out of memory. */
char *gw_models_dump(const json_t *v, size_t *len);

#endif
