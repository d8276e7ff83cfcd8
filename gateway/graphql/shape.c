/* Result shaping (spec 6.4.3 CompleteValue): a resolved source value (JSON whose object keys are
 * the schema's field names) cut down to what the selection sets ask, in their order, under
 * their response keys, with __typename, and null propagated from non-null positions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/graphql/exec_int.h"

static json_t *path_with(json_t *path, json_t *seg)
{
    json_t *p = json_copy(path);
    json_array_append_new(p, seg);
    return p;
}

static void null_error(const gql_sel_t *node, const char *parent, json_t *path, json_t *errs)
{
    char msg[GQL_MSG_MAX];
    snprintf(msg, sizeof(msg), "Cannot return null for non-nullable field %s.%s.", parent,
             node->name);
    json_array_append_new(errs, gql_error_json(msg, &node->loc, 1, json_copy(path), NULL));
}

static json_t *complete_object(const gql_exec_t *ex, const gql_type_def_t *t, json_t *src,
                               const gql_sel_t *const *nodes, size_t nnodes, json_t *path,
                               json_t *errs)
{
    gql_groups_t g = {0};
    for (size_t i = 0; i < nnodes; i++)
        if (nodes[i]->has_sel && gql_collect(ex->doc, ex->vars, t, nodes[i]->sel, &g) != 0) {
            gql_groups_free(&g);
            return NULL;
        }
    json_t *o = json_object();
    int failed = 0;
    for (size_t i = 0; o && i < g.n && !failed; i++) {
        const gql_sel_t *n0 = g.v[i].nodes[0];
        json_t *v;
        if (!strcmp(n0->name, "__typename")) {
            v = json_string(t->name);
        } else {
            const gql_field_def_t *f = gql_schema_field(t, n0->name);
            json_t *fpath = path_with(path, json_string(g.v[i].key));
            v = f ? ex_complete(ex, f->type, strlen(f->type), json_object_get(src, f->name),
                                g.v[i].nodes, g.v[i].n, t->name, fpath, errs)
                  : json_null();
            json_decref(fpath);
            if (!v) failed = 1; /* a non-null field is null: so is this object */
        }
        if (v) json_object_set_new(o, g.v[i].key, v);
    }
    gql_groups_free(&g);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ex_complete(const gql_exec_t *ex, const char *type, size_t tl, json_t *src,
                    const gql_sel_t *const *nodes, size_t nnodes, const char *parent, json_t *path,
                    json_t *errs)
{
    if (tl && type[tl - 1] == '!') {
        json_t *v = src && !json_is_null(src)
                        ? ex_complete(ex, type, tl - 1, src, nodes, nnodes, parent, path, errs)
                        : NULL;
        if (v && json_is_null(v)) {
            json_decref(v);
            v = NULL;
        }
        if (!v && (!src || json_is_null(src))) null_error(nodes[0], parent, path, errs);
        return v;
    }
    if (!src || json_is_null(src)) return json_null();
    if (type[0] == '[') {
        if (!json_is_array(src)) return json_null();
        json_t *a = json_array();
        for (size_t i = 0; a && i < json_array_size(src); i++) {
            json_t *ipath = path_with(path, json_integer((json_int_t)i));
            json_t *v = ex_complete(ex, type + 1, tl - 2, json_array_get(src, i), nodes, nnodes,
                                    parent, ipath, errs);
            json_decref(ipath);
            if (!v) { /* an item that must not be null is: the list is null */
                json_decref(a);
                return json_null();
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)tl, type);
    const gql_type_def_t *t = gql_schema_type(name);
    if (t && t->kind == GQL_K_OBJECT) {
        json_t *o = complete_object(ex, t, src, nodes, nnodes, path, errs);
        return o ? o : json_null();
    }
    return json_incref(src); /* scalars and enums: as the source has them */
}
