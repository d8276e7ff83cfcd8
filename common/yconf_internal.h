/* yconf_internal.h: what common/yconf.c, yconf_tree.c and yconf_value.c share. INTERNAL to yconf,
 * not part of its API (that is common/yconf.h): include it from those three files only, first.
 * The yc_ functions have external linkage only so the files can reach each other. */
#ifndef YCONF_INTERNAL_H
#define YCONF_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerror_r returning the text, strndup; the build defines it too */
#endif
#include "common/yconf.h"

#include <sys/types.h>

#define MAX_INCLUDE_DEPTH 8
#define MAX_NAME          256 /* longest dotted key name, also the edit-distance bound */
#define MSG_LEN           512

/* ---------------------------------------------------------------- errors (yconf.c) */

void yc_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: KEY: msg"; line 0 and key NULL leave their part out. */
void yc_err_at(char *err, size_t errlen, const char *file, unsigned line, const char *key,
               const char *msg);

/* A user value shown inside a message: quoted, control bytes escaped, long values cut. */
const char *yc_quote(const char *s, size_t len, char *buf, size_t buflen);

/* ---------------------------------------------------------------- typed values (yconf_value.c) */

typedef union value {
    char *s;
    bool b;
    int i;
    size_t sz;
    uint64_t ms;
    double d;
    yconf_listen_t l;
} value_t;

static inline unsigned key_type(const yconf_key_t *k)
{
    return k->flags & YCONF_TYPE_MASK;
}

static inline bool has_range(const yconf_key_t *k)
{
    return k->min != k->max;
}

/* "an integer from 0 to 256": what the key accepts, for "expected ..." messages. */
void yc_describe(const yconf_key_t *k, char *buf, size_t len);

/* Parses text into v by the key's type (not YCONF_CUSTOM); on -1 msg holds the problem (without
 * the value). What v holds is the caller's (strings, listen hosts). */
int yc_parse_value(const yconf_key_t *k, const char *text, value_t *v, char *msg, size_t msglen);

/* ---------------------------------------------------------------- node tree (yconf_tree.c) */

typedef enum node_kind { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING } node_kind_t;

/* A parsed YAML node. A mapping's kids alternate key, value (keys are scalars). */
typedef struct node {
    node_kind_t kind;
    unsigned line, column; /* 1-based */
    bool plain;            /* an unquoted scalar: only those can be null */
    char *text;            /* scalar bytes plus a NUL; len excludes it and may hide NULs */
    size_t len;
    struct node **kids;
    size_t nkids, cap;
} node_t;

/* "a mapping", "a list" or "a value", for "got ..." messages. */
const char *yc_kind_name(const node_t *n);

/* Whether n is a plain empty, "~" or "null" scalar. */
bool yc_is_null(const node_t *n);

/* ---------------------------------------------------------------- loading (yconf_tree.c) */

typedef struct frame {
    const char *path;
    dev_t dev;
    ino_t ino;
} frame_t;

typedef struct loader {
    const yconf_key_t *keys;
    void *base;
    char *err;
    size_t errlen;
    frame_t chain[MAX_INCLUDE_DEPTH + 1]; /* the file being read and those that included it */
    int depth;
    /* Inside a YCONF_MAP element: keys is its sub-table, base the element, and the first skip
     * bytes of a dotted name ("models.minilm.") are not part of the sub-table's names. */
    size_t skip;
} loader_t;

/* Writes "FILE:LINE: KEY: msg" to ld's error buffer and returns -1. */
int yc_fail_at(loader_t *ld, const char *file, unsigned line, const char *key, const char *msg);

/* Applies the entries of a mapping whose keys are under prefix ("" at the top level): checks
 * key names and duplicates, runs includes, hands each entry to yc_apply_entry. */
int yc_apply_map(loader_t *ld, const char *file, const node_t *map, const char *prefix);

/* ---------------------------------------------------------------- binding (yconf.c) */

/* One entry of a mapping, its dotted name built: a known key (stored), a section (yc_apply_map
 * on it), or an unknown key (an error with a suggestion). */
int yc_apply_entry(loader_t *ld, const char *file, const char *name, const node_t *key,
                   const node_t *v);

/* Parses, validates and stores text into the key's field; on -1 msg holds "problem, got "text""
 * (the value left out for secrets) and the field is untouched. */
int yc_store_value(const yconf_key_t *k, void *base, const char *text, size_t len, char *msg,
                   size_t msglen);

/* Whether some key of the table lives under name[0..len) ("server" for "server.listen"). */
bool yc_is_section(const yconf_key_t *keys, const char *name, size_t len);

/* " (did you mean P.server.listen?)" or "": the closest key or section to name + skip, written
 * with the first skip bytes of name (P.) in front. */
void yc_suggest(const yconf_key_t *keys, const char *name, size_t skip, char *buf, size_t buflen);

/* A YAML double-quoted scalar. */
void yc_dump_string(FILE *out, const char *s);

/* Writes the keys under prefix as nested YAML, indented. */
void yc_dump_level(const yconf_key_t *keys, const void *base, FILE *out, unsigned flags,
                   const char *prefix, int indent);

/* ---------------------------------------------------------------- maps (yconf_map.c) */

/* Table check of a YCONF_MAP key (its sub-table included, defaults tried on a scratch element). */
int yc_map_check_key(const yconf_key_t *k, char *msg, size_t msglen);

/* Frees every element and empties the map. */
void yc_map_dispose(const yconf_key_t *k, void *base);

/* The YAML value v of map key k (entry named name, key node `key`). */
int yc_map_apply(loader_t *ld, const char *file, const char *name, const yconf_key_t *k,
                 const node_t *key, const node_t *v);

/* The map key that name ("models.minilm.dimension") falls under, or NULL. */
const yconf_key_t *yc_map_find(const yconf_key_t *keys, const char *name);

/* --set for a name under map key k; name is the key part of key_eq_value, value the rest. */
int yc_map_set(const yconf_key_t *k, void *base, const char *name, const char *key_eq_value,
               const char *value, char *err, size_t errlen);

/* The YAML lines of map key k (its leaf name `leaf`), indented. */
void yc_map_dump(const yconf_key_t *k, const void *base, FILE *out, unsigned flags, int indent,
                 const char *leaf);

#endif /* YCONF_INTERNAL_H */
