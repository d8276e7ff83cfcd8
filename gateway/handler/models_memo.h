/* Per-worker memo of the model API's two translations, both pure functions of their inputs:
 * a client's search body into Qdrant's query (plus the plan), and Qdrant's answer into the
 * gateway API's shape. Repeated searches repeat byte for byte (and cached answers too), so a
 * repeat skips parsing, validating and re-serialising: most of a model search's cost on a cache
 * hit. Keyed by the SHA-256 of the inputs, so equal keys mean equal output. */
#ifndef GW_MODELS_MEMO_H
#define GW_MODELS_MEMO_H

#include <stddef.h>

#include "gateway/handler/models.h"

typedef struct gw_models_memo gw_models_memo_t;

gw_models_memo_t *gw_models_memo_new(void);
void gw_models_memo_free(gw_models_memo_t *m);

/* gw_models_translate through the memo (m may be NULL: no memo). Only successful translations
 * are kept; errors take the long way each time. */
int gw_models_translate_memo(gw_models_memo_t *m, const gw_model_t *model, int batch,
                             const char *body, size_t len, gw_model_plan_t *plan, char **out,
                             size_t *outlen, char *err, size_t errlen);

/* gw_models_answer through the memo (m may be NULL: no memo). */
char *gw_models_answer_memo(gw_models_memo_t *m, const gw_model_t *model,
                            const gw_model_plan_t *plan, const char *body, size_t len, double secs,
                            size_t *outlen);

#endif
