/* Leveled logging to stderr: one write(2) per line so lines from workers never interleave.
 * Timestamps are UTC with milliseconds, like most log shippers expect. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static gw_log_level_t log_level = GW_LOG_INFO;
static _Thread_local char thread_name[32] = "main";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int gw_log_parse_level(const char *name, gw_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (gw_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void gw_log_set_level(gw_log_level_t level)
{
    log_level = level;
}

int gw_log_enabled(gw_log_level_t level)
{
    return level <= log_level;
}

void gw_log_set_thread_name(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name);
}

void gw_log(gw_log_level_t level, const char *fmt, ...)
{
    if (!gw_log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], thread_name);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
