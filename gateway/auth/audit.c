/* The audit log; see audit.h. */
#include "gateway/auth/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;
static char *audit_path; /* NULL for stderr */

static int open_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) snprintf(err, errlen, "auth.audit_log: cannot open %s: %s", path, strerror(errno));
    return fd;
}

int gw_audit_open(const char *path, char *err, size_t errlen)
{
    gw_audit_close();
    if (!path[0]) return 0;
    if (strcmp(path, "stderr") == 0) {
        audit_fd = STDERR_FILENO;
        return 0;
    }
    int fd = open_file(path, err, errlen);
    if (fd < 0) return -1;
    if (!(audit_path = strdup(path))) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    audit_fd = fd;
    return 0;
}

void gw_audit_reopen(void)
{
    char err[512];
    pthread_mutex_lock(&audit_lock);
    if (audit_path) {
        int fd = open_file(audit_path, err, sizeof(err));
        if (fd < 0) {
            gw_log_error("SIGHUP: %s; the audit log stays on the old file", err);
        } else {
            close(audit_fd);
            audit_fd = fd;
            gw_log_info("SIGHUP: audit log reopened (%s)", audit_path);
        }
    }
    pthread_mutex_unlock(&audit_lock);
}

void gw_audit_close(void)
{
    pthread_mutex_lock(&audit_lock);
    if (audit_fd >= 0 && audit_fd != STDERR_FILENO) close(audit_fd);
    audit_fd = -1;
    free(audit_path);
    audit_path = NULL;
    pthread_mutex_unlock(&audit_lock);
}

int gw_audit_enabled(void)
{
    return audit_fd >= 0;
}

/* A JSON string of arbitrary bytes: not UTF-8 → '?' for bytes >= 0x80. */
static json_t *jstr(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j) return j;
    char *c = strndup(s, n);
    if (!c) return json_null();
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20) *p = '?';
    j = json_string(c);
    free(c);
    return j ? j : json_null();
}

static json_t *jopt(const char *s)
{
    return s ? jstr(s, strlen(s)) : json_null();
}

static void iso_time(double t, char *out, size_t cap)
{
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)((t - (double)secs) * 1000));
}

void gw_audit_write(const gw_audit_rec_t *rec)
{
    if (audit_fd < 0) return;
    char ts[40];
    iso_time(rec->time, ts, sizeof(ts));
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(ts));
    json_object_set_new(o, "auth", jopt(rec->auth));
    json_object_set_new(o, "key", jopt(rec->key));
    json_object_set_new(o, "subject", jopt(rec->subject));
    json_object_set_new(o, "client", jopt(rec->client));
    json_object_set_new(o, "method", jopt(rec->method));
    json_object_set_new(o, "route", jopt(rec->route));
    json_object_set_new(o, "path", jstr(rec->path, rec->path_len));
    json_object_set_new(o, "collection", jopt(rec->collection));
    json_object_set_new(o, "status", json_integer(rec->status));
    json_object_set_new(o, "request_id", jopt(rec->request_id));
    if (rec->error) json_object_set_new(o, "error", jopt(rec->error));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line) return;
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps's NUL becomes the newline: one write(2) per line */
    pthread_mutex_lock(&audit_lock);
    if (audit_fd >= 0 && write(audit_fd, line, n + 1) < 0) {
        /* nothing sensible to do: the log is best effort and must not stall requests */
    }
    pthread_mutex_unlock(&audit_lock);
    free(line);
}
