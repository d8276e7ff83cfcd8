/* OverlappingFieldsCanBeMerged (spec 5.3.2): fields that share a response key, fragments
 * flattened, must be the same field with the same arguments, and their sub-fields must merge. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "gateway/graphql/validate.h"
#include "gateway/graphql/validate_int.h"

/* ---- OverlappingFieldsCanBeMerged ------------------------------------------------------------ */

typedef struct cfield {
    const char *key;
    const gql_sel_t *s;
    const gql_type_def_t *parent;
} cfield_t;

typedef struct clist {
    cfield_t *v;
    size_t n, cap;
    unsigned max;
} clist_t;

/* Fields of sels with fragments flattened (bounded: a fragment bomb stops at max). */
static void collect(const vctx_t *c, const gql_sel_t *sels, const gql_type_def_t *t, clist_t *l,
                    unsigned depth)
{
    for (const gql_sel_t *s = sels; s && l->n < l->max && depth < GQL_MAX_NESTING; s = s->next) {
        if (s->kind == GQL_SEL_FIELD) {
            if (vl_grow((void **)&l->v, &l->cap, l->n, sizeof(cfield_t)) != 0) return;
            l->v[l->n++] = (cfield_t){s->alias ? s->alias : s->name, s, t};
        } else if (s->kind == GQL_SEL_INLINE) {
            const gql_type_def_t *ft = s->type_cond ? gql_schema_type(s->type_cond) : t;
            if (ft == t) collect(c, s->sel, t, l, depth + 1);
        } else {
            const gql_frag_t *f = vl_find_frag(c, s->name, NULL);
            if (f && gql_schema_type(f->type_cond) == t) collect(c, f->sel, t, l, depth + 1);
        }
    }
}

static int value_eq(const gql_value_t *a, const gql_value_t *b)
{
    if (a->kind != b->kind || a->boolean != b->boolean || a->len != b->len) return 0;
    if (a->str && memcmp(a->str, b->str, a->len) != 0) return 0;
    if ((a->key == NULL) != (b->key == NULL) || (a->key && strcmp(a->key, b->key))) return 0;
    const gql_value_t *x = a->items, *y = b->items;
    for (; x && y; x = x->next, y = y->next)
        if (!value_eq(x, y)) return 0;
    return x == NULL && y == NULL;
}

static int args_eq(const gql_arg_t *a, const gql_arg_t *b)
{
    size_t na = 0, nb = 0;
    for (const gql_arg_t *x = a; x; x = x->next, na++) {
        const gql_arg_t *y = b;
        while (y && strcmp(x->name, y->name) != 0)
            y = y->next;
        if (!y || !value_eq(x->value, y->value)) return 0;
    }
    for (const gql_arg_t *y = b; y; y = y->next)
        nb++;
    return na == nb;
}

static void overlap(vctx_t *c, clist_t *l, unsigned depth);

/* Same response key twice: the same field with the same arguments, and sub-fields that merge. */
static void overlap_group(vctx_t *c, clist_t *l, size_t i, unsigned depth)
{
    const cfield_t *a = &l->v[i];
    clist_t sub = {.max = c->lim.max_fields};
    int any = 0;
    for (size_t j = i + 1; j < l->n; j++) {
        const cfield_t *b = &l->v[j];
        if (strcmp(a->key, b->key) != 0) continue;
        if (strcmp(a->s->name, b->s->name) != 0)
            vl_err(c, a->s->loc, b->s->loc,
                   "Fields \"%s\" conflict because \"%s\" and \"%s\" are different fields. Use "
                   "different aliases on the fields to fetch both if this was intentional.",
                   a->key, a->s->name, b->s->name);
        else if (!args_eq(a->s->args, b->s->args))
            vl_err(c, a->s->loc, b->s->loc,
                   "Fields \"%s\" conflict because they have differing arguments. Use different "
                   "aliases on the fields to fetch both if this was intentional.",
                   a->key);
        else if (b->s->has_sel) {
            const gql_field_def_t *f = gql_schema_field(b->parent, b->s->name);
            const char *nm;
            size_t n = f ? gql_type_named(f->type, &nm) : 0;
            char tn[64];
            snprintf(tn, sizeof(tn), "%.*s", (int)n, n ? nm : "");
            const gql_type_def_t *ft = gql_schema_type(tn);
            if (ft && ft->kind == GQL_K_OBJECT) {
                if (!any && a->s->has_sel) collect(c, a->s->sel, ft, &sub, 0);
                collect(c, b->s->sel, ft, &sub, 0);
                any = 1;
            }
        }
    }
    if (any) overlap(c, &sub, depth + 1);
    free(sub.v);
}

static void overlap(vctx_t *c, clist_t *l, unsigned depth)
{
    if (depth > GQL_MAX_NESTING) return;
    for (size_t i = 0; i < l->n && !c->full; i++) {
        size_t k;
        for (k = 0; k < i; k++)
            if (strcmp(l->v[k].key, l->v[i].key) == 0) break;
        if (k == i) overlap_group(c, l, i, depth); /* first of its key */
    }
}

void vl_check_overlap(vctx_t *c, const gql_sel_t *sels, const gql_type_def_t *t)
{
    clist_t l = {.max = c->lim.max_fields};
    collect(c, sels, t, &l, 0);
    overlap(c, &l, 0);
    free(l.v);
}
