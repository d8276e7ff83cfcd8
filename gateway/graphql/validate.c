/* Document validation (see validate.h). One walk over each operation and fragment checks the
 * rules that need a type context and records, per definition, its variable usages and fragment
 * spreads; the rules that need the whole picture (variables across fragments, unused and
 * cyclic fragments, limits with fragments expanded) run on those records. */
#include "gateway/graphql/validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/graphql/schema.h"
#include "gateway/graphql/validate_int.h"

void vl_err(vctx_t *c, gql_loc_t a, gql_loc_t b, const char *fmt, ...)
{
    if (c->full) return;
    gql_error_t *e = &c->errs[c->n++];
    if (c->n == GQL_MAX_ERRORS) {
        gql_error_set(e, (gql_loc_t){0, 0},
                      "Too many validation errors, error limit reached. Validation aborted.");
        c->full = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->nlocs = 0;
    if (a.line) e->locs[e->nlocs++] = a;
    if (b.line) e->locs[e->nlocs++] = b;
}

int vl_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *q = realloc(*p, nc * size);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static void add_usage(vctx_t *c, const gql_value_t *v, const char *type, size_t tlen, int def)
{
    owner_t *o = c->cur;
    if (vl_grow((void **)&o->u, &o->cu, o->nu, sizeof(usage_t)) != 0) return;
    o->u[o->nu++] = (usage_t){v->str, v->loc, type, tlen, def};
}

/* ---- printing values and types ----------------------------------------------------------------
 */

static void put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < cap; i++)
        buf[(*o)++] = s[i];
    buf[*o < cap ? *o : cap - 1] = '\0';
}

/* The character at s[*i] as printString writes it (controls and C1 escaped); *i to its last byte.
 */
static void put_char(char *buf, size_t cap, size_t *o, const char *s, size_t n, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];
    unsigned cp = c;
    if (c == 0xC2 && *i + 1 < n && (unsigned char)s[*i + 1] >= 0x80 &&
        (unsigned char)s[*i + 1] <= 0x9F)
        cp = (unsigned char)s[++*i];
    else if (c >= 0x80 || (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F)) {
        put(buf, cap, o, s + *i, 1);
        return;
    }
    static const char named[] = "btn\0fr";
    char esc[8];
    if (c == '"' || c == '\\')
        snprintf(esc, sizeof(esc), "\\%c", c);
    else if (cp >= 8 && cp <= 13 && named[cp - 8] != '\0')
        snprintf(esc, sizeof(esc), "\\%c", named[cp - 8]);
    else
        snprintf(esc, sizeof(esc), "\\u%04X", cp);
    put(buf, cap, o, esc, strlen(esc));
}

static void print_into(const gql_value_t *v, char *buf, size_t cap, size_t *o)
{
    switch (v->kind) {
    case GQL_V_VAR:
        put(buf, cap, o, "$", 1);
        put(buf, cap, o, v->str, v->len);
        break;
    case GQL_V_STRING:
        put(buf, cap, o, "\"", 1);
        for (size_t i = 0; i < v->len; i++) /* graphql-js printString's escapes */
            put_char(buf, cap, o, v->str, v->len, &i);
        put(buf, cap, o, "\"", 1);
        break;
    case GQL_V_BOOL:
        put(buf, cap, o, v->boolean ? "true" : "false", v->boolean ? 4 : 5);
        break;
    case GQL_V_NULL:
        put(buf, cap, o, "null", 4);
        break;
    case GQL_V_LIST:
    case GQL_V_OBJECT:
        put(buf, cap, o, v->kind == GQL_V_LIST ? "[" : "{", 1);
        for (const gql_value_t *i = v->items; i; i = i->next) {
            if (i != v->items) put(buf, cap, o, ", ", 2);
            if (i->key) {
                put(buf, cap, o, i->key, strlen(i->key));
                put(buf, cap, o, ": ", 2);
            }
            print_into(i, buf, cap, o);
        }
        put(buf, cap, o, v->kind == GQL_V_LIST ? "]" : "}", 1);
        break;
    default:
        put(buf, cap, o, v->str, v->len);
    }
}

const char *gql_value_print(const gql_value_t *v, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    print_into(v, buf, cap, &o);
    return buf;
}

int gql_type_fits(const char *a, size_t alen, const char *b, size_t blen)
{
    if (blen && b[blen - 1] == '!') {
        if (!alen || a[alen - 1] != '!') return 0;
        return gql_type_fits(a, alen - 1, b, blen - 1);
    }
    if (alen && a[alen - 1] == '!') return gql_type_fits(a, alen - 1, b, blen);
    if (blen && b[0] == '[') {
        if (!alen || a[0] != '[') return 0;
        return gql_type_fits(a + 1, alen - 2, b + 1, blen - 2);
    }
    if (alen && a[0] == '[') return 0;
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* ---- values against their expected type (ValuesOfCorrectType, UniqueInputFieldNames) -------- */

static void check_value(vctx_t *c, const gql_value_t *v, const char *t, size_t tl, int def);

static void bad_value(vctx_t *c, const gql_value_t *v, const char *t, size_t tl)
{
    char shown[120];
    vl_err(c, v->loc, NOLOC, "Expected value of type \"%.*s\", found %s.", (int)tl, t,
           gql_value_print(v, shown, sizeof(shown)));
}

/* Variables inside a JSON literal: used, at no particular type. */
static void json_usages(vctx_t *c, const gql_value_t *v)
{
    if (v->kind == GQL_V_VAR) add_usage(c, v, NULL, 0, 1);
    for (const gql_value_t *i = v->items; i; i = i->next)
        json_usages(c, i);
}

static int is_uuid(const char *s, size_t n)
{
    static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (n == 32) { /* Qdrant also takes the simple form */
        for (size_t i = 0; i < n; i++)
            if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i]) return 0;
        return 1;
    }
    if (n != sizeof(form) - 1) return 0;
    for (size_t i = 0; i < n; i++)
        if (form[i] == '-' ? s[i] != '-' : !s[i] || !strchr("0123456789abcdefABCDEF", s[i]))
            return 0;
    return 1;
}

static int int32_literal(const gql_value_t *v)
{
    errno = 0;
    long long x = strtoll(v->str, NULL, 10);
    return errno == 0 && x >= -2147483648LL && x <= 2147483647LL;
}

static void check_input_object(vctx_t *c, const gql_value_t *v, const gql_type_def_t *td,
                               const char *t, size_t tl)
{
    if (v->kind != GQL_V_OBJECT) {
        bad_value(c, v, t, tl);
        return;
    }
    for (const gql_value_t *f = v->items; f; f = f->next) {
        for (const gql_value_t *g = v->items; g != f; g = g->next)
            if (strcmp(g->key, f->key) == 0) {
                vl_err(c, g->key_loc, f->key_loc, "There can be only one input field named \"%s\".",
                       f->key);
                break;
            }
        const gql_arg_def_t *a = gql_schema_arg(td->inputs, f->key);
        if (!a)
            vl_err(c, f->key_loc, NOLOC, "Field \"%s\" is not defined by type \"%s\".", f->key,
                   td->name);
        else
            check_value(c, f, a->type, strlen(a->type), a->def != NULL);
    }
    for (const gql_arg_def_t *a = td->inputs; a->name; a++) {
        const gql_value_t *f = v->items;
        while (f && strcmp(f->key, a->name) != 0)
            f = f->next;
        if (!f && a->type[strlen(a->type) - 1] == '!' && !a->def)
            vl_err(c, v->loc, NOLOC, "Field \"%s.%s\" of required type \"%s\" was not provided.",
                   td->name, a->name, a->type);
    }
}

static void check_named(vctx_t *c, const gql_value_t *v, const char *t, size_t tl)
{
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)tl, t);
    const gql_type_def_t *td = gql_schema_type(name);
    int ok = 1;
    if (!strcmp(name, "JSON")) {
        json_usages(c, v);
        return;
    }
    if (td && td->kind == GQL_K_INPUT) {
        check_input_object(c, v, td, t, tl);
        return;
    }
    const char *scalar_msg = NULL; /* graphql-js's own scalars say why (parseLiteral) */
    if (!strcmp(name, "Int")) {
        ok = v->kind == GQL_V_INT && int32_literal(v);
        scalar_msg = v->kind == GQL_V_INT ? "Int cannot represent non 32-bit signed integer value"
                                          : "Int cannot represent non-integer value";
    } else if (!strcmp(name, "Float")) {
        ok = v->kind == GQL_V_INT || v->kind == GQL_V_FLOAT;
        scalar_msg = "Float cannot represent non numeric value";
    } else if (!strcmp(name, "String")) {
        ok = v->kind == GQL_V_STRING;
        scalar_msg = "String cannot represent a non string value";
    } else if (!strcmp(name, "Boolean")) {
        ok = v->kind == GQL_V_BOOL;
        scalar_msg = "Boolean cannot represent a non boolean value";
    }
    if (!strcmp(name, "PointId"))
        ok = (v->kind == GQL_V_INT && v->str[0] != '-') ||
             (v->kind == GQL_V_STRING && is_uuid(v->str, v->len));
    else if (td && td->kind == GQL_K_ENUM) {
        ok = 0;
        for (const char *const *e = td->enums; v->kind == GQL_V_ENUM && *e; e++)
            ok |= strcmp(*e, v->str) == 0;
    }
    if (ok) return;
    if (scalar_msg) {
        char shown[120];
        vl_err(c, v->loc, NOLOC, "%s: %s", scalar_msg,
               v->kind == GQL_V_INT ? v->str : gql_value_print(v, shown, sizeof(shown)));
        return;
    }
    bad_value(c, v, t, tl);
}

static void check_value(vctx_t *c, const gql_value_t *v, const char *t, size_t tl, int def)
{
    if (v->kind == GQL_V_VAR) {
        add_usage(c, v, t, tl, def);
        return;
    }
    if (tl && t[tl - 1] == '!') {
        if (v->kind == GQL_V_NULL) {
            bad_value(c, v, t, tl);
            return;
        }
        tl--;
    }
    if (v->kind == GQL_V_NULL) return;
    if (tl && t[0] == '[') {
        if (v->kind != GQL_V_LIST) {
            check_value(c, v, t + 1, tl - 2, def);
            return;
        }
        for (const gql_value_t *i = v->items; i; i = i->next)
            check_value(c, i, t + 1, tl - 2, def);
        return;
    }
    check_named(c, v, t, tl);
}

/* ---- arguments and directives ---------------------------------------------------------------- */

static void check_args(vctx_t *c, const gql_arg_t *args, const gql_arg_def_t *defs,
                       const char *owner_kind, const char *owner, gql_loc_t at)
{
    for (const gql_arg_t *a = args; a; a = a->next) {
        for (const gql_arg_t *b = args; b != a; b = b->next)
            if (strcmp(a->name, b->name) == 0) {
                vl_err(c, b->loc, a->loc, "There can be only one argument named \"%s\".", a->name);
                break;
            }
        const gql_arg_def_t *d = gql_schema_arg(defs, a->name);
        if (!d) {
            vl_err(c, a->loc, NOLOC, "Unknown argument \"%s\" on %s \"%s\".", a->name, owner_kind,
                   owner);
            continue;
        }
        check_value(c, a->value, d->type, strlen(d->type), d->def != NULL);
    }
    for (const gql_arg_def_t *d = defs; d && d->name; d++) {
        const gql_arg_t *a = args;
        while (a && strcmp(a->name, d->name) != 0)
            a = a->next;
        if (!a && d->type[strlen(d->type) - 1] == '!' && !d->def) {
            if (owner_kind[0] == 'd')
                vl_err(c, at, NOLOC,
                       "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, but it was "
                       "not provided.",
                       owner + 1, d->name, d->type);
            else
                vl_err(c, at, NOLOC,
                       "Field \"%s\" argument \"%s\" of type \"%s\" is required, but it was not "
                       "provided.",
                       strchr(owner, '.') + 1, d->name, d->type);
        }
    }
}

static void check_directives(vctx_t *c, const gql_dir_t *dirs, const char *location)
{
    for (const gql_dir_t *d = dirs; d; d = d->next) {
        const gql_dir_def_t *def = gql_schema_directive(d->name);
        char owner[80];
        if (!def) {
            vl_err(c, d->loc, NOLOC, "Unknown directive \"@%s\".", d->name);
            continue;
        }
        int allowed = 0;
        for (const char *const *l = def->locations; *l; l++)
            allowed |= strcmp(*l, location) == 0;
        if (!allowed)
            vl_err(c, d->loc, NOLOC, "Directive \"@%s\" may not be used on %s.", d->name, location);
        for (const gql_dir_t *e = dirs; e != d; e = e->next)
            if (strcmp(e->name, d->name) == 0) {
                vl_err(c, e->loc, d->loc,
                       "The directive \"@%s\" can only be used once at this location.", d->name);
                break;
            }
        snprintf(owner, sizeof(owner), "@%s", d->name);
        check_args(c, d->args, def->args, "directive", owner, d->loc);
    }
}

/* ---- selections ------------------------------------------------------------------------------ */

const gql_frag_t *vl_find_frag(const vctx_t *c, const char *name, size_t *idx)
{
    size_t i = 0;
    for (const gql_frag_t *f = c->doc->frags; f; f = f->next, i++)
        if (strcmp(f->name, name) == 0) {
            if (idx) *idx = i;
            return f;
        }
    return NULL;
}

static void check_selset(vctx_t *c, const gql_sel_t *sels, const gql_type_def_t *t);

static void check_field(vctx_t *c, const gql_sel_t *s, const gql_type_def_t *t)
{
    const gql_field_def_t *f = gql_schema_field(t, s->name);
    char owner[160];
    if (s->alias) c->aliases++;
    check_directives(c, s->dirs, "FIELD");
    if (!f) {
        vl_err(c, s->loc, NOLOC, "Cannot query field \"%s\" on type \"%s\".", s->name, t->name);
        return;
    }
    snprintf(owner, sizeof(owner), "%s.%s", t->name, f->name);
    check_args(c, s->args, f->args, "field", owner, s->loc);
    const char *name;
    size_t n = gql_type_named(f->type, &name);
    char tn[64];
    snprintf(tn, sizeof(tn), "%.*s", (int)n, name);
    const gql_type_def_t *ft = gql_schema_type(tn);
    if (ft && ft->kind == GQL_K_OBJECT) {
        if (!s->has_sel)
            vl_err(c, s->loc, NOLOC,
                   "Field \"%s\" of type \"%s\" must have a selection of subfields. Did you mean "
                   "\"%s { ... }\"?",
                   s->name, f->type, s->name);
        else {
            check_selset(c, s->sel, ft);
            vl_check_overlap(c, s->sel, ft);
        }
    } else if (s->has_sel) {
        vl_err(c, s->sel_loc, NOLOC,
               "Field \"%s\" must not have a selection since type \"%s\" has no subfields.",
               s->name, f->type);
    }
}

static void check_spread(vctx_t *c, const gql_sel_t *s, const gql_type_def_t *t)
{
    owner_t *o = c->cur;
    check_directives(c, s->dirs, "FRAGMENT_SPREAD");
    const gql_frag_t *f = vl_find_frag(c, s->name, NULL);
    if (!f) {
        vl_err(c, s->name_loc, NOLOC, "Unknown fragment \"%s\".", s->name);
        return;
    }
    if (vl_grow((void **)&o->spreads, &o->cs, o->ns, sizeof(*o->spreads)) == 0)
        o->spreads[o->ns++] = s;
    const gql_type_def_t *ft = gql_schema_type(f->type_cond);
    if (ft && ft->kind == GQL_K_OBJECT && ft != t)
        vl_err(c, s->loc, NOLOC,
               "Fragment \"%s\" cannot be spread here as objects of type \"%s\" can never be of "
               "type \"%s\".",
               s->name, t->name, ft->name);
}

static void check_inline(vctx_t *c, const gql_sel_t *s, const gql_type_def_t *t)
{
    const gql_type_def_t *ft = t;
    check_directives(c, s->dirs, "INLINE_FRAGMENT");
    if (s->type_cond) {
        ft = gql_schema_type(s->type_cond);
        if (!ft) {
            vl_err(c, s->type_loc, NOLOC, "Unknown type \"%s\".", s->type_cond);
            return;
        }
        if (ft->kind != GQL_K_OBJECT) {
            vl_err(c, s->type_loc, NOLOC, "Fragment cannot condition on non composite type \"%s\".",
                   ft->name);
            return;
        }
        if (ft != t)
            vl_err(c, s->loc, NOLOC,
                   "Fragment cannot be spread here as objects of type \"%s\" can never be of type "
                   "\"%s\".",
                   t->name, ft->name);
    }
    check_selset(c, s->sel, ft);
}

static void check_selset(vctx_t *c, const gql_sel_t *sels, const gql_type_def_t *t)
{
    for (const gql_sel_t *s = sels; s && !c->full; s = s->next) {
        if (s->kind == GQL_SEL_FIELD)
            check_field(c, s, t);
        else if (s->kind == GQL_SEL_SPREAD)
            check_spread(c, s, t);
        else
            check_inline(c, s, t);
    }
}

/* ---- definitions ----------------------------------------------------------------------------- */

static const char *op_location(gql_opkind_t k)
{
    return k == GQL_QUERY ? "QUERY" : k == GQL_MUTATION ? "MUTATION" : "SUBSCRIPTION";
}

static void check_vardefs(vctx_t *c, const gql_op_t *op)
{
    for (const gql_var_t *v = op->vars; v; v = v->next) {
        for (const gql_var_t *w = op->vars; w != v; w = w->next)
            if (strcmp(w->name, v->name) == 0) {
                vl_err(c, w->name_loc, v->name_loc, "There can be only one variable named \"$%s\".",
                       v->name);
                break;
            }
        check_directives(c, v->dirs, "VARIABLE_DEFINITION");
        const gql_type_def_t *t = gql_schema_type(v->type_name);
        if (!t) {
            vl_err(c, v->type_loc, NOLOC, "Unknown type \"%s\".", v->type_name);
            continue;
        }
        if (t->kind == GQL_K_OBJECT) {
            vl_err(c, v->type_loc, NOLOC, "Variable \"$%s\" cannot be non-input type \"%s\".",
                   v->name, v->type);
            continue;
        }
        if (v->def) check_value(c, v->def, v->type, strlen(v->type), 0);
    }
}

static void check_operations(vctx_t *c)
{
    size_t i = 0;
    for (const gql_op_t *op = c->doc->ops; op && !c->full; op = op->next, i++) {
        for (const gql_op_t *o = c->doc->ops; op->name && o != op; o = o->next)
            if (o->name && strcmp(o->name, op->name) == 0) {
                vl_err(c, o->name_loc, op->name_loc,
                       "There can be only one operation named \"%s\".", op->name);
                break;
            }
        if (!op->name && c->nops > 1)
            vl_err(c, op->loc, NOLOC,
                   "This anonymous operation must be the only defined operation.");
        c->cur = &c->ops[i];
        check_directives(c, op->dirs, op_location(op->kind));
        check_vardefs(c, op);
        if (op->kind == GQL_SUBSCRIPTION) {
            vl_err(c, op->loc, NOLOC,
                   "Schema is not configured to execute subscription operation.");
            continue;
        }
        const gql_type_def_t *root = gql_schema_root(op->kind == GQL_MUTATION);
        check_selset(c, op->sel, root);
        vl_check_overlap(c, op->sel, root);
    }
}

static void check_fragments(vctx_t *c)
{
    size_t i = 0;
    for (const gql_frag_t *f = c->doc->frags; f && !c->full; f = f->next, i++) {
        for (const gql_frag_t *g = c->doc->frags; g != f; g = g->next)
            if (strcmp(g->name, f->name) == 0) {
                vl_err(c, g->name_loc, f->name_loc, "There can be only one fragment named \"%s\".",
                       f->name);
                break;
            }
        c->cur = &c->frags[i];
        check_directives(c, f->dirs, "FRAGMENT_DEFINITION");
        const gql_type_def_t *t = gql_schema_type(f->type_cond);
        if (!t) {
            vl_err(c, f->type_loc, NOLOC, "Unknown type \"%s\".", f->type_cond);
            continue;
        }
        if (t->kind != GQL_K_OBJECT) {
            vl_err(c, f->type_loc, NOLOC,
                   "Fragment \"%s\" cannot condition on non composite type \"%s\".", f->name,
                   t->name);
            continue;
        }
        check_selset(c, f->sel, t);
        vl_check_overlap(c, f->sel, t);
    }
}

/* NoFragmentCycles: depth-first over spreads, a spread of a fragment on the path is a cycle. */
static void find_cycles(vctx_t *c, size_t fi)
{
    owner_t *o = &c->frags[fi];
    o->state = 1;
    for (size_t k = 0; k < o->ns && !c->full; k++) {
        size_t j;
        if (!vl_find_frag(c, o->spreads[k]->name, &j)) continue;
        if (c->frags[j].state == 1)
            vl_err(c, o->spreads[k]->loc, NOLOC, "Cannot spread fragment \"%s\" within itself.",
                   o->spreads[k]->name);
        else if (c->frags[j].state == 0)
            find_cycles(c, j);
    }
    o->state = 2;
}

/* Marks the fragments reachable from o in seen[]. */
static void reach(vctx_t *c, const owner_t *o, char *seen)
{
    for (size_t k = 0; k < o->ns; k++) {
        size_t j;
        if (vl_find_frag(c, o->spreads[k]->name, &j) && !seen[j]) {
            seen[j] = 1;
            reach(c, &c->frags[j], seen);
        }
    }
}

/* ---- variables across fragments -------------------------------------------------------------- */

static const gql_var_t *find_var(const gql_op_t *op, const char *name)
{
    for (const gql_var_t *v = op->vars; v; v = v->next)
        if (strcmp(v->name, name) == 0) return v;
    return NULL;
}

/* NoUndefinedVariables and VariablesInAllowedPosition for one usage; marks the variable used. */
static void check_usage(vctx_t *c, const gql_op_t *op, const usage_t *u, char *used)
{
    const gql_var_t *v = find_var(op, u->name);
    if (!v) {
        if (op->name)
            vl_err(c, u->loc, op->loc, "Variable \"$%s\" is not defined by operation \"%s\".",
                   u->name, op->name);
        else
            vl_err(c, u->loc, op->loc, "Variable \"$%s\" is not defined.", u->name);
        return;
    }
    size_t vi = 0;
    for (const gql_var_t *w = op->vars; w != v; w = w->next)
        vi++;
    used[vi] = 1;
    if (!u->type || !gql_schema_type(v->type_name)) return;
    size_t vl = strlen(v->type), tl = u->tlen;
    int loc_nonnull = tl && u->type[tl - 1] == '!', var_nonnull = vl && v->type[vl - 1] == '!';
    if (loc_nonnull && !var_nonnull && ((v->def && v->def->kind != GQL_V_NULL) || u->has_default))
        tl--; /* a default fills the gap */
    if (!gql_type_fits(v->type, vl, u->type, tl))
        vl_err(c, v->loc, u->loc,
               "Variable \"$%s\" of type \"%s\" used in position expecting type \"%.*s\".", v->name,
               v->type, (int)u->tlen, u->type);
}

static void check_variables(vctx_t *c, char *reached)
{
    char *seen = calloc(c->nfrags ? c->nfrags : 1, 1);
    size_t i = 0;
    for (const gql_op_t *op = c->doc->ops; seen && op && !c->full; op = op->next, i++) {
        size_t nv = 0;
        for (const gql_var_t *v = op->vars; v; v = v->next)
            nv++;
        char *used = calloc(nv ? nv : 1, 1);
        if (!used) break;
        memset(seen, 0, c->nfrags ? c->nfrags : 1);
        reach(c, &c->ops[i], seen);
        for (size_t k = 0; k < c->ops[i].nu; k++)
            check_usage(c, op, &c->ops[i].u[k], used);
        for (size_t j = 0; j < c->nfrags; j++) {
            reached[j] |= seen[j];
            for (size_t k = 0; seen[j] && k < c->frags[j].nu; k++)
                check_usage(c, op, &c->frags[j].u[k], used);
        }
        size_t vi = 0;
        for (const gql_var_t *v = op->vars; v; v = v->next, vi++) {
            if (used[vi]) continue;
            if (op->name)
                vl_err(c, v->loc, NOLOC, "Variable \"$%s\" is never used in operation \"%s\".",
                       v->name, op->name);
            else
                vl_err(c, v->loc, NOLOC, "Variable \"$%s\" is never used.", v->name);
        }
        free(used);
    }
    free(seen);
}

/* ---- limits ---------------------------------------------------------------------------------- */

/* Depth and number of fields of sels with fragments expanded (fragments memoised; a cycle,
 * reported already, counts as nothing). Fields saturate just past the limit. */
static void measure(vctx_t *c, const gql_sel_t *sels, unsigned *depth, unsigned *fields)
{
    unsigned max = c->lim.max_fields + 1;
    *depth = 0;
    *fields = 0;
    for (const gql_sel_t *s = sels; s; s = s->next) {
        unsigned d = 0, f = 0;
        if (s->kind == GQL_SEL_FIELD) {
            if (s->has_sel) measure(c, s->sel, &d, &f);
            d++;
            f++;
        } else if (s->kind == GQL_SEL_INLINE) {
            measure(c, s->sel, &d, &f);
        } else {
            size_t j;
            if (!vl_find_frag(c, s->name, &j)) continue;
            owner_t *o = &c->frags[j];
            if (!o->measured) {
                o->measured = 2; /* in progress: a cycle sees zero */
                measure(c, vl_find_frag(c, s->name, NULL)->sel, &o->depth, &o->fields);
                o->measured = 1;
            }
            if (o->measured == 1) d = o->depth, f = o->fields;
        }
        if (d > *depth) *depth = d;
        *fields = *fields + f > max ? max : *fields + f;
    }
}

static void check_limits(vctx_t *c)
{
    if (c->aliases > c->lim.max_aliases)
        vl_err(c, NOLOC, NOLOC, "Too many aliases: %u (limit: %u).", c->aliases,
               c->lim.max_aliases);
    for (const gql_op_t *op = c->doc->ops; op && !c->full; op = op->next) {
        unsigned depth, fields;
        measure(c, op->sel, &depth, &fields);
        if (depth > c->lim.max_depth)
            vl_err(c, op->loc, NOLOC, "Query is too deep: depth %u exceeds the limit of %u.", depth,
                   c->lim.max_depth);
        if (fields > c->lim.max_fields)
            vl_err(c, op->loc, NOLOC,
                   "Query is too large: more than %u fields with fragments expanded.",
                   c->lim.max_fields);
    }
}

size_t gql_validate(const gql_doc_t *d, const gql_limits_t *lim, gql_error_t *errs)
{
    vctx_t c = {.doc = d, .lim = gql_limits_resolve(lim), .errs = errs};
    for (const gql_op_t *op = d->ops; op; op = op->next)
        c.nops++;
    for (const gql_frag_t *f = d->frags; f; f = f->next)
        c.nfrags++;
    c.ops = calloc(c.nops ? c.nops : 1, sizeof(owner_t));
    c.frags = calloc(c.nfrags ? c.nfrags : 1, sizeof(owner_t));
    char *reached = calloc(c.nfrags ? c.nfrags : 1, 1);
    if (!c.ops || !c.frags || !reached) {
        vl_err(&c, NOLOC, NOLOC, "out of memory");
        goto out;
    }
    check_operations(&c);
    check_fragments(&c);
    for (size_t j = 0; j < c.nfrags && !c.full; j++)
        if (c.frags[j].state == 0) find_cycles(&c, j);
    check_variables(&c, reached);
    size_t j = 0;
    for (const gql_frag_t *f = d->frags; f && !c.full; f = f->next, j++)
        if (!reached[j]) vl_err(&c, f->loc, NOLOC, "Fragment \"%s\" is never used.", f->name);
    if (c.n == 0) check_limits(&c); /* fragments are sound: expanding them is safe */
out:
    for (size_t i = 0; c.ops && i < c.nops; i++)
        free(c.ops[i].u), free(c.ops[i].spreads);
    for (size_t i = 0; c.frags && i < c.nfrags; i++)
        free(c.frags[i].u), free(c.frags[i].spreads);
    free(c.ops);
    free(c.frags);
    free(reached);
    return c.n;
}
