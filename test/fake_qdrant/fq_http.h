/* Minimal HTTP/1.1 server on libevent bufferevents for fake_qdrant: keep-alive, pipelining,
 * chunked and streamed request bodies, backpressured streamed replies, slow bodies and resets. */
#ifndef FQ_HTTP_H
#define FQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;

typedef struct fq_http_server fq_http_server_t;
typedef struct fq_conn fq_conn_t;

typedef struct {
    char *name;
    char *value;
} fq_header_t;

typedef enum {
    FQ_BODY_BUFFER = 0, /* keep the body in req->body, up to body_limit bytes */
    FQ_BODY_HASH,       /* count and sha256 the body, keep nothing */
} fq_body_mode_t;

/* One request. Owned by its connection; valid from on_headers until the reply has been fully
 * written (or the connection died). Handlers must not keep the pointer past that. */
typedef struct fq_http_req {
    char method[16];
    char *target; /* raw request-target */
    char *path;   /* target up to '?' (still percent-encoded) */
    char *query;  /* after '?', or NULL */
    int minor;    /* HTTP/1.<minor> */
    fq_header_t *headers;
    size_t nheaders;
    char peer[64];
    uint64_t conn_id;

    fq_body_mode_t body_mode;
    uint64_t body_limit;  /* FQ_BODY_BUFFER only */
    int body_overflow;    /* body was larger than body_limit (and was discarded) */
    struct evbuffer *body; /* FQ_BODY_BUFFER */
    uint64_t body_len;    /* bytes received */
    unsigned char body_sha256[32]; /* FQ_BODY_HASH, valid in on_request */

    /* Router's per-request state, freed with the request. */
    void *user;
    void (*user_free)(void *);

    fq_conn_t *conn; /* private */
    void *sha_ctx;   /* private */
    struct evbuffer *out_headers; /* private: extra response header lines */
    int responded;   /* private */
} fq_http_req_t;

typedef struct {
    /* Headers are in. Pick req->body_mode/body_limit, or answer right away (the connection is
     * then closed after the reply, since the body is not read). */
    void (*on_headers)(fq_http_req_t *req, void *arg);
    /* The body is complete: answer now or later with fq_http_respond* or fq_http_abort. */
    void (*on_request)(fq_http_req_t *req, void *arg);
    /* Called once per accepted connection. */
    void (*on_accept)(void *arg);
    /* Called once per closed connection. */
    void (*on_close)(void *arg);
} fq_http_handlers_t;

typedef struct {
    int keepalive_timeout_s; /* idle / request-head deadline */
    int slow_body_ms;        /* >0: send buffered bodies in pieces this far apart */
    size_t max_header_bytes;
} fq_http_options_t;

fq_http_server_t *fq_http_server_new(struct event_base *base, const char *host, int port,
                                     const fq_http_options_t *opt,
                                     const fq_http_handlers_t *handlers, void *arg);
void fq_http_server_free(fq_http_server_t *srv);

const char *fq_http_header(const fq_http_req_t *req, const char *name);
/* Adds a response header line for the coming reply. */
void fq_http_add_header(fq_http_req_t *req, const char *name, const char *value);

/* Answers with a complete body (taken; may be NULL for an empty body). content_type may be NULL. */
void fq_http_respond(fq_http_req_t *req, int status, const char *content_type,
                     struct evbuffer *body);

/* Fills out with the next part of a streamed body; returns 1 when the body is complete. */
typedef int (*fq_http_fill_cb)(struct evbuffer *out, void *arg);
/* Answers with content_length bytes produced by fill only as the socket drains. arg is freed
 * with free_arg (may be NULL) when the reply ends or the connection dies. */
void fq_http_respond_stream(fq_http_req_t *req, int status, const char *content_type,
                            uint64_t content_length, fq_http_fill_cb fill, void *arg,
                            void (*free_arg)(void *));

/* Drops the connection with a TCP reset, without answering. */
void fq_http_abort(fq_http_req_t *req);

#endif
