/* yconf tree: YAML text -> node tree with lines and columns (the only file that talks to libyaml),
 * then the walk of that tree: files, includes, key names, duplicates; entries go to yconf.c. */
#include "common/yconf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_FILE_BYTES (4u << 20) /* bigger is a mistake (/dev/zero), not a config */
#define MAX_NESTING    64         /* libyaml 0.2.5 has no limit; ours keeps recursion bounded */

static const char *errno_text(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant (_GNU_SOURCE): returns the text */
}

/* ---------------------------------------------------------------- YAML -> node tree */

static void node_free(node_t *n)
{
    size_t i;

    if (!n) return;
    for (i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

const char *yc_kind_name(const node_t *n)
{
    return n->kind == NODE_MAPPING ? "a mapping" : n->kind == NODE_SEQUENCE ? "a list" : "a value";
}

bool yc_is_null(const node_t *n)
{
    return n->kind == NODE_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
            strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0);
}

typedef struct builder {
    const char *file;
    node_t *root;
    node_t *stack[MAX_NESTING];
    size_t depth;
    int documents;
    char *err;
    size_t errlen;
} builder_t;

static int builder_fail(builder_t *b, const yaml_mark_t *mark, const char *msg)
{
    yc_err_at(b->err, b->errlen, b->file, (unsigned)mark->line + 1, NULL, msg);
    return -1;
}

/* Makes a node for ev and hangs it under the open collection (or makes it the root). */
static int builder_add(builder_t *b, const yaml_event_t *ev, node_kind_t kind, node_t **out)
{
    node_t *n = calloc(1, sizeof *n), *parent = b->depth ? b->stack[b->depth - 1] : NULL;

    if (!n) return builder_fail(b, &ev->start_mark, "out of memory");
    n->kind = kind;
    n->line = (unsigned)ev->start_mark.line + 1;
    n->column = (unsigned)ev->start_mark.column + 1;
    if (!parent) {
        b->root = n;
    } else {
        if (parent->nkids == parent->cap) {
            size_t cap = parent->cap ? parent->cap * 2 : 8;
            node_t **kids = realloc(parent->kids, cap * sizeof *kids);
            if (!kids) {
                free(n);
                return builder_fail(b, &ev->start_mark, "out of memory");
            }
            parent->kids = kids;
            parent->cap = cap;
        }
        parent->kids[parent->nkids++] = n;
        if (parent->kind == NODE_MAPPING && parent->nkids % 2 == 1 && kind != NODE_SCALAR)
            return builder_fail(b, &ev->start_mark,
                                "a mapping key must be a plain name, not a list or mapping");
    }
    *out = n;
    return 0;
}

static int builder_scalar(builder_t *b, const yaml_event_t *ev)
{
    node_t *n;

    if (builder_add(b, ev, NODE_SCALAR, &n) < 0) return -1;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->len = ev->data.scalar.length;
    /* The value belongs to the event, which is deleted right after this returns. */
    if (!(n->text = malloc(n->len + 1))) return builder_fail(b, &ev->start_mark, "out of memory");
    memcpy(n->text, ev->data.scalar.value, n->len);
    n->text[n->len] = '\0';
    return 0;
}

static int builder_open(builder_t *b, const yaml_event_t *ev, node_kind_t kind)
{
    node_t *n;

    if (b->depth == MAX_NESTING)
        return builder_fail(b, &ev->start_mark, "nested deeper than 64 levels");
    if (builder_add(b, ev, kind, &n) < 0) return -1;
    b->stack[b->depth++] = n;
    return 0;
}

/* One parser event: 0 = go on, 1 = end of stream, -1 = error (in b->err). */
static int builder_event(builder_t *b, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL;

    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1)
            return builder_fail(b, &ev->start_mark,
                                "more than one YAML document (---); a config is one document");
        return 0;
    case YAML_ALIAS_EVENT:
        return builder_fail(b, &ev->start_mark, "aliases (*name) are not supported");
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->depth--;
        return 0;
    default:
        return 0;
    }
    if (anchor) return builder_fail(b, &ev->start_mark, "anchors (&name) are not supported");
    if (ev->type == YAML_SCALAR_EVENT) return builder_scalar(b, ev);
    return builder_open(b, ev, ev->type == YAML_MAPPING_START_EVENT ? NODE_MAPPING : NODE_SEQUENCE);
}

/* libyaml's own words, with where it noticed and what it was in the middle of. */
static void yaml_error(const yaml_parser_t *p, const char *file, const char *buf, size_t len,
                       char *err, size_t errlen)
{
    unsigned line = 1;
    size_t i;

    if (p->error == YAML_MEMORY_ERROR) {
        yc_errf(err, errlen, "%s: out of memory while parsing YAML", file);
    } else if (p->error == YAML_READER_ERROR) {
        /* Reader errors (bad UTF-8, control characters) carry a byte offset, not a mark. */
        for (i = 0; i < p->problem_offset && i < len; i++)
            line += buf[i] == '\n';
        yc_errf(err, errlen, "%s:%u: malformed YAML: %s (byte 0x%02X at offset %zu)", file, line,
                p->problem ? p->problem : "unreadable input", (unsigned)p->problem_value & 0xffu,
                p->problem_offset);
    } else if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t') {
        /* libyaml says "found character that cannot start any token": name the character. */
        yc_errf(err, errlen, "%s:%zu: malformed YAML: a tab at column %zu (indent with spaces)",
                file, p->problem_mark.line + 1, p->problem_mark.column + 1);
    } else if (p->context) {
        yc_errf(err, errlen, "%s:%zu: malformed YAML: %s at column %zu (%s at line %zu column %zu)",
                file, p->problem_mark.line + 1, p->problem ? p->problem : "error",
                p->problem_mark.column + 1, p->context, p->context_mark.line + 1,
                p->context_mark.column + 1);
    } else {
        yc_errf(err, errlen, "%s:%zu: malformed YAML: %s at column %zu", file,
                p->problem_mark.line + 1, p->problem ? p->problem : "error",
                p->problem_mark.column + 1);
    }
}

/* Parses YAML into a tree. *root is NULL for a stream without content (empty file). */
static int parse_tree(const char *file, const char *buf, size_t len, node_t **root, char *err,
                      size_t errlen)
{
    builder_t b = {.file = file, .err = err, .errlen = errlen};
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0;

    if (!yaml_parser_initialize(&parser))
        return yc_errf(err, errlen, "%s: out of memory", file), -1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            /* A failed parse leaves ev unfilled: nothing to delete. */
            yaml_error(&parser, file, buf, len, err, errlen);
            rc = -1;
            break;
        }
        rc = builder_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        node_free(b.root);
        return -1;
    }
    *root = b.root;
    return 0;
}

/* ---------------------------------------------------------------- files, includes, mappings */

static int load_path(loader_t *ld, const char *path, const char *from, unsigned from_line);

int yc_fail_at(loader_t *ld, const char *file, unsigned line, const char *key, const char *msg)
{
    yc_err_at(ld->err, ld->errlen, file, line, key, msg);
    return -1;
}

/* Joins prefix and the key's text into name, refusing what cannot be a key component. */
static int entry_name(loader_t *ld, const char *file, const char *prefix, const node_t *key,
                      char *name, size_t len)
{
    char q[96], msg[MSG_LEN];
    size_t i;
    int n;

    /* Control bytes never make a key, and would break the one-line error message. */
    for (i = 0; i < key->len && (unsigned char)key->text[i] >= 0x20 && key->text[i] != 0x7f; i++)
        ;
    if (key->len == 0 || i < key->len || key->len >= MAX_NAME) {
        snprintf(msg, sizeof msg, "invalid key %s", yc_quote(key->text, key->len, q, sizeof q));
        return yc_fail_at(ld, file, key->line, *prefix ? prefix : NULL, msg);
    }
    n = snprintf(name, len, "%s%s%s", prefix, *prefix ? "." : "", key->text);
    if (n < 0 || (size_t)n >= len) {
        return yc_fail_at(ld, file, key->line, *prefix ? prefix : NULL, "key name too long");
    }
    if (strchr(key->text, '.')) {
        size_t head = strcspn(key->text, ".");
        snprintf(msg, sizeof msg, "dotted keys are not supported; nest \"%s:\" under \"%.*s:\"",
                 key->text + head + 1, (int)head, key->text);
        return yc_fail_at(ld, file, key->line, name, msg);
    }
    return 0;
}

static bool is_file_name(const node_t *n)
{
    return n->kind == NODE_SCALAR && n->len > 0 && !yc_is_null(n) && strlen(n->text) == n->len;
}

/* "include: FILE" or "include: [FILE, ...]": each file is applied here, in order. */
static int apply_include(loader_t *ld, const char *file, const node_t *key, const node_t *v)
{
    size_t i;

    if (is_file_name(v)) return load_path(ld, v->text, file, v->line);
    for (i = 0; v->kind == NODE_SEQUENCE && i < v->nkids; i++)
        if (!is_file_name(v->kids[i])) break;
    if (v->kind != NODE_SEQUENCE || i < v->nkids)
        return yc_fail_at(ld, file, key->line, "include",
                          "expected a file name or a list of file names");
    for (i = 0; i < v->nkids; i++)
        if (load_path(ld, v->kids[i]->text, file, v->kids[i]->line) < 0) return -1;
    return 0;
}

int yc_apply_map(loader_t *ld, const char *file, const node_t *map, const char *prefix)
{
    char name[MAX_NAME], msg[64];
    size_t i, j;

    for (i = 0; i + 1 < map->nkids; i += 2) {
        const node_t *key = map->kids[i], *v = map->kids[i + 1];
        if (entry_name(ld, file, prefix, key, name, sizeof name) < 0) return -1;
        for (j = 0; j < i; j += 2) {
            const node_t *o = map->kids[j];
            if (o->len == key->len && memcmp(o->text, key->text, key->len) == 0) {
                snprintf(msg, sizeof msg, "duplicate key, first defined at line %u", o->line);
                return yc_fail_at(ld, file, key->line, name, msg);
            }
        }
        if (!*prefix && strcmp(name, "include") == 0) {
            if (apply_include(ld, file, key, v) < 0) return -1;
            continue;
        }
        if (yc_apply_entry(ld, file, name, key, v) < 0) return -1;
    }
    return 0;
}

/* Parses buf as the file at the top of the include chain and applies it. */
static int apply_buffer(loader_t *ld, const char *file, const char *buf, size_t len)
{
    node_t *root = NULL;
    int rc = -1;

    if (parse_tree(file, buf, len, &root, ld->err, ld->errlen) < 0) goto fail;
    if (!root || yc_is_null(root)) {
        rc = 0; /* empty file, or only comments: nothing to set */
        goto fail;
    }
    if (root->kind != NODE_MAPPING) {
        char msg[MSG_LEN], q[96];
        snprintf(msg, sizeof msg, "expected a mapping of keys at the top level, got %s",
                 root->kind == NODE_SCALAR ? yc_quote(root->text, root->len, q, sizeof q)
                                           : yc_kind_name(root));
        yc_fail_at(ld, file, root->line, NULL, msg);
        goto fail;
    }
    rc = yc_apply_map(ld, file, root, "");
fail:
    node_free(root);
    return rc;
}

static int read_all(int fd, char **out, size_t *outlen, char *msg, size_t msglen)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap), *nbuf, eb[128];
    ssize_t n;

    for (;;) {
        if (!buf) return yc_errf(msg, msglen, "out of memory"), -1;
        if (len + 1 == cap) {
            if (!(nbuf = realloc(buf, cap * 2))) free(buf);
            buf = nbuf;
            cap *= 2;
            continue;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            yc_errf(msg, msglen, "%s", errno_text(errno, eb, sizeof eb));
            break;
        }
        if (n == 0) {
            buf[len] = '\0';
            *out = buf;
            *outlen = len;
            return 0;
        }
        len += (size_t)n;
        if (len > MAX_FILE_BYTES) {
            yc_errf(msg, msglen, "larger than 4MiB, too big for a config file");
            break;
        }
    }
    free(buf);
    return -1;
}

/* Where an include's target lives: as written when absolute, else next to the includer. */
static char *include_path(const char *from, const char *name)
{
    const char *slash = strrchr(from, '/');
    size_t dir = name[0] == '/' || !slash ? 0 : (size_t)(slash - from) + 1;
    size_t len = dir + strlen(name) + 1;
    char *p = malloc(len);

    if (p) snprintf(p, len, "%.*s%s", (int)dir, from, name);
    return p;
}

static int include_loop(loader_t *ld, const struct stat *st, const char *path, const char *from,
                        unsigned from_line)
{
    char msg[MSG_LEN];
    size_t o;
    int i, j;

    for (i = 0; i < ld->depth; i++) {
        if (ld->chain[i].dev != st->st_dev || ld->chain[i].ino != st->st_ino) continue;
        o = (size_t)snprintf(msg, sizeof msg, "loop:");
        for (j = i; j < ld->depth && o < sizeof msg; j++)
            o += (size_t)snprintf(msg + o, sizeof msg - o, " %s ->", ld->chain[j].path);
        if (o < sizeof msg) snprintf(msg + o, sizeof msg - o, " %s", path);
        return yc_fail_at(ld, from, from_line, "include", msg);
    }
    if (ld->depth > MAX_INCLUDE_DEPTH) {
        snprintf(msg, sizeof msg, "%s: includes nested deeper than %d levels", path,
                 MAX_INCLUDE_DEPTH);
        return yc_fail_at(ld, from, from_line, "include", msg);
    }
    return 0;
}

/* A path inside a message: as it is, or quoted and escaped when it holds control bytes (an
 * include written as a multi-line scalar), so the message stays one line. */
static const char *shown_path(const char *path, char *buf, size_t buflen)
{
    for (const char *s = path; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return yc_quote(path, strlen(path), buf, buflen);
    return path;
}

/* Reads and applies one file. from / from_line: the including file, NULL for the top one. */
static int load_path(loader_t *ld, const char *name, const char *from, unsigned from_line)
{
    char *path = from ? include_path(from, name) : strdup(name), *buf = NULL, msg[MSG_LEN];
    char eb[128];
    struct stat st;
    size_t len;
    int fd = -1, rc = -1;

    if (!path) {
        yc_errf(ld->err, ld->errlen, "out of memory");
        goto fail;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        char q[128];
        snprintf(msg, sizeof msg, "%s: %s", shown_path(path, q, sizeof q),
                 errno_text(errno, eb, sizeof eb));
        goto fail_read;
    }
    if (include_loop(ld, &st, path, from, from_line) < 0) goto fail;
    if (read_all(fd, &buf, &len, eb, sizeof eb) < 0) {
        char q[128];
        snprintf(msg, sizeof msg, "%s: %s", shown_path(path, q, sizeof q), eb);
        goto fail_read;
    }
    ld->chain[ld->depth++] = (frame_t){.path = path, .dev = st.st_dev, .ino = st.st_ino};
    rc = apply_buffer(ld, path, buf, len);
    ld->depth--;
    goto fail;
fail_read:
    if (from)
        yc_fail_at(ld, from, from_line, "include", msg);
    else
        yc_errf(ld->err, ld->errlen, "%s", msg);
fail:
    if (fd >= 0) close(fd);
    free(buf);
    free(path);
    return rc;
}

int yconf_load_file(const yconf_key_t *keys, void *base, const char *path, char *err, size_t errlen)
{
    loader_t ld = {.keys = keys, .base = base, .err = err, .errlen = errlen};

    return load_path(&ld, path, NULL, 0);
}

int yconf_load_buffer(const yconf_key_t *keys, void *base, const char *name, const char *buf,
                      size_t len, char *err, size_t errlen)
{
    loader_t ld = {.keys = keys, .base = base, .err = err, .errlen = errlen, .depth = 1};

    /* No device/inode: a buffer is never the target of an include loop. */
    ld.chain[0] = (frame_t){.path = name};
    return apply_buffer(&ld, name, buf, len);
}
