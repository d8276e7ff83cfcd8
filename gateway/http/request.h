/* The protocol-neutral request: what a codec (HTTP/1.1 now, HTTP/2 next) hands to handlers,
 * and the one response API every handler answers through. */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/http/headers.h"
#include "gateway/http/router.h"

struct evbuffer;
typedef struct gw_loop gw_loop_t;
typedef struct gw_req gw_req_t;

/* What a codec provides. All are called on the request's worker thread and may be called from
 * inside libcurl callbacks, so none of them may free the request or call back into handlers
 * synchronously. */
typedef struct gw_codec_ops {
    /* Status line and headers. content_length < 0: length unknown, the codec frames the body
     * (chunked in HTTP/1.1). The codec adds its own framing and connection headers. */
    void (*send_head)(gw_req_t *r, int status, const gw_hdr_t *hdrs, size_t n,
                      int64_t content_length);
    void (*send_body)(gw_req_t *r, const void *data, size_t len);
    /* Optional (NULL: send_body copies): the same, but the len bytes at data stay valid and
     * unchanged until the codec calls release(arg), once, when it no longer needs them (sent,
     * or dropped with the stream). So N answers of one stored entry cost one copy. */
    void (*send_body_ref)(gw_req_t *r, const void *data, size_t len, void (*release)(void *arg),
                          void *arg);
    /* The response is complete. ok == 0: it was cut short (upstream failed mid-body), so the
     * codec must abort the stream/connection instead of ending it cleanly. */
    void (*finish)(gw_req_t *r, int ok);
    /* Response bytes queued towards the client and not yet written (for backpressure). */
    size_t (*out_pending)(gw_req_t *r);
    /* want == 0: stop reading the request body from the client; 1: read again. */
    void (*want_body)(gw_req_t *r, int want);
    /* Optional (HTTP/2 only; NULL elsewhere): ends a complete response with trailer fields
     * (gRPC's grpc-status, grpc-message) after the body, instead of finish(r, 1). The codec
     * copies them. A head sent with GW_REQ_NO_BODY ends the stream itself: trailers cannot
     * follow it. */
    void (*send_trailers)(gw_req_t *r, const gw_hdr_t *hdrs, size_t n);
} gw_codec_ops_t;

/* send_head's content_length for a head that is the whole response, with no Content-Length
 * field (gRPC's trailers-only answers); finish(r, 1) must still follow. */
#define GW_REQ_NO_BODY (-3)

/* What a handler provides. Called by codecs; every hook may be NULL. */
typedef struct gw_handler_ops {
    void (*on_body)(gw_req_t *r);  /* new bytes in r->body, or r->body_done became 1 */
    void (*on_drain)(gw_req_t *r); /* out_pending fell below the low-water mark */
    /* The client went away: stop all work and call gw_req_release(r, GW_REQ_HANDLER). */
    void (*on_abort)(gw_req_t *r);
} gw_handler_ops_t;

/* What access control (gateway/auth) verified about a request's credential, for the layers
 * below it (the cache keys and checks reads by it); NULL on r->authz when auth is off. */
typedef struct gw_req_authz gw_req_authz_t;
struct gw_req_authz {
    /* 0 when the credential may read collection `name` (NUL-terminated), else 403 with
     * Qdrant's message in msg (for names a read's body adds: lookup_from, with_lookup); the
     * caller then refuses the request with it (it is audited as refused). */
    int (*check_read)(gw_req_authz_t *z, const char *name, char *msg, size_t cap);
    /* The tenant the credential is bound to ("field\0value", tenant_len bytes), or NULL: part
     * of every cache key, so tenants never share entries. */
    const char *tenant;
    size_t tenant_len;
    /* 1 when the credential was verified to have global manage access (gateway endpoints such
     * as /api/v1/cache/purge then need no key of their own). */
    int manage;
    /* 1 when only Qdrant can finish checking the credential (a JWT's value_exists claim: the
     * points it names must still exist): its reads never take an answer from the cache or from
     * another client's identical read in flight, so a revoked token is refused by Qdrant. */
    int upstream_checks;
    /* The credential the client presented (in the request's own header bytes, which outlive
     * the gate dropping a gateway key's headers): internal requests made on the client's
     * behalf carry it, and are checked with it (gateway/handler/subreq.c). */
    const char *credential;
    size_t credential_len;
    /* Called once when the request is freed (audit, then free z). */
    void (*done)(gw_req_authz_t *z, const gw_req_t *r);
};

/* Thresholds for buffering in either direction (bytes). */
#define GW_REQ_HIGH_WATER (1u << 20)
#define GW_REQ_LOW_WATER  (256u << 10)

/* A deferred gate that may wait: see gw_req_t.gate_wait. */
typedef struct gw_gate_wait {
    void (*resume)(gw_req_t *r, void *arg, int answered); /* the caller's */
    void *arg;
    void (*cancel)(void *park); /* the gate's, while it waits */
    void *park;
} gw_gate_wait_t;

/* Who still holds the request; it is freed when both have let go. */
enum { GW_REQ_CODEC = 1, GW_REQ_HANDLER = 2 };

struct gw_req {
    gw_loop_t *loop; /* the worker loop it lives on */
    const gw_codec_ops_t *codec;
    void *codec_ctx;
    const gw_handler_ops_t *handler;
    void *handler_ctx;
    unsigned holders;

    /* Request line and headers, views into `raw` (owned). */
    char *raw;
    const char *method;
    size_t method_len;
    const char *target; /* origin-form request-target: path plus optional ?query */
    size_t target_len;
    const char *path;
    size_t path_len;
    const char *query; /* after '?', NULL if none */
    size_t query_len;
    gw_hdr_t *hdrs;
    size_t nhdrs;
    int http_minor; /* 0 or 1 for HTTP/1.x; 0 for h2 */
    int is_head;
    int64_t content_length; /* -1: unknown (chunked or streamed) or none */
    int has_body;

    /* Request body received and not yet consumed by the handler. */
    struct evbuffer *body;
    uint64_t body_received;
    int body_done;

    gw_route_t route;
    /* gRPC (content-type application/grpc*): route is the RPC's row (gateway/http/grpc_route.h),
     * grpc_method its "/package.Service/Method" path, NULL for an RPC nobody serves. */
    int grpc;
    int h2; /* arrived over HTTP/2 */
    const char *grpc_method;
    const char *grpc_errmsg;
    int grpc_status;
    /* the answer's grpc-status once sent, -1 before (CANCELLED if never) */ /* gw_req_respond_error's
                                                                                message while it
                                                                                answers a gRPC
                                                                                request */
    char peer[64];     /* client address, for X-Forwarded-For */
    char id[40];       /* X-Request-Id, kept from the client or generated */
    uint64_t start_us; /* monotonic, when the request began */

    gw_req_authz_t *authz; /* set by the access gate when auth is on, else NULL */
    int internal; /* made by the gateway itself (model API): not counted as a client request */
    int internal_gated; /* internal, for a client the access gate checked: checked too */
    int status;         /* response status once sent */
    int head_sent;      /* send_head happened */
    int finished;       /* finish happened */

    /* A deferred gate that may wait (gw_dispatch_gate_async, gateway/http/dispatch.h): the
     * caller's continuation, and, while the gate waits (a global rate limit's verdict), how to
     * stop that wait: cancel(park) once, after which the gate never touches r again. */
    gw_gate_wait_t gate_wait;
};

/* Creates a request owned by both codec and handler side; NULL on OOM. */
gw_req_t *gw_req_new(gw_loop_t *l, const gw_codec_ops_t *codec, void *codec_ctx);

/* r->codec's send_body_ref, or send_body and then release(arg) when the codec has none. */
void gw_req_send_body_ref(gw_req_t *r, const void *data, size_t len, void (*release)(void *arg),
                          void *arg);
/* Drops one holder (GW_REQ_CODEC or GW_REQ_HANDLER); frees the request when none remain. */
void gw_req_release(gw_req_t *r, unsigned holder);

/* The policy every codec applies once a request's head is complete (after gw_req_assign_id):
 * the target must be an absolute path (400), CONNECT is refused (405), the route is classified
 * into r->route, and a declared body over max_body is refused (413) unless the route streams.
 * 0 to dispatch; else the status, with the error text for gw_req_respond_error in msg. */
int gw_req_admit(gw_req_t *r, uint64_t max_body, char *msg, size_t cap);

/* First header named `lower_name` (case-insensitive), or NULL; *len gets the value length. */
const char *gw_req_header(const gw_req_t *r, const char *lower_name, size_t *len);
/* Fills r->id from X-Request-Id when the client sent a sane one, else generates one. */
void gw_req_assign_id(gw_req_t *r);

/* Response API. Each sends a complete response and calls codec->finish. A NULL content_type
 * sends none (Qdrant's plain 401/403 bodies carry none). */
void gw_req_respond(gw_req_t *r, int status, const char *content_type, const void *body,
                    size_t len);
/* A gRPC trailers-only answer: HTTP 200, content-type application/grpc, grpc-status code and,
 * when len > 0, msg[0..len) percent-encoded as grpc-message. Ends the response. For gRPC
 * requests (r->grpc) gw_req_respond and gw_req_respond_error answer a status >= 400 this way,
 * with gw_grpc_code_of_http(status) and their text, so every refusal of the gateway's (401/403
 * of the access gate, 429, 503, 408, ...) reaches a gRPC client as a gRPC status. */
void gw_req_respond_grpc(gw_req_t *r, int code, const char *msg, size_t len);
/* 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404/405 UNIMPLEMENTED,
 * 408/504 DEADLINE_EXCEEDED, 413/429/431 RESOURCE_EXHAUSTED, 502/503 UNAVAILABLE, other 5xx
 * INTERNAL, else UNKNOWN. */
int gw_grpc_code_of_http(int status);

/* Qdrant's error envelope: {"status":{"error":"<msg>"},"time":<seconds>}. */
void gw_req_respond_error(gw_req_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define GW_ERROR_MSG_MAX  1024 /* longer messages are cut */
#define GW_ERROR_BODY_MAX 1200
/* That envelope as text in out (cap >= 64, GW_ERROR_BODY_MAX fits any message), its length.
 * Bytes that are not UTF-8 show as '?'; a message that does not fit becomes "error". */
size_t gw_error_envelope(char *out, size_t cap, double secs, const char *msg);

/* Reason phrase for a status code ("OK", "Not Found", ...). */
const char *gw_http_reason(int status);

#endif
