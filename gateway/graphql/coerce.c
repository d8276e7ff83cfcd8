/* Values of an executing operation (see exec.h): variables coerced from the request's JSON
 * (spec CoerceVariableValues, graphql-js 16's messages), AST values with variables substituted,
 * argument values with defaults, field collection with @skip/@include, error objects. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/graphql/exec.h"
#include "gateway/graphql/exec_int.h"

json_t *gql_error_json(const char *msg, const gql_loc_t *locs, unsigned nlocs, json_t *path,
                       json_t *ext)
{
    json_t *e = json_pack("{s:s}", "message", msg);
    if (!e) {
        json_decref(path);
        json_decref(ext);
        return NULL;
    }
    json_t *l = nlocs && locs[0].line ? json_array() : NULL;
    for (unsigned i = 0; l && i < nlocs; i++)
        if (locs[i].line)
            json_array_append_new(l, json_pack("{s:I,s:I}", "line", (json_int_t)locs[i].line,
                                               "column", (json_int_t)locs[i].col));
    if (l) json_object_set_new(e, "locations", l);
    if (path) json_object_set_new(e, "path", path);
    if (ext) json_object_set_new(e, "extensions", ext);
    return e;
}

/* ---- AST values ------------------------------------------------------------------------------ */

json_t *gql_value_json(const gql_value_t *v, const json_t *vars, int is_float)
{
    switch (v->kind) {
    case GQL_V_VAR: {
        json_t *x = json_object_get(vars, v->str);
        return x ? json_incref(x) : NULL;
    }
    case GQL_V_INT:
        if (!is_float) {
            errno = 0;
            long long n = strtoll(v->str, NULL, 10);
            if (errno == 0) return json_integer(n);
        }
        return json_real(strtod(v->str, NULL));
    case GQL_V_FLOAT:
        return json_real(strtod(v->str, NULL));
    case GQL_V_STRING:
        return json_stringn(v->str, v->len);
    case GQL_V_BOOL:
        return json_boolean(v->boolean);
    case GQL_V_NULL:
        return json_null();
    case GQL_V_ENUM:
        return json_string(v->str);
    case GQL_V_LIST: {
        json_t *a = json_array();
        for (const gql_value_t *i = a ? v->items : NULL; i; i = i->next) {
            json_t *x = gql_value_json(i, vars, is_float);
            json_array_append_new(a, x ? x : json_null()); /* an absent variable in a list: null */
        }
        return a;
    }
    case GQL_V_OBJECT: {
        json_t *o = json_object();
        for (const gql_value_t *i = o ? v->items : NULL; i; i = i->next) {
            json_t *x = gql_value_json(i, vars, 0);
            if (x) json_object_set_new(o, i->key, x); /* absent: the field is left out */
        }
        return o;
    }
    }
    return NULL;
}

/* A default value of the schema (a GraphQL literal that is also JSON: 10, true, [], "x"). */
static json_t *schema_default(const char *lit)
{
    return json_loads(lit, JSON_DECODE_ANY, NULL);
}

static int type_is_float(const char *t)
{
    const char *n;
    size_t len = gql_type_named(t, &n);
    return len == 5 && memcmp(n, "Float", 5) == 0;
}

json_t *ex_args(const gql_exec_t *ex, const gql_sel_t *s, const gql_arg_def_t *defs)
{
    json_t *o = json_object();
    for (const gql_arg_def_t *d = defs; o && d && d->name; d++) {
        const gql_arg_t *a = s->args;
        while (a && strcmp(a->name, d->name) != 0)
            a = a->next;
        json_t *x = a ? gql_value_json(a->value, ex->vars, type_is_float(d->type)) : NULL;
        if (!x && d->def) x = schema_default(d->def);
        if (x) json_object_set_new(o, d->name, x);
    }
    return o;
}

/* ---- variables ------------------------------------------------------------------------------- */

static int is_uuid_text(const char *s)
{
    size_t n = strlen(s);
    if (n == 32) return strspn(s, "0123456789abcdefABCDEF") == 32;
    if (n != 36) return 0;
    for (size_t i = 0; i < n; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-'
                                                      : !strchr("0123456789abcdefABCDEF", s[i]))
            return 0;
    return 1;
}

/* Why v is no value of named type name ("" when it is); may replace *v (an Int as a Float). */
static const char *scalar_problem(const char *name, json_t **v, char *buf, size_t cap)
{
    json_t *x = *v;
    if (!strcmp(name, "JSON")) return "";
    if (!strcmp(name, "Int")) {
        double d = json_is_real(x) ? json_real_value(x) : 0;
        if (json_is_integer(x) || (json_is_real(x) && d == floor(d))) {
            double n = json_is_integer(x) ? (double)json_integer_value(x) : d;
            if (n < -2147483648.0 || n > 2147483647.0) {
                char *t = json_dumps(x, JSON_ENCODE_ANY);
                snprintf(buf, cap, "Int cannot represent non 32-bit signed integer value: %s",
                         t ? t : "?");
                free(t);
                return buf;
            }
            if (json_is_real(x)) {
                *v = json_integer((json_int_t)d);
                json_decref(x);
            }
            return "";
        }
        char *t = json_dumps(x, JSON_ENCODE_ANY);
        snprintf(buf, cap, "Int cannot represent non-integer value: %s", t ? t : "?");
        free(t);
        return buf;
    }
    if (!strcmp(name, "Float")) {
        if (json_is_number(x)) return "";
        char *t = json_dumps(x, JSON_ENCODE_ANY);
        snprintf(buf, cap, "Float cannot represent non numeric value: %s", t ? t : "?");
        free(t);
        return buf;
    }
    if (!strcmp(name, "String") || !strcmp(name, "Boolean")) {
        int s = name[0] == 'S';
        if (s ? json_is_string(x) : json_is_boolean(x)) return "";
        char *t = json_dumps(x, JSON_ENCODE_ANY);
        snprintf(buf, cap, "%s cannot represent a non %s value: %s", s ? "String" : "Boolean",
                 s ? "string" : "boolean", t ? t : "?");
        free(t);
        return buf;
    }
    if (!strcmp(name, "PointId")) {
        if ((json_is_integer(x) && json_integer_value(x) >= 0) ||
            (json_is_string(x) && is_uuid_text(json_string_value(x))))
            return "";
        return "A point id is an unsigned integer or a UUID string";
    }
    return "Unknown type";
}

typedef struct coerce {
    char why[GQL_MSG_MAX];
    char path[96]; /* where inside the value: "[0].id" */
} coerce_t;

/* Appends ".key" (key not NULL) or "[idx]" to c->path; *mark: where to cut it back. */
static void path_push(coerce_t *c, size_t *mark, const char *key, size_t idx)
{
    *mark = strlen(c->path);
    size_t cap = sizeof(c->path) - *mark;
    if (key)
        snprintf(c->path + *mark, cap, ".%.40s", key);
    else
        snprintf(c->path + *mark, cap, "[%zu]", idx);
}

static int coerce_value(coerce_t *c, json_t **v, const char *t, size_t tl);

static int coerce_input(coerce_t *c, json_t **v, const gql_type_def_t *td)
{
    if (!json_is_object(*v)) {
        snprintf(c->why, sizeof(c->why), "Expected type \"%s\" to be an object.", td->name);
        return -1;
    }
    const char *k;
    json_t *x;
    json_object_foreach(*v, k, x)
    {
        if (!gql_schema_arg(td->inputs, k)) {
            snprintf(c->why, sizeof(c->why), "Field \"%.60s\" is not defined by type \"%s\".", k,
                     td->name);
            return -1;
        }
    }
    for (const gql_arg_def_t *a = td->inputs; a->name; a++) {
        json_t *f = json_object_get(*v, a->name);
        size_t tl = strlen(a->type), mark;
        if (!f) {
            if (a->type[tl - 1] == '!') {
                snprintf(c->why, sizeof(c->why),
                         "Field \"%s\" of required type \"%s\" was not "
                         "provided.",
                         a->name, a->type);
                return -1;
            }
            continue;
        }
        json_incref(f);
        path_push(c, &mark, a->name, 0);
        int r = coerce_value(c, &f, a->type, tl);
        if (r == 0) {
            c->path[mark] = '\0';
            json_object_set(*v, a->name, f);
        }
        json_decref(f);
        if (r != 0) return -1;
    }
    return 0;
}

/* Coerces *v (owned, may be replaced) to type text t[0..tl). 0, or -1 with c->why. */
static int coerce_value(coerce_t *c, json_t **v, const char *t, size_t tl)
{
    if (t[tl - 1] == '!') {
        if (json_is_null(*v)) {
            snprintf(c->why, sizeof(c->why), "Expected non-nullable type \"%.*s\" not to be null.",
                     (int)tl, t);
            return -1;
        }
        tl--;
    }
    if (json_is_null(*v)) return 0;
    if (t[0] == '[') {
        if (!json_is_array(*v)) { /* a single value where a list is expected: a list of one */
            json_t *a = json_array();
            json_array_append_new(a, *v);
            *v = a;
        }
        for (size_t i = 0; i < json_array_size(*v); i++) {
            json_t *x = json_incref(json_array_get(*v, i));
            size_t mark;
            path_push(c, &mark, NULL, i);
            int r = coerce_value(c, &x, t + 1, tl - 2);
            if (r == 0) {
                c->path[mark] = '\0';
                json_array_set(*v, i, x);
            }
            json_decref(x);
            if (r != 0) return -1;
        }
        return 0;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)tl, t);
    const gql_type_def_t *td = gql_schema_type(name);
    if (td && td->kind == GQL_K_INPUT) return coerce_input(c, v, td);
    const char *p = scalar_problem(name, v, c->why, sizeof(c->why));
    if (!*p) return 0;
    if (p != c->why) snprintf(c->why, sizeof(c->why), "%s", p);
    return -1;
}

static void var_error(gql_exec_t *ex, const gql_var_t *d, const char *fmt, const char *a,
                      const char *b)
{
    char msg[2 * GQL_MSG_MAX + 200];
    snprintf(msg, sizeof(msg), fmt, d->name, a, b);
    msg[GQL_MSG_MAX - 1] = '\0';
    json_array_append_new(ex->errors, gql_error_json(msg, &d->loc, 1, NULL, NULL));
}

int ex_coerce_variables(gql_exec_t *ex, const json_t *given)
{
    ex->vars = json_object();
    for (const gql_var_t *d = ex->op->vars; d; d = d->next) {
        json_t *v = json_object_get(given, d->name);
        size_t tl = strlen(d->type);
        if (!v) {
            json_t *def = d->def ? gql_value_json(d->def, NULL, type_is_float(d->type)) : NULL;
            if (def)
                json_object_set_new(ex->vars, d->name, def);
            else if (d->type[tl - 1] == '!')
                var_error(ex, d, "Variable \"$%s\" of required type \"%s\" was not provided.%s",
                          d->type, "");
            continue;
        }
        if (json_is_null(v) && d->type[tl - 1] == '!') {
            var_error(ex, d, "Variable \"$%s\" of non-null type \"%s\" must not be null.%s",
                      d->type, "");
            continue;
        }
        coerce_t c = {{0}, {0}};
        json_t *x = json_deep_copy(v);
        if (coerce_value(&c, &x, d->type, tl) != 0) {
            char *shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            char at[128] = "";
            if (c.path[0]) snprintf(at, sizeof(at), " at \"%s%s\"", d->name, c.path);
            char what[GQL_MSG_MAX];
            snprintf(what, sizeof(what), "%.120s%s", shown ? shown : "?", at);
            var_error(ex, d, "Variable \"$%s\" got invalid value %s; %s", what, c.why);
            free(shown);
            json_decref(x);
            continue;
        }
        json_object_set_new(ex->vars, d->name, x);
    }
    return json_array_size(ex->errors) ? -1 : 0;
}

/* ---- field collection ------------------------------------------------------------------------ */

/* @skip(if:) / @include(if:) say leave s out. */
static int skipped(const gql_dir_t *dirs, const json_t *vars)
{
    for (const gql_dir_t *d = dirs; d; d = d->next) {
        int skip = !strcmp(d->name, "skip");
        if (!skip && strcmp(d->name, "include") != 0) continue;
        for (const gql_arg_t *a = d->args; a; a = a->next) {
            if (strcmp(a->name, "if") != 0) continue;
            json_t *x = gql_value_json(a->value, vars, 0);
            int yes = json_is_true(x);
            json_decref(x);
            if (skip ? yes : !yes) return 1;
        }
    }
    return 0;
}

static int collect(const gql_doc_t *doc, const json_t *vars, const gql_type_def_t *t,
                   const gql_sel_t *sels, gql_groups_t *out, unsigned depth)
{
    if (depth > GQL_MAX_NESTING) return 0;
    for (const gql_sel_t *s = sels; s; s = s->next) {
        if (skipped(s->dirs, vars)) continue;
        if (s->kind == GQL_SEL_FIELD) {
            const char *key = s->alias ? s->alias : s->name;
            size_t i;
            for (i = 0; i < out->n && strcmp(out->v[i].key, key) != 0; i++)
                ;
            if (i == out->n) {
                if (ex_grow((void **)&out->v, &out->cap, out->n, sizeof(gql_group_t)) != 0)
                    return -1;
                out->v[out->n++] = (gql_group_t){key, NULL, 0, 0};
            }
            gql_group_t *g = &out->v[i];
            if (ex_grow((void **)&g->nodes, &g->cap, g->n, sizeof(*g->nodes)) != 0) return -1;
            g->nodes[g->n++] = s;
            continue;
        }
        const gql_sel_t *sub = s->sel;
        const char *cond = s->type_cond;
        if (s->kind == GQL_SEL_SPREAD) {
            const gql_frag_t *f = doc->frags;
            while (f && strcmp(f->name, s->name) != 0)
                f = f->next;
            if (!f) continue;
            sub = f->sel;
            cond = f->type_cond;
        }
        if (cond && strcmp(cond, t->name) != 0) continue;
        if (collect(doc, vars, t, sub, out, depth + 1) != 0) return -1;
    }
    return 0;
}

int gql_collect(const gql_doc_t *doc, const json_t *vars, const gql_type_def_t *t,
                const gql_sel_t *sels, gql_groups_t *out)
{
    return collect(doc, vars, t, sels, out, 0);
}

void gql_groups_free(gql_groups_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].nodes);
    free(g->v);
    g->v = NULL;
    g->n = g->cap = 0;
}

int ex_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *q = realloc(*p, nc * size);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}
