/* Leveled logging to stderr with a timestamp and the worker's name.
 * The level is process-wide and set once at startup, before threads exist. */
#ifndef GW_COMMON_LOG_H
#define GW_COMMON_LOG_H

typedef enum { GW_LOG_ERROR = 0, GW_LOG_WARN, GW_LOG_INFO, GW_LOG_DEBUG } gw_log_level_t;

/* Parses "error" | "warn" | "info" | "debug"; returns 0, or -1 for anything else. */
int gw_log_parse_level(const char *name, gw_log_level_t *out);
void gw_log_set_level(gw_log_level_t level);
int gw_log_enabled(gw_log_level_t level);
/* Names the calling thread in its log lines ("main", "worker 2"); the string is copied. */
void gw_log_set_thread_name(const char *name);

void gw_log(gw_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gw_log_error(...) gw_log(GW_LOG_ERROR, __VA_ARGS__)
#define gw_log_warn(...)  gw_log(GW_LOG_WARN, __VA_ARGS__)
#define gw_log_info(...)  gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_log_debug(...)                                                                          \
    do {                                                                                           \
        if (gw_log_enabled(GW_LOG_DEBUG))                                                          \
            gw_log(GW_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
