/* Counters of fake_qdrant: Prometheus text for /metrics shaped like Qdrant's, /telemetry, and the
 * /__fake/stats and /__fake/echo test hooks (request counts per route, TCP connections seen). */
#ifndef FQ_METRICS_H
#define FQ_METRICS_H

#include <stdint.h>

#include "fq_app.h"

fq_metrics_t *fq_metrics_new(void);
void fq_metrics_free(fq_metrics_t *m);
void fq_metrics_reset(fq_metrics_t *m);

void fq_metrics_conn_accepted(fq_metrics_t *m);
void fq_metrics_conn_closed(fq_metrics_t *m);
/* A request arrived (before faults); route may be NULL when nothing matched. */
void fq_metrics_request(fq_metrics_t *m, const fq_route_t *route, const char *method,
                        uint64_t conn_id);
/* A reply was sent. */
void fq_metrics_response(fq_metrics_t *m, const fq_route_t *route, const char *method, int status,
                         double seconds);
void fq_metrics_fault(fq_metrics_t *m, int reset);
/* A gRPC call arrived (its stream's request is complete). */
void fq_metrics_grpc_call(fq_metrics_t *m);
/* Remembers a request line for the "recent" list of /__fake/stats. */
void fq_metrics_note_recent(fq_metrics_t *m, const char *method, const char *target, uint64_t c);

void fq_h_metrics(fq_rq_t *rq);
void fq_h_telemetry(fq_rq_t *rq);
void fq_h_fake_stats(fq_rq_t *rq);
void fq_h_fake_stats_reset(fq_rq_t *rq);
void fq_h_fake_reset(fq_rq_t *rq);
void fq_h_fake_echo(fq_rq_t *rq);

#endif
