/* fake_qdrant's gRPC server (Qdrant's port 6334 stand-in): HTTP/2 cleartext by prior knowledge on
 * its own listener (--grpc-listen), unary calls of qdrant.Collections, qdrant.Points,
 * qdrant.Qdrant and grpc.health.v1.Health on the same store as the REST API. fq_grpc.c is the
 * transport (nghttp2 session, framing, trailers); fq_grpc_api.c and fq_grpc_points.c the methods;
 * fq_grpc_conv.c the message <-> store conversions. */
#ifndef FQ_GRPC_H
#define FQ_GRPC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "fq_app.h"

typedef struct fq_grpc_server fq_grpc_server_t;

/* Listens on host:port (IPv4 literal; "localhost" = 127.0.0.1); NULL with errno on failure. */
fq_grpc_server_t *fq_grpc_server_new(fq_app_t *app, const char *host, int port);
/* Starts app->grpc from app->opt.grpc_listen; -1 after printing why. */
int fq_grpc_start(fq_app_t *app);
void fq_grpc_server_free(fq_grpc_server_t *s);

/* ---- one call, as the methods see it ---- */
typedef struct fq_gblk fq_gblk_t;
typedef struct {
    fq_app_t *app;
    int status;        /* grpc-status to send */
    char message[512]; /* grpc-message (plain text; percent-encoded when sent) */
    uint8_t *out;      /* packed response message (malloc'd), when status is OK */
    size_t out_len;
    fq_gblk_t *arena;   /* fq_galloc blocks, freed after the call */
    struct timespec t0; /* for the responses' time field */
} fq_gcall_t;

/* Zeroed memory living until the call's answer is packed. */
void *fq_galloc(fq_gcall_t *c, size_t n);
char *fq_gstrdup(fq_gcall_t *c, const char *s);
/* Packs m as the answer (status OK). */
void fq_greply(fq_gcall_t *c, const ProtobufCMessage *m);
/* Fails the call; returns -1. */
int fq_gfail(fq_gcall_t *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fq_gnot_found(fq_gcall_t *c, const char *collection);
double fq_gelapsed(const fq_gcall_t *c);

typedef void (*fq_gmethod_fn)(fq_gcall_t *c, const ProtobufCMessage *req);
typedef struct {
    const char *path; /* "/qdrant.Points/Search" */
    const ProtobufCMessageDescriptor *req;
    fq_gmethod_fn fn;
} fq_gmethod_t;

/* Method by :path, NULL when not implemented (fq_grpc_api.c). */
const fq_gmethod_t *fq_grpc_method(const char *path);
/* qdrant.Qdrant/HealthCheck (qdrant.proto is not compiled: its reply is encoded by hand). */
void fq_grpc_healthcheck(fq_gcall_t *c);
/* Points methods (fq_grpc_points.c). */
extern const fq_gmethod_t fq_grpc_points_methods[];
extern const size_t fq_grpc_points_nmethods;

#endif
