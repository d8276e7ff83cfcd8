/* The audit log: one JSON line per write and per refused request, to a file (reopened on
 * SIGHUP, for logrotate) or stderr. Process-wide, thread-safe: lines from all workers are
 * written whole, one at a time. */
#ifndef GW_AUTH_AUDIT_H
#define GW_AUTH_AUDIT_H

#include <stddef.h>

/* path: a file (appended to, created 0600), "stderr", or "" (off). 0 / -1 with err. */
int gw_audit_open(const char *path, char *err, size_t errlen);
/* Reopens the file (after logrotate moved it): called by main's SIGHUP handler. A failure is
 * logged and the old file kept. No-op when off or on stderr. */
void gw_audit_reopen(void);
void gw_audit_close(void);
/* 1 when lines are written. */
int gw_audit_enabled(void);

typedef struct gw_audit_rec {
    double time;         /* seconds since the epoch */
    const char *key;     /* gateway key name, or NULL */
    const char *subject; /* JWT subject (`subject`, else `sub`), or NULL */
    const char *auth;    /* "key", "jwt", "api_key", "none" */
    const char *client;  /* peer address */
    const char *method;
    const char *route; /* router operation ("upsert_points"), or "" */
    const char *path;  /* without the query string */
    size_t path_len;
    const char *collection; /* decoded, or NULL */
    int status;
    const char *request_id;
    const char *error; /* the refusal's text, or NULL */
} gw_audit_rec_t;

/* Writes one line. Values are JSON-escaped (bytes that are not UTF-8 become '?'). */
void gw_audit_write(const gw_audit_rec_t *rec);

#endif
