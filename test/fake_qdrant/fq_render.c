/* Output shapes of fake_qdrant: serialises points as Qdrant's Record / ScoredPoint (optional
 * fields skipped when None) and applies with_payload / with_vector selectors. */
#include "fq_render.h"

#include <string.h>

static int all_strings(const json_t *a)
{
    if (!json_is_array(a))
        return 0;
    for (size_t k = 0; k < json_array_size(a); k++) {
        if (!json_is_string(json_array_get(a, k)))
            return 0;
    }
    return 1;
}

int fq_check_with_payload(fq_rq_t *rq, const json_t *v)
{
    if (!v || json_is_null(v) || json_is_boolean(v) || all_strings(v))
        return 0;
    if (json_is_object(v)) {
        const json_t *inc = json_object_get(v, "include"), *exc = json_object_get(v, "exclude");
        if ((inc && all_strings(inc)) || (exc && all_strings(exc)))
            return 0;
    }
    return fq_fmt_error(rq, v, "data did not match any variant of untagged enum "
                               "WithPayloadInterface");
}

int fq_check_with_vector(fq_rq_t *rq, const json_t *v)
{
    if (!v || json_is_null(v) || json_is_boolean(v) || all_strings(v))
        return 0;
    return fq_fmt_error(rq, v, "data did not match any variant of untagged enum WithVector");
}

/* Copies the value at a dotted path of src into dst, creating the enclosing objects. */
static void include_path(json_t *dst, const json_t *src, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot) {
        json_t *v = json_object_get(src, path);
        if (v)
            json_object_set_new(dst, path, json_deep_copy(v));
        return;
    }
    char key[256];
    size_t kl = (size_t)(dot - path) < sizeof(key) - 1 ? (size_t)(dot - path) : sizeof(key) - 1;
    memcpy(key, path, kl);
    key[kl] = '\0';
    json_t *sub = json_object_get(src, key);
    if (!json_is_object(sub))
        return;
    json_t *d = json_object_get(dst, key);
    if (!json_is_object(d)) {
        d = json_object();
        json_object_set_new(dst, key, d);
    }
    include_path(d, sub, dot + 1);
}

static void exclude_path(json_t *obj, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot) {
        json_object_del(obj, path);
        return;
    }
    char key[256];
    size_t kl = (size_t)(dot - path) < sizeof(key) - 1 ? (size_t)(dot - path) : sizeof(key) - 1;
    memcpy(key, path, kl);
    key[kl] = '\0';
    json_t *sub = json_object_get(obj, key);
    if (json_is_object(sub))
        exclude_path(sub, dot + 1);
}

json_t *fq_render_payload(const json_t *payload, const json_t *wp, int dflt)
{
    if (!wp || json_is_null(wp))
        return dflt ? json_deep_copy(payload) : NULL;
    if (json_is_boolean(wp))
        return json_is_true(wp) ? json_deep_copy(payload) : NULL;
    const json_t *inc = json_is_array(wp) ? wp : json_object_get(wp, "include");
    if (inc) {
        json_t *out = json_object();
        for (size_t k = 0; k < json_array_size(inc); k++)
            include_path(out, payload, json_string_value(json_array_get(inc, k)));
        return out;
    }
    json_t *out = json_deep_copy(payload);
    const json_t *exc = json_object_get(wp, "exclude");
    for (size_t k = 0; k < json_array_size(exc); k++)
        exclude_path(out, json_string_value(json_array_get(exc, k)));
    return out;
}

json_t *fq_render_floats(const float *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t k = 0; k < n; k++)
        json_array_append_new(a, fq_json_f32(v[k]));
    return a;
}

static int wanted(const json_t *wv, const char *name)
{
    if (json_is_boolean(wv))
        return json_is_true(wv);
    for (size_t k = 0; k < json_array_size(wv); k++) {
        if (strcmp(json_string_value(json_array_get(wv, k)), name) == 0)
            return 1;
    }
    return 0;
}

json_t *fq_render_vector(const fq_collection_t *c, const fq_point_t *p, const json_t *wv, int dflt)
{
    if (!wv || json_is_null(wv))
        wv = dflt ? json_true() : json_false();
    if (json_is_false(wv))
        return NULL;
    if (!c->named && json_is_true(wv)) {
        if (c->nvp == 1 && p->vec[0])
            return fq_render_floats(p->vec[0], c->vp[0].size);
        return json_object();
    }
    json_t *out = json_object();
    for (size_t k = 0; k < c->nvp; k++) {
        if (p->vec[k] && wanted(wv, c->vp[k].name))
            json_object_set_new(out, c->vp[k].name, fq_render_floats(p->vec[k], c->vp[k].size));
    }
    return out;
}

json_t *fq_render_record(const fq_collection_t *c, const fq_point_t *p, const json_t *wp,
                         const json_t *wv, int wp_dflt, int wv_dflt)
{
    json_t *r = json_object();
    json_object_set_new(r, "id", fq_pid_to_json(&p->id));
    json_t *pl = fq_render_payload(p->payload, wp, wp_dflt);
    if (pl)
        json_object_set_new(r, "payload", pl);
    json_t *vec = fq_render_vector(c, p, wv, wv_dflt);
    if (vec)
        json_object_set_new(r, "vector", vec);
    return r;
}

json_t *fq_render_scored(const fq_collection_t *c, const fq_hit_t *h, const json_t *wp,
                         const json_t *wv)
{
    json_t *r = json_object();
    json_object_set_new(r, "id", fq_pid_to_json(&h->p->id));
    json_object_set_new(r, "version", json_integer((json_int_t)h->p->version));
    json_object_set_new(r, "score", fq_json_f32(h->score));
    json_t *pl = fq_render_payload(h->p->payload, wp, 0);
    if (pl)
        json_object_set_new(r, "payload", pl);
    json_t *vec = fq_render_vector(c, h->p, wv, 0);
    if (vec)
        json_object_set_new(r, "vector", vec);
    if (h->has_order)
        json_object_set_new(r, "order_value", h->order_is_int
                                                  ? json_integer((json_int_t)h->order_value)
                                                  : fq_json_f64(h->order_value));
    return r;
}

json_t *fq_render_hits(const fq_collection_t *c, const fq_hit_t *h, size_t n, const json_t *wp,
                       const json_t *wv)
{
    json_t *a = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(a, fq_render_scored(c, &h[k], wp, wv));
    return a;
}

json_t *fq_render_update(uint64_t op, int wait)
{
    return json_pack("{s:I,s:s}", "operation_id", (json_int_t)op, "status",
                     wait ? "completed" : "acknowledged");
}
