/* yconf: the key table and the struct it describes: table checks and defaults, binding values
 * from the YAML tree or --set, suggestions for unknown keys, dump and dispose. */
#include "common/yconf_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

void yc_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "FILE:LINE: KEY: msg"; line 0 and key NULL leave their part out. */
void yc_err_at(char *err, size_t errlen, const char *file, unsigned line, const char *key,
               const char *msg)
{
    char where[24] = "";

    if (line) snprintf(where, sizeof where, ":%u", line);
    yc_errf(err, errlen, "%s%s: %s%s%s", file, where, key ? key : "", key ? ": " : "", msg);
}

/* A user value shown inside a message: quoted, control bytes escaped, long values cut, so an
 * error line stays one readable line whatever the file held. */
const char *yc_quote(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t o = 0, i;

    buf[o++] = '"';
    for (i = 0; i < len && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, buflen - o, c == '"' || c == '\\' ? "\\%c" : "\\x%02x",
                                  c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* ---------------------------------------------------------------- storing values */

static void *field_at(const yconf_key_t *k, void *base)
{
    return (char *)base + k->offset;
}

/* The listen struct is the caller's type (same layout as yconf_listen_t, which its config
 * module asserts): touch it member by member through the members' own types. */
static char **listen_host(const yconf_key_t *k, void *base)
{
    return (char **)((char *)field_at(k, base) + offsetof(yconf_listen_t, host));
}

static uint16_t *listen_port(const yconf_key_t *k, void *base)
{
    return (uint16_t *)((char *)field_at(k, base) + offsetof(yconf_listen_t, port));
}

/* Stores a parsed value, releasing what the field held. */
static void commit_value(const yconf_key_t *k, void *base, value_t *v)
{
    void *f = field_at(k, base);

    switch (key_type(k)) {
    case YCONF_STRING:
        free(*(char **)f);
        *(char **)f = v->s;
        break;
    case YCONF_BOOL:
        *(bool *)f = v->b;
        break;
    case YCONF_INT:
        *(int *)f = v->i;
        break;
    case YCONF_SIZE:
        *(size_t *)f = v->sz;
        break;
    case YCONF_DURATION:
        *(uint64_t *)f = v->ms;
        break;
    case YCONF_DOUBLE:
        *(double *)f = v->d;
        break;
    case YCONF_LISTEN:
        free(*listen_host(k, base));
        *listen_host(k, base) = v->l.host;
        *listen_port(k, base) = v->l.port;
        break;
    }
}

static void discard_value(const yconf_key_t *k, value_t *v)
{
    if (key_type(k) == YCONF_STRING)
        free(v->s);
    else if (key_type(k) == YCONF_LISTEN)
        free(v->l.host);
}

/* Parses, validates and stores text (len bytes, NUL-terminated) into the key's field. On -1 msg
 * holds "problem, got "text"" and the field is untouched. */
int yc_store_value(const yconf_key_t *k, void *base, const char *text, size_t len, char *msg,
                   size_t msglen)
{
    char problem[MSG_LEN], q[96];
    value_t v;
    int rc;

    memset(&v, 0, sizeof v);
    if (strlen(text) != len) {
        snprintf(problem, sizeof problem, "contains a NUL character");
    } else if (key_type(k) == YCONF_CUSTOM) {
        if (k->custom->parse(text, field_at(k, base), problem, sizeof problem) == 0) return 0;
    } else if (yc_parse_value(k, text, &v, problem, sizeof problem) == 0) {
        const void *checked = key_type(k) == YCONF_STRING ? (const void *)v.s : (const void *)&v;
        rc = k->validate ? k->validate(text, checked, problem, sizeof problem) : 0;
        if (rc == 0) {
            commit_value(k, base, &v);
            return 0;
        }
        discard_value(k, &v);
    }
    if (k->flags & YCONF_SECRET)
        yc_errf(msg, msglen, "%s", problem);
    else
        yc_errf(msg, msglen, "%s, got %s", problem, yc_quote(text, len, q, sizeof q));
    return -1;
}

/* ---------------------------------------------------------------- key table */

const yconf_key_t *yconf_find(const yconf_key_t *keys, const char *name)
{
    for (; keys->name; keys++)
        if (strcmp(keys->name, name) == 0) return keys;
    return NULL;
}

/* Whether some key lives under name ("server" for "server.listen"). */
bool yc_is_section(const yconf_key_t *keys, const char *name, size_t len)
{
    for (; keys->name; keys++)
        if (strncmp(keys->name, name, len) == 0 && keys->name[len] == '.') return true;
    return false;
}

/* Optimal string alignment distance: Levenshtein plus adjacent swaps, so "lsiten" is one edit
 * from "listen". Both strings are shorter than MAX_NAME. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][MAX_NAME + 1], *pp = rows[0], *p = rows[1], *c = rows[2], i, j;

    if (n >= MAX_NAME || m >= MAX_NAME) return SIZE_MAX;
    for (j = 0; j <= m; j++)
        p[j] = j;
    for (i = 1; i <= n; i++) {
        size_t *t;
        c[0] = i;
        for (j = 1; j <= m; j++) {
            size_t best = p[j - 1] + (a[i - 1] != b[j - 1]);
            if (p[j] + 1 < best) best = p[j] + 1;
            if (c[j - 1] + 1 < best) best = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            c[j] = best;
        }
        t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[m];
}

/* " (did you mean server.listen?)" for an unknown name, or "": the closest key or section
 * within a few edits, else a key in another section with the same last component. Inside a map
 * element the first skip bytes of name are the element's prefix, shown but not matched. */
void yc_suggest(const yconf_key_t *keys, const char *full, size_t skip, char *buf, size_t buflen)
{
    const char *name = full + skip;
    size_t n = strlen(name), best = SIZE_MAX, best_len = 0, len;
    const char *best_name = NULL, *last = strrchr(name, '.');
    const yconf_key_t *k;
    int pl = (int)skip;

    buf[0] = '\0';
    if (n >= MAX_NAME) return;
    last = last ? last + 1 : name;
    for (k = keys; k->name; k++) {
        for (len = 1; len <= strlen(k->name); len++) {
            size_t d;
            if (k->name[len] != '.' && k->name[len] != '\0') continue;
            d = edit_distance(name, n, k->name, len);
            if (d < best) {
                best = d;
                best_name = k->name;
                best_len = len;
            }
        }
    }
    if (best_name && best > 0 && best <= 2 && best * 3 <= n) {
        snprintf(buf, buflen, " (did you mean %.*s%.*s?)", pl, full, (int)best_len, best_name);
        return;
    }
    for (k = keys; k->name; k++) {
        const char *klast = strrchr(k->name, '.');
        if (strcmp(klast ? klast + 1 : k->name, last) == 0) {
            snprintf(buf, buflen, " (did you mean %.*s%s?)", pl, full, k->name);
            return;
        }
    }
}

static int check_name(const yconf_key_t *keys, const yconf_key_t *k, char *msg, size_t msglen)
{
    const char *s = k->name;
    size_t n = strlen(s);
    const yconf_key_t *o;

    if (n == 0 || n >= MAX_NAME || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") ||
        s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.")] != '\0')
        return yc_errf(msg, msglen, "invalid key name"), -1;
    if (strcmp(s, "include") == 0 || strncmp(s, "include.", 8) == 0)
        return yc_errf(msg, msglen, "\"include\" is reserved for includes"), -1;
    for (o = keys; o->name; o++) {
        if (o != k && strcmp(o->name, s) == 0) return yc_errf(msg, msglen, "defined twice"), -1;
    }
    if (yc_is_section(keys, s, n)) return yc_errf(msg, msglen, "is both a key and a section"), -1;
    return 0;
}

static int check_key(const yconf_key_t *keys, const yconf_key_t *k, char *msg, size_t msglen)
{
    unsigned t = key_type(k);

    if (check_name(keys, k, msg, msglen) < 0) return -1;
    if (t < YCONF_STRING || t > YCONF_MAP ||
        (k->flags & ~(YCONF_TYPE_MASK | YCONF_SECRET | YCONF_LIST)))
        return yc_errf(msg, msglen, "invalid type or flags 0x%x", k->flags), -1;
    if (t == YCONF_MAP) return yc_map_check_key(k, msg, msglen);
    if (t == YCONF_CUSTOM && (!k->custom || !k->custom->parse))
        return yc_errf(msg, msglen, "YCONF_CUSTOM without custom->parse"), -1;
    if (has_range(k) && (t == YCONF_STRING || t == YCONF_BOOL || t == YCONF_LISTEN ||
                         t == YCONF_CUSTOM || k->min > k->max))
        return yc_errf(msg, msglen, "invalid range"), -1;
    return 0;
}

int yconf_init(const yconf_key_t *keys, void *base, char *err, size_t errlen)
{
    char msg[MSG_LEN];
    const yconf_key_t *k;

    for (k = keys; k->name; k++) {
        if (check_key(keys, k, msg, sizeof msg) < 0) {
            yc_errf(err, errlen, "key table: %s: %s", k->name, msg);
            return -1;
        }
    }
    for (k = keys; k->name; k++) {
        const char *def = k->def ? k->def : "";
        if (key_type(k) == YCONF_MAP) {
            yc_map_dispose(k, base); /* starts empty */
            continue;
        }
        if (!k->def && key_type(k) != YCONF_STRING) continue; /* stays zero */
        if (yc_store_value(k, base, def, strlen(def), msg, sizeof msg) < 0) {
            yc_errf(err, errlen, "key table: %s: default: %s", k->name, msg);
            return -1;
        }
    }
    return 0;
}

void yconf_dispose(const yconf_key_t *keys, void *base)
{
    for (; keys->name; keys++) {
        void *f = field_at(keys, base);
        switch (key_type(keys)) {
        case YCONF_STRING:
            free(*(char **)f);
            *(char **)f = NULL;
            break;
        case YCONF_LISTEN:
            free(*listen_host(keys, base));
            *listen_host(keys, base) = NULL;
            break;
        case YCONF_CUSTOM:
            if (keys->custom && keys->custom->dispose) keys->custom->dispose(f);
            break;
        case YCONF_MAP:
            yc_map_dispose(keys, base);
            break;
        }
    }
}

int yconf_set(const yconf_key_t *keys, void *base, const char *key_eq_value, char *err,
              size_t errlen)
{
    const char *eq = strchr(key_eq_value, '='), *value;
    char name[MAX_NAME], msg[MSG_LEN], hint[MAX_NAME + 32];
    const yconf_key_t *k;
    size_t n;

    if (!eq) return yc_errf(err, errlen, "--set %s: expected key=value", key_eq_value), -1;
    n = (size_t)(eq - key_eq_value);
    if (n >= sizeof name)
        return yc_errf(err, errlen, "--set %.40s...: key name too long", key_eq_value), -1;
    memcpy(name, key_eq_value, n);
    name[n] = '\0';
    value = eq + 1;
    if ((k = yc_map_find(keys, name)))
        return yc_map_set(k, base, name, key_eq_value, value, err, errlen);
    if (!(k = yconf_find(keys, name))) {
        if (n > 0 && yc_is_section(keys, name, n))
            yc_errf(err, errlen, "--set %s: %s is a section, not a key", key_eq_value, name);
        else {
            yc_suggest(keys, name, 0, hint, sizeof hint);
            yc_errf(err, errlen, "--set %s: unknown key%s", key_eq_value, hint);
        }
        return -1;
    }
    if (key_type(k) == YCONF_MAP)
        return yc_errf(err, errlen,
                       "--set %s: %s is a map of named sections: set %s.NAME.KEY=value",
                       key_eq_value, name, name),
               -1;
    if (yc_store_value(k, base, value, strlen(value), msg, sizeof msg) == 0) return 0;
    if (k->flags & YCONF_SECRET)
        yc_errf(err, errlen, "--set %s=(secret): %s", name, msg);
    else
        yc_errf(err, errlen, "--set %s: %s", key_eq_value, msg);
    return -1;
}

/* ---------------------------------------------------------------- YAML entries -> keys */

/* A YCONF_LIST string written as a YAML list of scalars: stored joined by ", ". */
static int apply_list(loader_t *ld, const char *file, const char *name, const yconf_key_t *k,
                      const node_t *key, const node_t *v)
{
    char msg[MSG_LEN];
    size_t len = 0;
    for (size_t i = 0; i < v->nkids; i++) {
        const node_t *e = v->kids[i];
        if (e->kind != NODE_SCALAR || yc_is_null(e) || e->len == 0 || memchr(e->text, ',', e->len))
            return yc_fail_at(ld, file, e->line, name,
                              "expected a list of plain values (no commas, no nesting)");
        len += e->len + 2;
    }
    char *joined = malloc(len + 1);
    if (!joined) return yc_fail_at(ld, file, key->line, name, "out of memory");
    size_t off = 0;
    for (size_t i = 0; i < v->nkids; i++) {
        if (i) joined[off++] = ',', joined[off++] = ' ';
        memcpy(joined + off, v->kids[i]->text, v->kids[i]->len);
        off += v->kids[i]->len;
    }
    joined[off] = '\0';
    int rc = yc_store_value(k, ld->base, joined, off, msg, sizeof msg);
    free(joined);
    return rc < 0 ? yc_fail_at(ld, file, key->line, name, msg) : 0;
}

static int apply_leaf(loader_t *ld, const char *file, const char *name, const yconf_key_t *k,
                      const node_t *key, const node_t *v)
{
    char msg[MSG_LEN], what[96];
    /* "api_key:" is the empty string; other empty or null values are mistakes. */
    bool empty_string = v->kind == NODE_SCALAR && v->len == 0 && key_type(k) == YCONF_STRING;

    if (v->kind == NODE_SEQUENCE && (k->flags & YCONF_LIST) && key_type(k) == YCONF_STRING)
        return apply_list(ld, file, name, k, key, v);
    if ((v->kind != NODE_SCALAR || yc_is_null(v)) && !empty_string) {
        yc_describe(k, what, sizeof what);
        snprintf(msg, sizeof msg, "expected %s, got %s", what,
                 v->kind == NODE_SCALAR ? "null (remove the key to use the default)"
                                        : yc_kind_name(v));
        return yc_fail_at(ld, file, key->line, name, msg);
    }
    if (yc_store_value(k, ld->base, v->text, v->len, msg, sizeof msg) < 0)
        return yc_fail_at(ld, file, key->line, name, msg);
    return 0;
}

/* A key of this mapping: a known key, a section (recurse), or unknown. */
int yc_apply_entry(loader_t *ld, const char *file, const char *name, const node_t *key,
                   const node_t *v)
{
    const yconf_key_t *k = yconf_find(ld->keys, name + ld->skip);
    char msg[MSG_LEN], hint[MAX_NAME + 32], q[96];

    if (k && key_type(k) == YCONF_MAP) return yc_map_apply(ld, file, name, k, key, v);
    if (k) return apply_leaf(ld, file, name, k, key, v);
    if (yc_is_section(ld->keys, name + ld->skip, strlen(name + ld->skip))) {
        if (v->kind == NODE_MAPPING) return yc_apply_map(ld, file, v, name);
        if (yc_is_null(v)) return 0; /* a section whose keys are all commented out */
        snprintf(msg, sizeof msg, "expected a mapping of %s.* keys, got %s", name,
                 v->kind == NODE_SCALAR ? yc_quote(v->text, v->len, q, sizeof q) : yc_kind_name(v));
        return yc_fail_at(ld, file, key->line, name, msg);
    }
    yc_suggest(ld->keys, name, ld->skip, hint, sizeof hint);
    snprintf(msg, sizeof msg, "unknown key%s", hint);
    return yc_fail_at(ld, file, key->line, name, msg);
}

/* ---------------------------------------------------------------- dump */

/* A YAML double-quoted scalar: libyaml reads the escapes back to the same bytes. */
void yc_dump_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void dump_double(FILE *out, double d)
{
    char buf[64];

    /* Shortest text that reads back to the same double. */
    snprintf(buf, sizeof buf, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, sizeof buf, "%.17g", d);
    fputs(buf, out);
}

static void dump_leaf(const yconf_key_t *k, const void *base, FILE *out, unsigned flags, int indent,
                      const char *leaf)
{
    const void *f = (const char *)base + k->offset;
    char buf[256];

    if (flags & YCONF_DUMP_HELP && k->help) fprintf(out, "%*s# %s\n", indent, "", k->help);
    if (key_type(k) == YCONF_MAP) {
        yc_map_dump(k, base, out, flags, indent, leaf);
        return;
    }
    if (k->flags & YCONF_SECRET && !(flags & YCONF_DUMP_SECRETS) &&
        !(key_type(k) == YCONF_STRING && **(char *const *)f == '\0')) {
        fprintf(out, "%*s# %s: (secret, not shown)\n", indent, "", leaf);
        return;
    }
    if (key_type(k) == YCONF_CUSTOM &&
        (!k->custom->format || k->custom->format(f, buf, sizeof buf) < 0)) {
        fprintf(out, "%*s# %s: (cannot be shown)\n", indent, "", leaf);
        return;
    }
    fprintf(out, "%*s%s: ", indent, "", leaf);
    switch (key_type(k)) {
    case YCONF_STRING:
        yc_dump_string(out, *(char *const *)f);
        break;
    case YCONF_CUSTOM:
        yc_dump_string(out, buf);
        break;
    case YCONF_BOOL:
        fputs(*(const bool *)f ? "true" : "false", out);
        break;
    case YCONF_INT:
        fprintf(out, "%d", *(const int *)f);
        break;
    case YCONF_DOUBLE:
        dump_double(out, *(const double *)f);
        break;
    case YCONF_SIZE:
        yconf_format_size(*(const size_t *)f, buf, sizeof buf);
        fputs(buf, out);
        break;
    case YCONF_DURATION:
        yconf_format_duration(*(const uint64_t *)f, buf, sizeof buf);
        fputs(buf, out);
        break;
    case YCONF_LISTEN: {
        const char *host = *(char *const *)((const char *)f + offsetof(yconf_listen_t, host));
        uint16_t port = *(const uint16_t *)((const char *)f + offsetof(yconf_listen_t, port));
        snprintf(buf, sizeof buf, strchr(host ? host : "", ':') ? "[%s]:%u" : "%s:%u",
                 host ? host : "", port);
        yc_dump_string(out, buf);
        break;
    }
    }
    fputc('\n', out);
}

/* Keys under prefix, grouped by section in table order whatever the table's order, so a
 * section is never written twice (which would read back as a duplicate key). */
void yc_dump_level(const yconf_key_t *keys, const void *base, FILE *out, unsigned flags,
                   const char *prefix, int indent)
{
    size_t plen = strlen(prefix);
    const yconf_key_t *k, *o;
    char sub[MAX_NAME];

    for (k = keys; k->name; k++) {
        const char *rest = k->name + plen, *dot;
        size_t clen;
        bool seen = false;
        if (strncmp(k->name, prefix, plen) != 0) continue;
        if (!(dot = strchr(rest, '.'))) {
            dump_leaf(k, base, out, flags, indent, rest);
            continue;
        }
        clen = (size_t)(dot - k->name) + 1; /* prefix, component and its dot */
        for (o = keys; o < k && !seen; o++)
            seen = strncmp(o->name, k->name, clen) == 0;
        if (seen) continue;
        fprintf(out, "%*s%.*s:\n", indent, "", (int)(dot - rest), rest);
        snprintf(sub, sizeof sub, "%.*s", (int)clen, k->name);
        yc_dump_level(keys, base, out, flags, sub, indent + 2);
    }
}

void yconf_dump(const yconf_key_t *keys, const void *base, FILE *out, unsigned flags)
{
    yc_dump_level(keys, base, out, flags, "", 0);
}
