/* yconf maps: YCONF_MAP keys, whose value is a mapping of user-chosen names to sections, each
 * bound by a sub-table into one element of a growable array (see yconf.h for the rules). */
#include "common/yconf_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ELEM_NAME 64

/* ---------------------------------------------------------------- the array */

static void **map_array(const yconf_key_t *k, void *base)
{
    return (void **)((char *)base + k->offset);
}

static size_t *map_count(const yconf_key_t *k, void *base)
{
    return (size_t *)((char *)base + k->map->count_offset);
}

static char **elem_name(const yconf_map_t *m, void *elem)
{
    return (char **)((char *)elem + m->name_offset);
}

static void *elem_at(const yconf_key_t *k, void *base, size_t i)
{
    return (char *)*map_array(k, base) + i * k->map->elem_size;
}

static void *map_lookup(const yconf_key_t *k, void *base, const char *name)
{
    size_t i, n = *map_count(k, base);

    for (i = 0; i < n; i++) {
        void *e = elem_at(k, base, i);
        if (strcmp(*elem_name(k->map, e), name) == 0) return e;
    }
    return NULL;
}

/* Appends an element named name at the sub-table's defaults; NULL with msg on failure. */
static void *map_append(const yconf_key_t *k, void *base, const char *name, char *msg,
                        size_t msglen)
{
    const yconf_map_t *m = k->map;
    size_t n = *map_count(k, base);
    char *copy, *grown;
    void *e;

    if (m->max_count && n >= m->max_count)
        return yc_errf(msg, msglen, "more than %zu entries", m->max_count), NULL;
    if (!(grown = realloc(*map_array(k, base), (n + 1) * m->elem_size)) || !(copy = strdup(name))) {
        if (grown) *map_array(k, base) = grown;
        return yc_errf(msg, msglen, "out of memory"), NULL;
    }
    *map_array(k, base) = grown;
    e = grown + n * m->elem_size;
    memset(e, 0, m->elem_size);
    if (yconf_init(m->keys, e, msg, msglen) < 0) {
        yconf_dispose(m->keys, e);
        free(copy);
        return NULL;
    }
    *elem_name(m, e) = copy;
    *map_count(k, base) = n + 1;
    return e;
}

/* Drops the last element (one a failed --set had just created). */
static void map_pop(const yconf_key_t *k, void *base)
{
    size_t *n = map_count(k, base);
    void *e = elem_at(k, base, *n - 1);

    yconf_dispose(k->map->keys, e);
    free(*elem_name(k->map, e));
    (*n)--;
}

void yc_map_dispose(const yconf_key_t *k, void *base)
{
    size_t i, n = *map_count(k, base);

    for (i = 0; i < n; i++) {
        void *e = elem_at(k, base, i);
        yconf_dispose(k->map->keys, e);
        free(*elem_name(k->map, e));
    }
    free(*map_array(k, base));
    *map_array(k, base) = NULL;
    *map_count(k, base) = 0;
}

/* ---------------------------------------------------------------- table check */

int yc_map_check_key(const yconf_key_t *k, char *msg, size_t msglen)
{
    const yconf_map_t *m = k->map;
    const yconf_key_t *s;
    char sub[MSG_LEN];
    void *scratch;
    int rc;

    if (!m || !m->keys || m->elem_size < sizeof(char *) ||
        m->name_offset > m->elem_size - sizeof(char *))
        return yc_errf(msg, msglen, "YCONF_MAP without a valid map"), -1;
    if (k->def || has_range(k) || k->validate)
        return yc_errf(msg, msglen, "YCONF_MAP takes no default, range or validate"), -1;
    for (s = m->keys; s->name; s++)
        if (key_type(s) == YCONF_MAP)
            return yc_errf(msg, msglen, "%s: YCONF_MAP inside a map", s->name), -1;
    /* The sub-table's own checks and defaults, on a scratch element. */
    if (!(scratch = calloc(1, m->elem_size))) return yc_errf(msg, msglen, "out of memory"), -1;
    rc = yconf_init(m->keys, scratch, sub, sizeof sub);
    yconf_dispose(m->keys, scratch);
    free(scratch);
    if (rc < 0) yc_errf(msg, msglen, "map %s", sub);
    return rc;
}

/* ---------------------------------------------------------------- names and checks */

/* yconf's own rule, then the map's: 0, or -1 with the problem in msg. */
static int check_elem_name(const yconf_map_t *m, const char *name, size_t len, char *msg,
                           size_t msglen)
{
    size_t i;

    if (len == 0 || len > MAX_ELEM_NAME || strlen(name) != len)
        return yc_errf(msg, msglen, "names are 1 to %d characters", MAX_ELEM_NAME), -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f || c == '.' || c == '=')
            return yc_errf(msg, msglen, "names cannot hold '.', '=', spaces or control characters"),
                   -1;
    }
    return m->check_name ? m->check_name(name, msg, msglen) : 0;
}

static int check_elem(const yconf_map_t *m, const void *elem, char *msg, size_t msglen)
{
    return m->check ? m->check(elem, msg, msglen) : 0;
}

int yconf_check(const yconf_key_t *keys, const void *base, char *err, size_t errlen)
{
    char msg[MSG_LEN];
    size_t i, n;

    for (; keys->name; keys++) {
        if (key_type(keys) != YCONF_MAP) continue;
        n = *map_count(keys, (void *)base);
        for (i = 0; i < n; i++) {
            const void *e = elem_at(keys, (void *)base, i);
            if (check_elem(keys->map, e, msg, sizeof msg) < 0) {
                yc_errf(err, errlen, "%s.%s: %s", keys->name, *elem_name(keys->map, (void *)e),
                        msg);
                return -1;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- YAML */

/* One "NAME: {...}" entry of the map's mapping. */
static int apply_elem(loader_t *ld, const char *file, const char *name, const yconf_key_t *k,
                      const node_t *key, const node_t *v)
{
    char full[MAX_NAME], msg[MSG_LEN], q[96];
    loader_t sub = *ld;
    void *e;
    int n = snprintf(full, sizeof full, "%s.%s", name, key->text);

    if (check_elem_name(k->map, key->text, key->len, msg, sizeof msg) < 0) {
        char what[MSG_LEN + 128];
        snprintf(what, sizeof what, "invalid name %s: %s",
                 yc_quote(key->text, key->len, q, sizeof q), msg);
        return yc_fail_at(ld, file, key->line, name, what);
    }
    if (n < 0 || (size_t)n >= sizeof full)
        return yc_fail_at(ld, file, key->line, name, "name too long");
    if (v->kind != NODE_MAPPING && !yc_is_null(v)) {
        snprintf(msg, sizeof msg, "expected a mapping of %s.* keys, got %s", full,
                 v->kind == NODE_SCALAR ? yc_quote(v->text, v->len, q, sizeof q) : yc_kind_name(v));
        return yc_fail_at(ld, file, key->line, full, msg);
    }
    e = map_lookup(k, ld->base, key->text);
    if (!e && !(e = map_append(k, ld->base, key->text, msg, sizeof msg)))
        return yc_fail_at(ld, file, key->line, full, msg);
    sub.keys = k->map->keys;
    sub.base = e;
    sub.skip = (size_t)n + 1;
    if (v->kind == NODE_MAPPING && yc_apply_map(&sub, file, v, full) < 0) return -1;
    if (check_elem(k->map, e, msg, sizeof msg) < 0)
        return yc_fail_at(ld, file, key->line, full, msg);
    return 0;
}

int yc_map_apply(loader_t *ld, const char *file, const char *name, const yconf_key_t *k,
                 const node_t *key, const node_t *v)
{
    char msg[MSG_LEN], q[96], full[MAX_NAME];
    size_t i, j;

    if (yc_is_null(v)) return 0; /* "models:" with every entry commented out */
    if (v->kind != NODE_MAPPING) {
        snprintf(msg, sizeof msg, "expected a mapping of names to sections (%s.NAME.KEY), got %s",
                 name,
                 v->kind == NODE_SCALAR ? yc_quote(v->text, v->len, q, sizeof q) : yc_kind_name(v));
        return yc_fail_at(ld, file, key->line, name, msg);
    }
    for (i = 0; i + 1 < v->nkids; i += 2) {
        const node_t *ek = v->kids[i];
        for (j = 0; j < i; j += 2) {
            const node_t *o = v->kids[j];
            if (o->len == ek->len && memcmp(o->text, ek->text, ek->len) == 0) {
                snprintf(msg, sizeof msg, "duplicate key, first defined at line %u", o->line);
                snprintf(full, sizeof full, "%s.%s", name, ek->text);
                return yc_fail_at(ld, file, ek->line, full, msg);
            }
        }
        if (apply_elem(ld, file, name, k, ek, v->kids[i + 1]) < 0) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- --set */

const yconf_key_t *yc_map_find(const yconf_key_t *keys, const char *name)
{
    for (; keys->name; keys++) {
        size_t n = strlen(keys->name);
        if (key_type(keys) == YCONF_MAP && strncmp(name, keys->name, n) == 0 && name[n] == '.')
            return keys;
    }
    return NULL;
}

/* Stores value into sub-key s of the element named ename (created if need be). */
static int set_in_elem(const yconf_key_t *k, void *base, const yconf_key_t *s, const char *ename,
                       const char *value, char *msg, size_t msglen)
{
    void *e = map_lookup(k, base, ename);
    int created = 0;

    if (!e) {
        if (!(e = map_append(k, base, ename, msg, msglen))) return -1;
        created = 1;
    }
    if (yc_store_value(s, e, value, strlen(value), msg, msglen) == 0) return 0;
    if (created) map_pop(k, base); /* a refused --set changes nothing */
    return -1;
}

int yc_map_set(const yconf_key_t *k, void *base, const char *name, const char *key_eq_value,
               const char *value, char *err, size_t errlen)
{
    const char *ename = name + strlen(k->name) + 1, *dot = strchr(ename, '.');
    char elem[MAX_NAME], msg[MSG_LEN], hint[2 * MAX_NAME + 32], q[96];
    size_t elen = dot ? (size_t)(dot - ename) : strlen(ename);
    const yconf_key_t *s;

    if (elen >= sizeof elem) elen = sizeof elem - 1;
    memcpy(elem, ename, elen);
    elem[elen] = '\0';
    if (check_elem_name(k->map, elem, elen, msg, sizeof msg) < 0)
        return yc_errf(err, errlen, "--set %s: invalid name %s: %s", key_eq_value,
                       yc_quote(elem, elen, q, sizeof q), msg),
               -1;
    if (!dot || !dot[1])
        return yc_errf(err, errlen, "--set %s: %s is a section, not a key", key_eq_value, name), -1;
    if (!(s = yconf_find(k->map->keys, dot + 1))) {
        size_t skip = (size_t)(dot + 1 - name);
        if (yc_is_section(k->map->keys, dot + 1, strlen(dot + 1)))
            return yc_errf(err, errlen, "--set %s: %s is a section, not a key", key_eq_value, name),
                   -1;
        yc_suggest(k->map->keys, name, skip, hint, sizeof hint);
        return yc_errf(err, errlen, "--set %s: unknown key%s", key_eq_value, hint), -1;
    }
    if (set_in_elem(k, base, s, elem, value, msg, sizeof msg) == 0) return 0;
    if (s->flags & YCONF_SECRET)
        yc_errf(err, errlen, "--set %s=(secret): %s", name, msg);
    else
        yc_errf(err, errlen, "--set %s: %s", key_eq_value, msg);
    return -1;
}

/* ---------------------------------------------------------------- dump */

void yc_map_dump(const yconf_key_t *k, const void *base, FILE *out, unsigned flags, int indent,
                 const char *leaf)
{
    size_t i, n = *map_count(k, (void *)base);

    if (n == 0) {
        fprintf(out, "%*s%s: {}\n", indent, "", leaf);
        return;
    }
    fprintf(out, "%*s%s:\n", indent, "", leaf);
    for (i = 0; i < n; i++) {
        const void *e = elem_at(k, (void *)base, i);
        const char *name = *elem_name(k->map, (void *)e);
        fprintf(out, "%*s", indent + 2, "");
        /* Plain when it reads back as the same text, else double-quoted. */
        if (name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")])
            yc_dump_string(out, name);
        else
            fputs(name, out);
        fputs(":\n", out);
        yc_dump_level(k->map->keys, e, out, flags, "", indent + 4);
    }
}
