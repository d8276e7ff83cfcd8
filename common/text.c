/* A growing, always NUL-terminated text buffer. */
#include "common/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int text_reserve(gw_text_t *t, size_t more)
{
    if (t->oom) return -1;
    if (t->len + more + 1 <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
        t->oom = 1;
        return -1;
    }
    t->p = p;
    t->cap = cap;
    return 0;
}

void gw_text_add(gw_text_t *t, const char *s, size_t len)
{
    if (text_reserve(t, len) != 0) return;
    memcpy(t->p + t->len, s, len);
    t->len += len;
    t->p[t->len] = '\0';
}

void gw_text_printf(gw_text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || text_reserve(t, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void gw_text_free(gw_text_t *t)
{
    free(t->p);
    memset(t, 0, sizeof(*t));
}

void gw_text_reset(gw_text_t *t)
{
    t->len = 0;
    t->oom = 0;
    if (t->p) t->p[0] = '\0';
}

char *gw_text_take(gw_text_t *t, size_t *len)
{
    char *p = t->oom ? NULL : t->p;
    if (!p) {
        gw_text_free(t);
        return NULL;
    }
    *len = t->len;
    memset(t, 0, sizeof(*t));
    return p;
}

int gw_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
