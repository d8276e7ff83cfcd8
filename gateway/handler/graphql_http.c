/* GraphQL-over-HTTP request parameters and media types (see graphql_http.h). */
#include "gateway/handler/graphql_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void gw_gql_params_free(gw_gql_params_t *p)
{
    free(p->query);
    free(p->operation_name);
    json_decref(p->variables);
    memset(p, 0, sizeof(*p));
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* s[0..n) form-decoded into a heap string; *out_len its length. */
static char *form_decode(const char *s, size_t n, size_t *out_len)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            o[k++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

static int set_variables(gw_gql_params_t *p, json_t *v, char *err, size_t errlen)
{
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) {
        snprintf(err, errlen, "The \"variables\" parameter must be an object or null.");
        return 400;
    }
    p->variables = json_incref(v);
    return 0;
}

int gw_gql_params_from_query(const char *qs, size_t len, gw_gql_params_t *p, char *err,
                             size_t errlen)
{
    memset(p, 0, sizeof(*p));
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && qs[e] != '&')
            e++;
        const char *eq = memchr(qs + i, '=', e - i);
        size_t kl = eq ? (size_t)(eq - (qs + i)) : e - i, vl = 0;
        char *val = eq ? form_decode(eq + 1, (size_t)(qs + e - eq - 1), &vl) : NULL;
        if (eq && !val) {
            snprintf(err, errlen, "out of memory");
            return 500;
        }
        char **slot = NULL;
        if (kl == 5 && memcmp(qs + i, "query", 5) == 0) slot = &p->query;
        if (kl == 13 && memcmp(qs + i, "operationName", 13) == 0) slot = &p->operation_name;
        if (slot && val) {
            free(*slot);
            *slot = val;
            if (slot == &p->query) p->query_len = vl;
            val = NULL;
        } else if (kl == 9 && memcmp(qs + i, "variables", 9) == 0 && val) {
            json_error_t je;
            json_t *v = json_loadb(val, vl, JSON_DECODE_ANY, &je);
            int st = v ? set_variables(p, v, err, errlen) : 400;
            if (!v) snprintf(err, errlen, "The \"variables\" parameter is not JSON: %s.", je.text);
            json_decref(v);
            free(val);
            val = NULL;
            if (st) {
                gw_gql_params_free(p);
                return st;
            }
        }
        free(val);
        i = e + 1;
    }
    if (p->operation_name && !p->operation_name[0]) {
        free(p->operation_name); /* operationName= means none */
        p->operation_name = NULL;
    }
    return 0;
}

int gw_gql_params_from_json(const char *body, size_t len, gw_gql_params_t *p, char *err,
                            size_t errlen)
{
    memset(p, 0, sizeof(*p));
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    int st = 400;
    if (!o) {
        snprintf(err, errlen, "The body is not a JSON object: %s (line %d, column %d).", je.text,
                 je.line, je.column);
        return 400;
    }
    json_t *q = json_object_get(o, "query"), *op = json_object_get(o, "operationName"),
           *ext = json_object_get(o, "extensions");
    if (!q)
        snprintf(err, errlen, "The body has no \"query\".");
    else if (!json_is_string(q))
        snprintf(err, errlen, "The \"query\" parameter must be a string.");
    else if (op && !json_is_null(op) && !json_is_string(op))
        snprintf(err, errlen, "The \"operationName\" parameter must be a string or null.");
    else if (ext && !json_is_null(ext) && !json_is_object(ext))
        snprintf(err, errlen, "The \"extensions\" parameter must be an object or null.");
    else if ((st = set_variables(p, json_object_get(o, "variables"), err, errlen)) == 0) {
        p->query_len = json_string_length(q);
        p->query = malloc(p->query_len + 1);
        if (p->query) memcpy(p->query, json_string_value(q), p->query_len + 1);
        if (json_is_string(op)) p->operation_name = strdup(json_string_value(op));
        if (!p->query || (json_is_string(op) && !p->operation_name)) {
            snprintf(err, errlen, "out of memory");
            st = 500;
        }
    }
    json_decref(o);
    if (st) gw_gql_params_free(p);
    return st;
}

/* The media type of a header value (before ';'), trimmed, equals t (case-insensitive). */
static int media_is(const char *v, size_t len, const char *t)
{
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    size_t n = 0;
    while (n < len && v[n] != ';' && v[n] != ',')
        n++;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == strlen(t) && strncasecmp(v, t, n) == 0;
}

int gw_gql_is_json_type(const char *v, size_t len)
{
    return v && media_is(v, len, "application/json");
}

/* An Accept element with q=0 (only zeros and dots after "q="). */
static int refused(const char *v, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (v[i] != ';') continue;
        size_t j = i + 1;
        while (j < len && v[j] == ' ')
            j++;
        if (j + 2 > len || (v[j] != 'q' && v[j] != 'Q') || v[j + 1] != '=') continue;
        size_t k = j + 2, zeros = 0;
        while (k < len && (v[k] == '0' || v[k] == '.'))
            k++, zeros++;
        while (k < len && v[k] == ' ')
            k++;
        if (zeros && (k == len || v[k] == ';')) return 1;
    }
    return 0;
}

int gw_gql_wants_grj(const char *accept, size_t len)
{
    for (size_t i = 0; accept && i < len;) {
        size_t e = i;
        while (e < len && accept[e] != ',')
            e++;
        if (media_is(accept + i, e - i, "application/graphql-response+json"))
            return !refused(accept + i, e - i);
        i = e + 1;
    }
    return 0;
}
