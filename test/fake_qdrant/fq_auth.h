/* fake_qdrant's JWT RBAC (--jwt-rbac true, tokens signed with --api-key), written after
 * Qdrant 1.19's middleware, jsonwebtoken 10 and the ACTION_ACCESS table of Qdrant's own auth
 * tests, independently of the gateway's code, so the two can be compared. */
#ifndef FQ_AUTH_H
#define FQ_AUTH_H

#include "fq_app.h"

/* Called before the api-key check: 1 when it answered (401/403), 0 to go on (rq->jwt_ok is
 * set when a valid JWT allowed the request). */
int fq_auth_gate(fq_rq_t *rq);

#endif
