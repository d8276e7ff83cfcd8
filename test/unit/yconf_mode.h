/* A YCONF_CUSTOM type for the yconf tests (test_yconf*.c): "fast" or "safe", stored upper-case
 * so that the tests can tell the parsed value from the text. Header-only, no state. */
#ifndef YCONF_MODE_H
#define YCONF_MODE_H

#include "common/yconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int mode_parse(const char *text, void *field, char *err, size_t errlen)
{
    char *copy, *p;

    if (strcmp(text, "fast") != 0 && strcmp(text, "safe") != 0) {
        snprintf(err, errlen, "must be fast or safe");
        return -1;
    }
    if (!(copy = strdup(text))) return -1;
    for (p = copy; *p; p++)
        *p = (char)(*p - 'a' + 'A');
    free(*(char **)field);
    *(char **)field = copy;
    return 0;
}

static inline int mode_format(const void *field, char *buf, size_t len)
{
    const char *m = *(char *const *)field;

    return snprintf(buf, len, "%s", strcmp(m, "FAST") == 0 ? "fast" : "safe") < 0 ? -1 : 0;
}

static inline void mode_dispose(void *field)
{
    free(*(char **)field);
    *(char **)field = NULL;
}

static const yconf_custom_t mode_ops = {"fast or safe", mode_parse, mode_format, mode_dispose};

#endif
