/* Typed access to request bodies and query strings for fake_qdrant, failing the way serde and
 * actix do ("invalid type: string \"x\", expected usize at line 1 column 9"). */

#include "fq_app.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fq_fmt_error(fq_rq_t *rq, const json_t *at, const char *fmt, ...)
{
    char msg[2048], where[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (rq->untagged_msg) {
        snprintf(msg, sizeof(msg), "%s", rq->untagged_msg);
        at = rq->untagged_node;
    } else if (rq->untagged_name) {
        snprintf(msg, sizeof(msg), "data did not match any variant of untagged enum %s",
                 rq->untagged_name);
        at = rq->untagged_node;
    }
    fq_jdoc_where(rq->doc, at, where, sizeof(where));
    fq_fail0(rq, 400, "Format error in JSON body: %s%s", msg, where);
    return -1;
}

int fq_validation_error(fq_rq_t *rq, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fq_fail0(rq, 422, "Validation error in JSON body: [%s]", msg);
    return -1;
}

static const json_t *err_pos(const fq_pctx_t *pc, const json_t *v)
{
    return pc->at_value ? v : pc->pos;
}

void fq_describe_unexpected(const json_t *v, char *buf, size_t len)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING: snprintf(buf, len, "string \"%s\"", json_string_value(v)); break;
    case JSON_INTEGER:
        snprintf(buf, len, "integer `%" JSON_INTEGER_FORMAT "`", json_integer_value(v));
        break;
    case JSON_REAL:
        fq_fmt_f64(json_real_value(v), num, sizeof(num));
        snprintf(buf, len, "floating point `%s`", num);
        break;
    case JSON_TRUE: snprintf(buf, len, "boolean `true`"); break;
    case JSON_FALSE: snprintf(buf, len, "boolean `false`"); break;
    case JSON_NULL: snprintf(buf, len, "null"); break;
    case JSON_ARRAY: snprintf(buf, len, "sequence"); break;
    case JSON_OBJECT: snprintf(buf, len, "map"); break;
    }
}

int fq_type_error(fq_pctx_t *pc, const json_t *v, const char *expected)
{
    char un[512];
    fq_describe_unexpected(v, un, sizeof(un));
    return fq_fmt_error(pc->rq, err_pos(pc, v), "invalid type: %s, expected %s", un, expected);
}

int fq_missing(fq_pctx_t *pc, const json_t *obj, const char *field)
{
    return fq_fmt_error(pc->rq, err_pos(pc, obj), "missing field `%s`", field);
}

static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

int fq_get_uint(fq_pctx_t *pc, const json_t *obj, const char *key, const char *ty, uint64_t *out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 1;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_integer(v))
        return fq_fmt_error(pc->rq, err_pos(pc, v),
                            "invalid value: integer `%" JSON_INTEGER_FORMAT "`, expected %s",
                            json_integer_value(v), ty);
    return fq_type_error(pc, v, ty);
}

int fq_get_bool(fq_pctx_t *pc, const json_t *obj, const char *key, int *out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 1;
    if (!json_is_boolean(v))
        return fq_type_error(pc, v, "a boolean");
    *out = json_is_true(v);
    return 0;
}

int fq_get_float(fq_pctx_t *pc, const json_t *obj, const char *key, double *out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 1;
    if (!json_is_number(v))
        return fq_type_error(pc, v, "f32");
    *out = json_number_value(v);
    return 0;
}

int fq_get_str(fq_pctx_t *pc, const json_t *obj, const char *key, const char **out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 1;
    if (!json_is_string(v))
        return fq_type_error(pc, v, "a string");
    *out = json_string_value(v);
    return 0;
}

int fq_get_array(fq_pctx_t *pc, const json_t *obj, const char *key, json_t **out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 1;
    if (!json_is_array(v))
        return fq_type_error(pc, v, "a sequence");
    *out = (json_t *)v;
    return 0;
}

int fq_get_object(fq_pctx_t *pc, const json_t *obj, const char *key, json_t **out)
{
    const json_t *v = field(obj, key);
    if (!v)
        return 1;
    if (!json_is_object(v))
        return fq_type_error(pc, v, "a map");
    *out = (json_t *)v;
    return 0;
}

/* Qdrant's SerdeValue display: strings unquoted, null as "Unit". */
static void serde_value_text(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
    } else if (json_is_null(v)) {
        snprintf(buf, len, "Unit");
    } else {
        char *s = fq_json_dumps(v, NULL);
        snprintf(buf, len, "%s", s ? s : "?");
        free(s);
    }
}

int fq_parse_pid(fq_pctx_t *pc, const json_t *v, fq_pid_t *out)
{
    if (fq_pid_from_json(v, out) == 0)
        return 0;
    char txt[512];
    serde_value_text(v, txt, sizeof(txt));
    return fq_fmt_error(pc->rq, err_pos(pc, v),
                        "value %s is not a valid point ID, valid values are either an unsigned "
                        "integer or a UUID",
                        txt);
}

int fq_parse_floats(fq_pctx_t *pc, const json_t *v, float **out, size_t *n)
{
    if (!json_is_array(v))
        return fq_type_error(pc, v, "a sequence");
    size_t len = json_array_size(v);
    float *f = malloc((len ? len : 1) * sizeof(float));
    if (!f)
        return fq_fmt_error(pc->rq, NULL, "out of memory");
    for (size_t k = 0; k < len; k++) {
        const json_t *e = json_array_get(v, k);
        if (!json_is_number(e)) {
            free(f);
            return fq_type_error(pc, e, "f32");
        }
        f[k] = (float)json_number_value(e);
    }
    *out = f;
    *n = len;
    return 0;
}

int fq_body_object(fq_rq_t *rq, const char *struct_name)
{
    if (json_is_object(rq->body))
        return 0;
    char un[512];
    fq_describe_unexpected(rq->body, un, sizeof(un));
    return fq_fmt_error(rq, NULL, "invalid type: %s, expected struct %s", un, struct_name);
}

/* ---- query string ---------------------------------------------------------------------- */

static void pct_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

char *fq_query_param(const fq_rq_t *rq, const char *name)
{
    const char *q = rq->http->query;
    size_t nl = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        char *pair = strndup(q, len);
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        pct_decode(pair);
        if (strlen(pair) == nl && strcmp(pair, name) == 0) {
            char *val = strdup(eq ? eq + 1 : "");
            free(pair);
            pct_decode(val);
            return val;
        }
        free(pair);
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int check_enum(fq_rq_t *rq, const char *name, const char *const *allowed,
                      const char *expected_list)
{
    char *v = fq_query_param(rq, name);
    if (!v || !*v) {
        free(v);
        return 0;
    }
    int ok = 0;
    for (size_t k = 0; allowed[k]; k++)
        ok |= strcmp(v, allowed[k]) == 0;
    if (!ok && strcmp(name, "consistency") == 0 && strspn(v, "0123456789") == strlen(v))
        ok = atoi(v) >= 1;
    if (!ok)
        fq_fail0(rq, 400,
                 "Deserialize error in query parameters: unknown variant `%s`, expected one of %s",
                 v, expected_list);
    free(v);
    return ok ? 0 : -1;
}

static int parse_timeout(fq_rq_t *rq)
{
    char *v = fq_query_param(rq, "timeout");
    if (!v)
        return 0;
    int rc = 0;
    if (!*v || strspn(v, "0123456789") != strlen(v)) {
        fq_fail0(rq, 400, "Deserialize error in query parameters: %s",
                 *v ? "invalid digit found in string" : "cannot parse integer from empty string");
        rc = -1;
    } else if (strtoull(v, NULL, 10) == 0) {
        fq_fail0(rq, 422,
                 "Validation error in query parameters: [timeout: value 0 invalid, must be 1 or "
                 "larger]");
        rc = -1;
    }
    free(v);
    return rc;
}

int fq_parse_common_query(fq_rq_t *rq, int wait_default)
{
    static const char *const orderings[] = {"weak", "medium", "strong", NULL};
    static const char *const consistencies[] = {"majority", "quorum", "all", NULL};
    rq->wait = wait_default;
    char *w = fq_query_param(rq, "wait");
    if (w) {
        rq->wait_given = 1;
        if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0) {
            rq->wait = strcmp(w, "true") == 0;
        } else {
            free(w);
            fq_fail0(rq, 400,
                     "Deserialize error in query parameters: provided string was not `true` or "
                     "`false`");
            return -1;
        }
        free(w);
    }
    if (parse_timeout(rq) < 0)
        return -1;
    if (check_enum(rq, "ordering", orderings, "`weak`, `medium`, `strong`") < 0)
        return -1;
    return check_enum(rq, "consistency", consistencies, "`majority`, `quorum`, `all`");
}
