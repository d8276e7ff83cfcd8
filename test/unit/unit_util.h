/* Helpers shared by the unit tests (test/unit/test_*.c): temporary directories and files,
 * guard-page buffers, memory streams, the repository's files, comparing yconf structs.
 * A header, not a test: everything is static inline, and nothing keeps global state. */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include "common/yconf.h"
#include "gateway/core/config.h"

#include <check.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN   1024
#define PATHLEN  512
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A test program's main: runs the suite, exit status 0 when every test passed. */
static inline int unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A temporary directory, removed with everything in it by tmp_close. */
typedef struct tmp {
    char dir[PATHLEN];
} tmp_t;

static inline void tmp_open(tmp_t *t)
{
    const char *base = getenv("TMPDIR");

    snprintf(t->dir, sizeof t->dir, "%s/gw_unit.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tmp_close(tmp_t *t)
{
    nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes t->dir/name (making one level of sub-directory) and returns its path in buf. */
static inline const char *tmp_write(const tmp_t *t, const char *name, const char *text, char *buf,
                                    size_t len)
{
    const char *slash = strrchr(name, '/');
    char sub[PATHLEN];
    FILE *f;

    if (slash) {
        ck_assert_int_lt(snprintf(sub, sizeof sub, "%s/%.*s", t->dir, (int)(slash - name), name),
                         (int)sizeof sub);
        mkdir(sub, 0700);
    }
    ck_assert_int_lt(snprintf(buf, len, "%s/%s", t->dir, name), (int)len);
    f = fopen(buf, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* pattern with every "{D}" replaced by the temporary directory. */
static inline const char *expand(const char *pattern, const tmp_t *t, char *buf, size_t len)
{
    size_t o = 0;

    for (; *pattern && o + 1 < len; pattern++) {
        if (strncmp(pattern, "{D}", 3) == 0) {
            o += (size_t)snprintf(buf + o, len - o, "%s", t->dir);
            pattern += 2;
        } else {
            buf[o++] = *pattern;
        }
    }
    buf[o < len ? o : len - 1] = '\0';
    return buf;
}

/* A copy of s that ends right before an unreadable page, so a parser reading past the NUL
 * crashes instead of passing by luck. */
typedef struct guarded {
    char *map;
    size_t len;
    const char *s;
} guarded_t;

static inline void guard_open(guarded_t *g, const char *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = strlen(s) + 1;

    ck_assert_uint_lt(n, page);
    g->len = 2 * page;
    g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->map, MAP_FAILED);
    ck_assert_int_eq(mprotect(g->map + page, page, PROT_NONE), 0);
    memcpy(g->map + page - n, s, n);
    g->s = g->map + page - n;
}

static inline void guard_close(guarded_t *g)
{
    munmap(g->map, g->len);
}

/* Two slots, each a page followed by a PROT_NONE page (picohttpparser's approach): guard_at
 * copies an input flush against its slot's guard page, not NUL-terminated, so any read past the
 * given length faults. */
typedef struct guard_slots {
    char *mem;
    size_t page;
} guard_slots_t;

static inline void guard_slots_open(guard_slots_t *g)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    g->mem = mmap(NULL, 4 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->mem, MAP_FAILED);
    ck_assert_int_eq(mprotect(g->mem + g->page, g->page, PROT_NONE), 0);
    ck_assert_int_eq(mprotect(g->mem + 3 * g->page, g->page, PROT_NONE), 0);
}

static inline void guard_slots_close(guard_slots_t *g)
{
    munmap(g->mem, 4 * g->page);
}

/* slot 0 or 1; returns the copy, flush against that slot's guard page. */
static inline const char *guard_at(guard_slots_t *g, int slot, const char *s, size_t len)
{
    ck_assert_uint_le(len, g->page);
    char *end = g->mem + (size_t)(2 * slot + 1) * g->page;
    memcpy(end - len, s, len);
    return end - len;
}

static inline FILE *memstream(char **text, size_t *size)
{
    FILE *f = open_memstream(text, size);

    ck_assert_ptr_nonnull(f);
    return f;
}

/* The path of conf/name in the repository (GW_SOURCE_DIR, set by CTest). */
static inline void conf_path(const char *name, char *buf, size_t len)
{
    const char *src = getenv("GW_SOURCE_DIR");

    ck_assert_msg(src && *src, "GW_SOURCE_DIR must point at the repository");
    snprintf(buf, len, "%s/conf/%s", src, name);
}

static inline int same_values(const yconf_key_t *keys, const void *a, const void *b,
                              bool skip_secrets, const char **which);

/* YCONF_MAP fields: the same names in the same order, each element equal by the sub-table. */
static inline int same_map(const yconf_key_t *k, const void *a, const void *b, bool skip_secrets,
                           const char **which)
{
    const yconf_map_t *m = k->map;
    size_t na = *(const size_t *)((const char *)a + m->count_offset), i;
    const char *ea = *(char *const *)((const char *)a + k->offset);
    const char *eb = *(char *const *)((const char *)b + k->offset);

    if (na != *(const size_t *)((const char *)b + m->count_offset)) return 0;
    for (i = 0; i < na; i++) {
        const char *x = ea + i * m->elem_size, *y = eb + i * m->elem_size;
        if (strcmp(*(char *const *)(x + m->name_offset), *(char *const *)(y + m->name_offset)))
            return 0;
        if (!same_values(m->keys, x, y, skip_secrets, which)) return 0;
    }
    *which = k->name;
    return 1;
}

/* Whether every key's field is equal in a and b; the first differing key goes to which. */
static inline int same_values(const yconf_key_t *keys, const void *a, const void *b,
                              bool skip_secrets, const char **which)
{
    for (; keys->name; keys++) {
        const char *fa = (const char *)a + keys->offset, *fb = (const char *)b + keys->offset;
        int eq;
        *which = keys->name;
        if (skip_secrets && (keys->flags & YCONF_SECRET)) continue;
        switch (keys->flags & YCONF_TYPE_MASK) {
        case YCONF_STRING:
            eq = strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
            break;
        case YCONF_BOOL:
            eq = *(const bool *)fa == *(const bool *)fb;
            break;
        case YCONF_INT:
            eq = *(const int *)fa == *(const int *)fb;
            break;
        case YCONF_SIZE:
            eq = *(const size_t *)fa == *(const size_t *)fb;
            break;
        case YCONF_DURATION:
            eq = *(const uint64_t *)fa == *(const uint64_t *)fb;
            break;
        case YCONF_DOUBLE:
            eq = memcmp(fa, fb, sizeof(double)) == 0;
            break;
        case YCONF_LISTEN:
            eq = strcmp(((const yconf_listen_t *)fa)->host, ((const yconf_listen_t *)fb)->host) ==
                     0 &&
                 ((const yconf_listen_t *)fa)->port == ((const yconf_listen_t *)fb)->port;
            break;
        case YCONF_MAP:
            eq = same_map(keys, a, b, skip_secrets, which);
            *which = keys->name;
            break;
        default:
            eq = 1; /* custom: compared by the test that owns it */
        }
        if (!eq) return 0;
    }
    return 1;
}

/* A YAML text and the exact error loading it must give. */
typedef struct err_case {
    const char *yaml;
    const char *want; /* {D} = the temporary directory; the file is {D}/c.yaml */
} err_case_t;

/* Loads tc->yaml from {D}/c.yaml into a fresh gw_config and checks it fails with tc->want;
 * i is the case number for the failure message. */
static inline void check_load_error(const err_case_t *tc, int i)
{
    char path[PATHLEN], want[ERRLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    tmp_t t;
    int rc;

    ck_assert_ptr_nonnull(c);
    tmp_open(&t);
    tmp_write(&t, "c.yaml", tc->yaml, path, sizeof path);
    rc = gw_config_load_file(c, path, err, sizeof err);
    expand(tc->want, &t, want, sizeof want);
    /* A failed load leaves a config that is still whole: free it (valgrind checks). */
    gw_config_free(c);
    tmp_close(&t);
    ck_assert_msg(rc == -1, "case %d loaded without error: %s", i, tc->yaml);
    ck_assert_str_eq(err, want);
}

/* The gateway config's built-in defaults, checked key by key (test_config*.c). */
static inline void assert_defaults(const gw_config_t *c)
{
    ck_assert_str_eq(c->listen.host, "127.0.0.1");
    ck_assert_uint_eq(c->listen.port, 8000);
    ck_assert_int_eq(c->workers, 0);
    ck_assert_int_eq(c->backlog, 1024);
    ck_assert_int_eq(c->max_connections, 10000);
    ck_assert_uint_eq(c->keepalive_timeout_ms, 60000);
    ck_assert_uint_eq(c->shutdown_timeout_ms, 10000);
    ck_assert_str_eq(c->upstream_url, "http://127.0.0.1:6333");
    ck_assert_str_eq(c->upstream_api_key, "");
    ck_assert_int_eq(c->upstream_max_connections, 256);
    ck_assert_uint_eq(c->upstream_connect_timeout_ms, 2000);
    ck_assert_uint_eq(c->upstream_timeout_ms, 60000);
    ck_assert_uint_eq(c->upstream_idle_timeout_ms, 4000);
    ck_assert_uint_eq(c->upstream_health_interval_ms, 1000);
    ck_assert_uint_eq(c->max_header_bytes, 32 * 1024);
    ck_assert_uint_eq(c->max_body_bytes, 32 * 1024 * 1024);
    ck_assert_uint_eq(c->header_timeout_ms, 10000);
    ck_assert_str_eq(c->log_level, "info");
    ck_assert_str_eq(c->tls_listen, "");
    ck_assert_str_eq(c->tls_cert, "");
    ck_assert_str_eq(c->tls_key, "");
    ck_assert_int_eq(c->h2_max_concurrent_streams, 128);
    ck_assert_int_eq(c->h2_max_reset_streams, 100);
}

#endif /* UNIT_UTIL_H */
