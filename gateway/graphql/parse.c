/* Recursive-descent parser for GraphQL executable documents (spec section 2), over lex.c's
 * tokens, into an arena-allocated tree; the first syntax error ends it, as in graphql-js. */
#include "gateway/graphql/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/graphql/lex.h"

/* ---- arena and errors ------------------------------------------------------------------------ */

typedef struct gql_chunk {
    struct gql_chunk *next;
    size_t used, cap;
    max_align_t data[];
} gql_chunk_t;

struct gql_arena {
    gql_chunk_t *head;
};

#define CHUNK_SIZE 8192

void *gql_doc_alloc(gql_doc_t *d, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    gql_chunk_t *c = d->arena->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
        c = malloc(sizeof(gql_chunk_t) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = d->arena->head;
        d->arena->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void gql_doc_free(gql_doc_t *d)
{
    if (!d) return;
    for (gql_chunk_t *c = d->arena ? d->arena->head : NULL, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(d->arena);
    free(d);
}

void gql_error_set(gql_error_t *err, gql_loc_t loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->locs[0] = loc;
    err->nlocs = loc.line ? 1 : 0;
}

gql_limits_t gql_limits_resolve(const gql_limits_t *l)
{
    gql_limits_t o = l ? *l : (gql_limits_t){0};
    if (!o.max_bytes) o.max_bytes = GQL_DEFAULT_MAX_BYTES;
    if (!o.max_tokens) o.max_tokens = GQL_DEFAULT_MAX_TOKENS;
    if (!o.max_depth) o.max_depth = GQL_DEFAULT_MAX_DEPTH;
    if (!o.max_aliases) o.max_aliases = GQL_DEFAULT_MAX_ALIASES;
    if (!o.max_fields) o.max_fields = GQL_DEFAULT_MAX_FIELDS;
    if (!o.max_roots) o.max_roots = GQL_DEFAULT_MAX_ROOTS;
    return o;
}

/* ---- the parser ------------------------------------------------------------------------------ */

typedef struct parser {
    gql_lexer_t lx;
    gql_tok_t tok; /* the current token */
    gql_doc_t *doc;
    gql_error_t *err;
    unsigned depth;
} parser_t;

static int advance(parser_t *p)
{
    return gql_lex_next(&p->lx, &p->tok);
}

static int unexpected(parser_t *p)
{
    char d[96];
    gql_error_set(p->err, p->tok.loc, "Syntax Error: Unexpected %s.",
                  gql_tok_desc(&p->tok, d, sizeof(d)));
    return -1;
}

static int expected(parser_t *p, const char *what)
{
    char d[96];
    gql_error_set(p->err, p->tok.loc, "Syntax Error: Expected %s, found %s.", what,
                  gql_tok_desc(&p->tok, d, sizeof(d)));
    return -1;
}

static const char *punct_name(gql_tok_kind_t k)
{
    static const char *const n[] = {"<EOF>", "\"!\"",   "\"$\"", "\"&\"", "\"(\"",
                                    "\")\"", "\"...\"", "\":\"", "\"=\"", "\"@\"",
                                    "\"[\"", "\"]\"",   "\"{\"", "\"|\"", "\"}\""};
    return k <= GQL_T_RBRACE ? n[k] : "token";
}

/* Consumes a token of kind k, or fails with "Expected ...". */
static int expect(parser_t *p, gql_tok_kind_t k)
{
    if (p->tok.kind != k) return expected(p, punct_name(k));
    return advance(p);
}

/* 1 and consumed when the current token is k; 0 when not; -1 on a lexer error. */
static int skip(parser_t *p, gql_tok_kind_t k)
{
    if (p->tok.kind != k) return 0;
    return advance(p) == 0 ? 1 : -1;
}

static int is_keyword(const parser_t *p, const char *kw)
{
    return p->tok.kind == GQL_T_NAME && p->tok.len == strlen(kw) &&
           memcmp(p->tok.p, kw, p->tok.len) == 0;
}

static char *dup_tok(parser_t *p)
{
    char *s = gql_doc_alloc(p->doc, p->tok.len + 1);
    if (s) memcpy(s, p->tok.p, p->tok.len);
    return s;
}

static void *node(parser_t *p, size_t n)
{
    void *x = gql_doc_alloc(p->doc, n);
    if (!x) gql_error_set(p->err, p->tok.loc, "out of memory");
    return x;
}

/* A Name token: its text (arena) into *out and location into *loc. */
static int parse_name(parser_t *p, const char **out, gql_loc_t *loc)
{
    if (p->tok.kind != GQL_T_NAME) return expected(p, "Name");
    if (loc) *loc = p->tok.loc;
    if (!(*out = dup_tok(p))) return -1;
    return advance(p);
}

static int nest(parser_t *p)
{
    if (++p->depth <= GQL_MAX_NESTING) return 0;
    gql_error_set(p->err, p->tok.loc, "Document nested too deeply: more than %u levels.",
                  GQL_MAX_NESTING);
    return -1;
}

static gql_value_t *parse_value(parser_t *p, int is_const);

static gql_value_t *parse_list_or_object(parser_t *p, int is_const)
{
    int obj = p->tok.kind == GQL_T_LBRACE;
    gql_tok_kind_t close = obj ? GQL_T_RBRACE : GQL_T_RBRACKET;
    gql_value_t *v = node(p, sizeof(*v)), **tail;
    if (!v || nest(p) != 0) return NULL;
    v->kind = obj ? GQL_V_OBJECT : GQL_V_LIST;
    v->loc = p->tok.loc;
    tail = &v->items;
    if (advance(p) != 0) return NULL;
    while (p->tok.kind != close) {
        const char *key = NULL;
        gql_loc_t kloc = {0, 0};
        if (obj && (parse_name(p, &key, &kloc) != 0 || expect(p, GQL_T_COLON) != 0)) return NULL;
        gql_value_t *item = parse_value(p, is_const);
        if (!item) return NULL;
        item->key = key;
        item->key_loc = kloc;
        *tail = item;
        tail = &item->next;
    }
    p->depth--;
    return advance(p) == 0 ? v : NULL;
}

static gql_value_t *parse_scalar(parser_t *p, gql_value_t *v)
{
    switch (p->tok.kind) {
    case GQL_T_INT:
    case GQL_T_FLOAT:
        v->kind = p->tok.kind == GQL_T_INT ? GQL_V_INT : GQL_V_FLOAT;
        if (!(v->str = dup_tok(p))) return NULL;
        v->len = p->tok.len;
        break;
    case GQL_T_STRING:
    case GQL_T_BLOCK_STRING:
        v->kind = GQL_V_STRING;
        v->str = p->tok.val;
        v->len = p->tok.vlen;
        break;
    case GQL_T_NAME:
        if (is_keyword(p, "true") || is_keyword(p, "false")) {
            v->kind = GQL_V_BOOL;
            v->boolean = is_keyword(p, "true");
        } else if (is_keyword(p, "null")) {
            v->kind = GQL_V_NULL;
        } else {
            v->kind = GQL_V_ENUM;
            if (!(v->str = dup_tok(p))) return NULL;
            v->len = p->tok.len;
        }
        break;
    default:
        unexpected(p);
        return NULL;
    }
    return advance(p) == 0 ? v : NULL;
}

static gql_value_t *parse_value(parser_t *p, int is_const)
{
    if (p->tok.kind == GQL_T_LBRACKET || p->tok.kind == GQL_T_LBRACE)
        return parse_list_or_object(p, is_const);
    gql_value_t *v = node(p, sizeof(*v));
    if (!v) return NULL;
    v->loc = p->tok.loc;
    if (p->tok.kind == GQL_T_DOLLAR) {
        if (is_const) {
            gql_tok_t save = p->tok;
            if (advance(p) != 0) return NULL;
            char d[96];
            if (p->tok.kind == GQL_T_NAME)
                gql_error_set(p->err, save.loc,
                              "Syntax Error: Unexpected variable \"$%.*s\" in "
                              "constant value.",
                              (int)(p->tok.len > 60 ? 60 : p->tok.len), p->tok.p);
            else
                gql_error_set(p->err, p->tok.loc, "Syntax Error: Expected Name, found %s.",
                              gql_tok_desc(&p->tok, d, sizeof(d)));
            return NULL;
        }
        v->kind = GQL_V_VAR;
        if (advance(p) != 0 || parse_name(p, &v->str, NULL) != 0) return NULL;
        v->len = strlen(v->str);
        return v;
    }
    return parse_scalar(p, v);
}

static int parse_arguments(parser_t *p, gql_arg_t **out, int is_const)
{
    int r = skip(p, GQL_T_LPAREN);
    if (r <= 0) return r;
    gql_arg_t **tail = out;
    do {
        gql_arg_t *a = node(p, sizeof(*a));
        if (!a || parse_name(p, &a->name, &a->loc) != 0 || expect(p, GQL_T_COLON) != 0 ||
            !(a->value = parse_value(p, is_const)))
            return -1;
        *tail = a;
        tail = &a->next;
    } while (p->tok.kind != GQL_T_RPAREN);
    return advance(p);
}

static int parse_directives(parser_t *p, gql_dir_t **out, int is_const)
{
    gql_dir_t **tail = out;
    while (p->tok.kind == GQL_T_AT) {
        gql_dir_t *d = node(p, sizeof(*d));
        if (!d) return -1;
        d->loc = p->tok.loc;
        if (advance(p) != 0 || parse_name(p, &d->name, NULL) != 0 ||
            parse_arguments(p, &d->args, is_const) != 0)
            return -1;
        *tail = d;
        tail = &d->next;
    }
    return 0;
}

static int parse_selection_set(parser_t *p, gql_sel_t **out);

static int parse_fragment_sel(parser_t *p, gql_sel_t *s)
{
    if (advance(p) != 0) return -1;
    if (p->tok.kind == GQL_T_NAME && !is_keyword(p, "on")) {
        s->kind = GQL_SEL_SPREAD;
        return parse_name(p, &s->name, &s->name_loc) != 0 ? -1 : parse_directives(p, &s->dirs, 0);
    }
    s->kind = GQL_SEL_INLINE;
    if (is_keyword(p, "on") && (advance(p) != 0 || parse_name(p, &s->type_cond, &s->type_loc) != 0))
        return -1;
    if (parse_directives(p, &s->dirs, 0) != 0) return -1;
    s->has_sel = 1;
    s->sel_loc = p->tok.loc;
    return parse_selection_set(p, &s->sel);
}

static int parse_field(parser_t *p, gql_sel_t *s)
{
    const char *first;
    s->kind = GQL_SEL_FIELD;
    if (parse_name(p, &first, NULL) != 0) return -1;
    int r = skip(p, GQL_T_COLON);
    if (r < 0) return -1;
    if (r) {
        s->alias = first;
        if (parse_name(p, &s->name, NULL) != 0) return -1;
    } else {
        s->name = first;
    }
    if (parse_arguments(p, &s->args, 0) != 0 || parse_directives(p, &s->dirs, 0) != 0) return -1;
    if (p->tok.kind != GQL_T_LBRACE) return 0;
    s->has_sel = 1;
    s->sel_loc = p->tok.loc;
    return parse_selection_set(p, &s->sel);
}

static int parse_selection_set(parser_t *p, gql_sel_t **out)
{
    if (p->tok.kind != GQL_T_LBRACE) return expected(p, "\"{\"");
    if (nest(p) != 0 || advance(p) != 0) return -1;
    gql_sel_t **tail = out;
    do {
        gql_sel_t *s = node(p, sizeof(*s));
        if (!s) return -1;
        s->loc = p->tok.loc;
        if (p->tok.kind == GQL_T_SPREAD) {
            if (parse_fragment_sel(p, s) != 0) return -1;
        } else if (p->tok.kind == GQL_T_NAME) {
            if (parse_field(p, s) != 0) return -1;
        } else {
            return expected(p, "Name");
        }
        *tail = s;
        tail = &s->next;
    } while (p->tok.kind != GQL_T_RBRACE);
    p->depth--;
    return advance(p);
}

/* Type: Name, [Type], Type! — appended as text to buf (normalised) with the named type. */
static int parse_type(parser_t *p, char *buf, size_t cap, size_t *n, gql_var_t *v)
{
    if (nest(p) != 0) return -1;
    if (p->tok.kind == GQL_T_LBRACKET) {
        if (*n + 1 >= cap) return expected(p, "a shorter type");
        buf[(*n)++] = '[';
        if (advance(p) != 0 || parse_type(p, buf, cap, n, v) != 0) return -1;
        if (expect(p, GQL_T_RBRACKET) != 0 || *n + 1 >= cap) return -1;
        buf[(*n)++] = ']';
    } else {
        if (p->tok.kind != GQL_T_NAME) return expected(p, "Name");
        if (*n + p->tok.len >= cap) return expected(p, "a shorter type");
        v->type_loc = p->tok.loc;
        if (!(v->type_name = dup_tok(p))) return -1;
        memcpy(buf + *n, p->tok.p, p->tok.len);
        *n += p->tok.len;
        if (advance(p) != 0) return -1;
    }
    p->depth--;
    if (p->tok.kind == GQL_T_BANG) {
        if (*n + 1 >= cap) return expected(p, "a shorter type");
        buf[(*n)++] = '!';
        return advance(p);
    }
    return 0;
}

static int parse_variable_defs(parser_t *p, gql_var_t **out)
{
    int r = skip(p, GQL_T_LPAREN);
    if (r <= 0) return r;
    gql_var_t **tail = out;
    do {
        gql_var_t *v = node(p, sizeof(*v));
        char type[256];
        size_t n = 0;
        if (!v) return -1;
        v->loc = p->tok.loc;
        if (expect(p, GQL_T_DOLLAR) != 0 || parse_name(p, &v->name, &v->name_loc) != 0 ||
            expect(p, GQL_T_COLON) != 0 || parse_type(p, type, sizeof(type), &n, v) != 0)
            return -1;
        char *t = gql_doc_alloc(p->doc, n + 1);
        if (!t) return -1;
        memcpy(t, type, n);
        v->type = t;
        if ((r = skip(p, GQL_T_EQUALS)) < 0) return -1;
        if (r && !(v->def = parse_value(p, 1))) return -1;
        if (parse_directives(p, &v->dirs, 1) != 0) return -1;
        *tail = v;
        tail = &v->next;
    } while (p->tok.kind != GQL_T_RPAREN);
    return advance(p);
}

static int parse_operation(parser_t *p, gql_op_t *op)
{
    op->loc = p->tok.loc;
    if (p->tok.kind == GQL_T_LBRACE) return parse_selection_set(p, &op->sel);
    op->kind = is_keyword(p, "query")      ? GQL_QUERY
               : is_keyword(p, "mutation") ? GQL_MUTATION
                                           : GQL_SUBSCRIPTION;
    if (advance(p) != 0) return -1;
    if (p->tok.kind == GQL_T_NAME && parse_name(p, &op->name, &op->name_loc) != 0) return -1;
    if (parse_variable_defs(p, &op->vars) != 0 || parse_directives(p, &op->dirs, 0) != 0) return -1;
    return parse_selection_set(p, &op->sel);
}

static int parse_fragment(parser_t *p, gql_frag_t *f)
{
    f->loc = p->tok.loc;
    if (advance(p) != 0) return -1;
    if (is_keyword(p, "on")) return unexpected(p);
    if (parse_name(p, &f->name, &f->name_loc) != 0) return -1;
    if (!is_keyword(p, "on")) return expected(p, "\"on\"");
    if (advance(p) != 0 || parse_name(p, &f->type_cond, &f->type_loc) != 0 ||
        parse_directives(p, &f->dirs, 0) != 0)
        return -1;
    return parse_selection_set(p, &f->sel);
}

static int parse_document(parser_t *p)
{
    gql_op_t **otail = &p->doc->ops;
    gql_frag_t **ftail = &p->doc->frags;
    if (advance(p) != 0) return -1;
    if (p->tok.kind == GQL_T_EOF) return unexpected(p);
    while (p->tok.kind != GQL_T_EOF) {
        if (is_keyword(p, "fragment")) {
            gql_frag_t *f = node(p, sizeof(*f));
            if (!f || parse_fragment(p, f) != 0) return -1;
            *ftail = f;
            ftail = &f->next;
        } else if (p->tok.kind == GQL_T_LBRACE || is_keyword(p, "query") ||
                   is_keyword(p, "mutation") || is_keyword(p, "subscription")) {
            gql_op_t *op = node(p, sizeof(*op));
            if (!op || parse_operation(p, op) != 0) return -1;
            *otail = op;
            otail = &op->next;
        } else {
            return unexpected(p);
        }
    }
    return 0;
}

gql_doc_t *gql_parse(const char *src, size_t len, const gql_limits_t *lim, gql_error_t *err)
{
    gql_limits_t l = gql_limits_resolve(lim);
    memset(err, 0, sizeof(*err));
    if (len > l.max_bytes) {
        gql_error_set(err, (gql_loc_t){0, 0}, "Document too large: %zu bytes (limit: %zu bytes).",
                      len, l.max_bytes);
        return NULL;
    }
    parser_t p = {.err = err};
    p.doc = calloc(1, sizeof(gql_doc_t));
    if (p.doc) p.doc->arena = calloc(1, sizeof(struct gql_arena));
    if (!p.doc || !p.doc->arena) {
        gql_doc_free(p.doc);
        gql_error_set(err, (gql_loc_t){0, 0}, "out of memory");
        return NULL;
    }
    gql_lex_init(&p.lx, src, len, l.max_tokens, p.doc, err);
    if (parse_document(&p) != 0) {
        gql_doc_free(p.doc);
        return NULL;
    }
    return p.doc;
}
