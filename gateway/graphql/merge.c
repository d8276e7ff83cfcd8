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

/* Why fields a and b (same response key) cannot merge: 1 with the reason in why ("\"x\" and
 * \"y\" are different fields", "subfields \"k\" conflict because ...") and the locations of
 * each side (the field, then its sub-field's) in la / lb; 0 when they merge. */
typedef struct why {
    char text[GQL_MSG_MAX];
    gql_loc_t la[GQL_LOCS_MAX], lb[GQL_LOCS_MAX];
    unsigned na, nb;
} why_t;

static const gql_type_def_t *field_type(const cfield_t *f)
{
    const gql_field_def_t *d = gql_schema_field(f->parent, f->s->name);
    const char *nm;
    size_t n = d ? gql_type_named(d->type, &nm) : 0;
    char tn[64];
    snprintf(tn, sizeof(tn), "%.*s", (int)n, n ? nm : "");
    const gql_type_def_t *t = gql_schema_type(tn);
    return t && t->kind == GQL_K_OBJECT ? t : NULL;
}

static int pair_conflict(vctx_t *c, const cfield_t *a, const cfield_t *b, unsigned depth, why_t *w)
{
    w->la[0] = a->s->loc;
    w->lb[0] = b->s->loc;
    w->na = w->nb = 1;
    if (strcmp(a->s->name, b->s->name) != 0) {
        snprintf(w->text, sizeof(w->text), "\"%s\" and \"%s\" are different fields", a->s->name,
                 b->s->name);
        return 1;
    }
    if (!args_eq(a->s->args, b->s->args)) {
        snprintf(w->text, sizeof(w->text), "they have differing arguments");
        return 1;
    }
    const gql_type_def_t *t = field_type(a);
    if (!t || !a->s->has_sel || !b->s->has_sel || depth >= GQL_MAX_NESTING) return 0;
    clist_t sa = {.max = c->lim.max_fields}, sb = {.max = c->lim.max_fields};
    collect(c, a->s->sel, t, &sa, 0);
    collect(c, b->s->sel, t, &sb, 0);
    int found = 0;
    why_t sub;
    for (size_t i = 0; i < sa.n && !found; i++)
        for (size_t j = 0; j < sb.n && !found; j++) {
            if (strcmp(sa.v[i].key, sb.v[j].key) != 0) continue;
            if (!pair_conflict(c, &sa.v[i], &sb.v[j], depth + 1, &sub)) continue;
            found = 1;
            int n = snprintf(w->text, sizeof(w->text), "subfields \"%.60s\" conflict because ",
                             sa.v[i].key);
            if (n > 0 && (size_t)n < sizeof(w->text))
                snprintf(w->text + n, sizeof(w->text) - (size_t)n, "%.200s", sub.text);
            for (unsigned k = 0; k < sub.na && w->na < GQL_LOCS_MAX / 2; k++)
                w->la[w->na++] = sub.la[k];
            for (unsigned k = 0; k < sub.nb && w->nb < GQL_LOCS_MAX / 2; k++)
                w->lb[w->nb++] = sub.lb[k];
        }
    free(sa.v);
    free(sb.v);
    return found;
}

/* Every pair of l's fields with the same response key must merge. */
static void overlap(vctx_t *c, const clist_t *l)
{
    for (size_t i = 0; i < l->n && !c->full; i++)
        for (size_t j = i + 1; j < l->n && !c->full; j++) {
            why_t w;
            if (strcmp(l->v[i].key, l->v[j].key) != 0 ||
                !pair_conflict(c, &l->v[i], &l->v[j], 0, &w))
                continue;
            size_t at = c->n;
            vl_err(c, NOLOC, NOLOC,
                   "Fields \"%s\" conflict because %s. Use different aliases on the fields to "
                   "fetch both if this was intentional.",
                   l->v[i].key, w.text);
            if (c->full || c->n != at + 1) continue; /* the list filled up instead */
            gql_error_t *e = &c->errs[at];
            e->nlocs = 0;
            for (unsigned k = 0; k < w.na; k++)
                e->locs[e->nlocs++] = w.la[k];
            for (unsigned k = 0; k < w.nb; k++)
                e->locs[e->nlocs++] = w.lb[k];
        }
}

void vl_check_overlap(vctx_t *c, const gql_sel_t *sels, const gql_type_def_t *t)
{
    clist_t l = {.max = c->lim.max_fields};
    collect(c, sels, t, &l, 0);
    overlap(c, &l);
    free(l.v);
}
