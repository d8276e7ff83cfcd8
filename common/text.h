/* A growing text buffer: appends never fail loudly (an allocation failure sets `oom` and drops
 * everything after it), and the text is always NUL-terminated. Start from {0}. */
#ifndef GW_COMMON_TEXT_H
#define GW_COMMON_TEXT_H

#include <stddef.h>

typedef struct gw_text {
    char *p;
    size_t len, cap;
    int oom; /* an append failed: the text is incomplete */
} gw_text_t;

void gw_text_printf(gw_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_text_add(gw_text_t *t, const char *s, size_t len);
void gw_text_free(gw_text_t *t);
/* Empties t (and forgets an earlier failed append), keeping its buffer for reuse. */
void gw_text_reset(gw_text_t *t);
/* Hands the text over (heap, the caller frees; *len its length) and empties t; NULL (and t
 * freed) if an append failed or nothing was ever added. */
char *gw_text_take(gw_text_t *t, size_t *len);

/* Formats an error message into a caller's buffer (err may be NULL, errlen 0) and returns -1,
 * so a parser can `return gw_errf(err, errlen, "...", ...);`. */
int gw_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
