/* The schema table (see schema.h), its SDL printing and its introspection objects. */
#include "gateway/graphql/schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END                                                                                        \
    {                                                                                              \
        NULL, NULL, NULL, NULL                                                                     \
    }
#define WITH_PAYLOAD                                                                               \
    {"withPayload", "Boolean", "true", "Return each point's payload."},                            \
    {                                                                                              \
        "withVector", "Boolean", "false", "Return each point's vector(s)."                         \
    }

static const gql_arg_def_t a_collection[] = {{"name", "String!", NULL, "The collection's name."},
                                             END};
static const gql_arg_def_t a_points[] = {
    {"collection", "String!", NULL, NULL}, {"ids", "[PointId!]!", NULL, NULL}, WITH_PAYLOAD, END};
static const gql_arg_def_t a_scroll[] = {
    {"collection", "String!", NULL, NULL},
    {"filter", "JSON", NULL, "A Qdrant filter."},
    {"limit", "Int", "10", NULL},
    {"offset", "PointId", NULL, "Start at this point id (a page's nextPageOffset)."},
    WITH_PAYLOAD,
    END};
static const gql_arg_def_t a_count[] = {{"collection", "String!", NULL, NULL},
                                        {"filter", "JSON", NULL, "A Qdrant filter."},
                                        {"exact", "Boolean", "true", NULL},
                                        END};
static const gql_arg_def_t a_search[] = {{"collection", "String!", NULL, NULL},
                                         {"vector", "[Float!]!", NULL, "The query vector."},
                                         {"using", "String", NULL, "The named vector to search."},
                                         {"limit", "Int", "10", NULL},
                                         {"offset", "Int", "0", NULL},
                                         {"filter", "JSON", NULL, "A Qdrant filter."},
                                         {"scoreThreshold", "Float", NULL, NULL},
                                         WITH_PAYLOAD,
                                         END};
static const gql_arg_def_t a_query[] = {
    {"collection", "String!", NULL, NULL},
    {"query", "JSON", NULL,
     "Qdrant's universal query: a vector, a point id, {\"recommend\": ...}."},
    {"using", "String", NULL, "The named vector to search."},
    {"limit", "Int", "10", NULL},
    {"offset", "Int", "0", NULL},
    {"filter", "JSON", NULL, "A Qdrant filter."},
    {"scoreThreshold", "Float", NULL, NULL},
    WITH_PAYLOAD,
    END};
static const gql_arg_def_t a_recommend[] = {
    {"collection", "String!", NULL, NULL},
    {"positive", "[PointId!]!", NULL, NULL},
    {"negative", "[PointId!]", "[]", NULL},
    {"using", "String", NULL, "The named vector to search."},
    {"limit", "Int", "10", NULL},
    {"filter", "JSON", NULL, "A Qdrant filter."},
    {"scoreThreshold", "Float", NULL, NULL},
    WITH_PAYLOAD,
    END};
static const gql_arg_def_t a_upsert[] = {
    {"collection", "String!", NULL, NULL},
    {"points", "[PointInput!]!", NULL, NULL},
    {"wait", "Boolean", "true", "Answer once the change is applied."},
    END};
static const gql_arg_def_t a_delete[] = {
    {"collection", "String!", NULL, NULL},
    {"ids", "[PointId!]", NULL, NULL},
    {"filter", "JSON", NULL, "A Qdrant filter (instead of ids)."},
    {"wait", "Boolean", "true", "Answer once the change is applied."},
    END};
static const gql_arg_def_t a_set_payload[] = {
    {"collection", "String!", NULL, NULL},
    {"payload", "JSON!", NULL, "Keys to set (others are kept)."},
    {"ids", "[PointId!]", NULL, NULL},
    {"filter", "JSON", NULL, "A Qdrant filter (instead of ids)."},
    {"wait", "Boolean", "true", "Answer once the change is applied."},
    END};
static const gql_arg_def_t a_type[] = {{"name", "String!", NULL, NULL}, END};
static const gql_arg_def_t a_deprecated[] = {{"includeDeprecated", "Boolean", "false", NULL}, END};

#define FEND                                                                                       \
    {                                                                                              \
        NULL, NULL, NULL, NULL, GQL_R_NONE                                                         \
    }

static const gql_field_def_t f_query[] = {
    {"collections", "[Collection!]!", "Every collection.", NULL, GQL_R_COLLECTIONS},
    {"collection", "Collection", "One collection, null when it does not exist.", a_collection,
     GQL_R_COLLECTION},
    {"points", "[Point!]!", "Points by id.", a_points, GQL_R_POINTS},
    {"scroll", "ScrollPage!", "A page of points in id order.", a_scroll, GQL_R_SCROLL},
    {"count", "Int!", "How many points match the filter.", a_count, GQL_R_COUNT},
    {"search", "[ScoredPoint!]!", "Nearest points to a vector.", a_search, GQL_R_SEARCH},
    {"query", "[ScoredPoint!]!", "Qdrant's universal query.", a_query, GQL_R_QUERY},
    {"recommend", "[ScoredPoint!]!", "Points like the positive and unlike the negative ones.",
     a_recommend, GQL_R_RECOMMEND},
    FEND};
static const gql_field_def_t f_mutation[] = {
    {"upsertPoints", "UpdateResult!", "Inserts or replaces points.", a_upsert, GQL_R_UPSERT},
    {"deletePoints", "UpdateResult!", "Deletes points by id or filter.", a_delete, GQL_R_DELETE},
    {"setPayload", "UpdateResult!", "Sets payload keys of points by id or filter.", a_set_payload,
     GQL_R_SET_PAYLOAD},
    FEND};
static const gql_field_def_t f_collection[] = {
    {"name", "String!", NULL, NULL, 0},
    {"status", "String", "green, yellow, grey or red.", NULL, 0},
    {"pointsCount", "Int", NULL, NULL, 0},
    {"indexedVectorsCount", "Int", NULL, NULL, 0},
    {"segmentsCount", "Int", NULL, NULL, 0},
    {"config", "JSON", "The collection's configuration, as Qdrant reports it.", NULL, 0},
    FEND};
static const gql_field_def_t f_point[] = {{"id", "PointId!", NULL, NULL, 0},
                                          {"payload", "JSON", NULL, NULL, 0},
                                          {"vector", "JSON", NULL, NULL, 0},
                                          FEND};
static const gql_field_def_t f_scored[] = {
    {"id", "PointId!", NULL, NULL, 0},  {"version", "Int", NULL, NULL, 0},
    {"score", "Float!", NULL, NULL, 0}, {"payload", "JSON", NULL, NULL, 0},
    {"vector", "JSON", NULL, NULL, 0},  FEND};
static const gql_field_def_t f_page[] = {
    {"points", "[Point!]!", NULL, NULL, 0},
    {"nextPageOffset", "PointId", "The offset of the next page, null after the last.", NULL, 0},
    FEND};
static const gql_field_def_t f_update[] = {
    {"operationId", "Int", NULL, NULL, 0},
    {"status", "String!", "acknowledged or completed.", NULL, 0},
    FEND};
static const gql_arg_def_t i_point[] = {{"id", "PointId!", NULL, NULL},
                                        {"vector", "JSON!", NULL, "A vector, or named vectors."},
                                        {"payload", "JSON", NULL, NULL},
                                        END};

/* Introspection types (spec section 4.5, graphql-js 16). */
static const gql_field_def_t f_schema[] = {{"description", "String", NULL, NULL, 0},
                                           {"types", "[__Type!]!", NULL, NULL, 0},
                                           {"queryType", "__Type!", NULL, NULL, 0},
                                           {"mutationType", "__Type", NULL, NULL, 0},
                                           {"subscriptionType", "__Type", NULL, NULL, 0},
                                           {"directives", "[__Directive!]!", NULL, NULL, 0},
                                           FEND};
static const gql_field_def_t f_type[] = {{"kind", "__TypeKind!", NULL, NULL, 0},
                                         {"name", "String", NULL, NULL, 0},
                                         {"description", "String", NULL, NULL, 0},
                                         {"specifiedByURL", "String", NULL, NULL, 0},
                                         {"fields", "[__Field!]", NULL, a_deprecated, 0},
                                         {"interfaces", "[__Type!]", NULL, NULL, 0},
                                         {"possibleTypes", "[__Type!]", NULL, NULL, 0},
                                         {"enumValues", "[__EnumValue!]", NULL, a_deprecated, 0},
                                         {"inputFields", "[__InputValue!]", NULL, a_deprecated, 0},
                                         {"ofType", "__Type", NULL, NULL, 0},
                                         {"isOneOf", "Boolean", NULL, NULL, 0},
                                         FEND};
static const gql_field_def_t f_field[] = {{"name", "String!", NULL, NULL, 0},
                                          {"description", "String", NULL, NULL, 0},
                                          {"args", "[__InputValue!]!", NULL, a_deprecated, 0},
                                          {"type", "__Type!", NULL, NULL, 0},
                                          {"isDeprecated", "Boolean!", NULL, NULL, 0},
                                          {"deprecationReason", "String", NULL, NULL, 0},
                                          FEND};
static const gql_field_def_t f_input[] = {{"name", "String!", NULL, NULL, 0},
                                          {"description", "String", NULL, NULL, 0},
                                          {"type", "__Type!", NULL, NULL, 0},
                                          {"defaultValue", "String", NULL, NULL, 0},
                                          {"isDeprecated", "Boolean!", NULL, NULL, 0},
                                          {"deprecationReason", "String", NULL, NULL, 0},
                                          FEND};
static const gql_field_def_t f_enum[] = {{"name", "String!", NULL, NULL, 0},
                                         {"description", "String", NULL, NULL, 0},
                                         {"isDeprecated", "Boolean!", NULL, NULL, 0},
                                         {"deprecationReason", "String", NULL, NULL, 0},
                                         FEND};
static const gql_field_def_t f_directive[] = {
    {"name", "String!", NULL, NULL, 0},
    {"description", "String", NULL, NULL, 0},
    {"isRepeatable", "Boolean!", NULL, NULL, 0},
    {"locations", "[__DirectiveLocation!]!", NULL, NULL, 0},
    {"args", "[__InputValue!]!", NULL, a_deprecated, 0},
    FEND};
static const char *const e_kind[] = {"SCALAR",       "OBJECT", "INTERFACE", "UNION", "ENUM",
                                     "INPUT_OBJECT", "LIST",   "NON_NULL",  NULL};
static const char *const e_loc[] = {"QUERY",
                                    "MUTATION",
                                    "SUBSCRIPTION",
                                    "FIELD",
                                    "FRAGMENT_DEFINITION",
                                    "FRAGMENT_SPREAD",
                                    "INLINE_FRAGMENT",
                                    "VARIABLE_DEFINITION",
                                    "SCHEMA",
                                    "SCALAR",
                                    "OBJECT",
                                    "FIELD_DEFINITION",
                                    "ARGUMENT_DEFINITION",
                                    "INTERFACE",
                                    "UNION",
                                    "ENUM",
                                    "ENUM_VALUE",
                                    "INPUT_OBJECT",
                                    "INPUT_FIELD_DEFINITION",
                                    NULL};

static const gql_type_def_t types[] = {
    {"Query", GQL_K_OBJECT, "Reads: through the gateway's search cache.", f_query, NULL, NULL},
    {"Mutation", GQL_K_OBJECT, "Writes: they invalidate the cached reads of their collection.",
     f_mutation, NULL, NULL},
    {"Collection", GQL_K_OBJECT, NULL, f_collection, NULL, NULL},
    {"Point", GQL_K_OBJECT, NULL, f_point, NULL, NULL},
    {"ScoredPoint", GQL_K_OBJECT, NULL, f_scored, NULL, NULL},
    {"ScrollPage", GQL_K_OBJECT, NULL, f_page, NULL, NULL},
    {"UpdateResult", GQL_K_OBJECT, NULL, f_update, NULL, NULL},
    {"PointInput", GQL_K_INPUT, NULL, NULL, i_point, NULL},
    {"JSON", GQL_K_SCALAR, "Any JSON value: payloads, filters, vectors, configuration.", NULL, NULL,
     NULL},
    {"PointId", GQL_K_SCALAR, "A Qdrant point id: an unsigned integer or a UUID string.", NULL,
     NULL, NULL},
    {"String", GQL_K_SCALAR, NULL, NULL, NULL, NULL},
    {"Int", GQL_K_SCALAR, NULL, NULL, NULL, NULL},
    {"Float", GQL_K_SCALAR, NULL, NULL, NULL, NULL},
    {"Boolean", GQL_K_SCALAR, NULL, NULL, NULL, NULL},
    {"__Schema", GQL_K_OBJECT, NULL, f_schema, NULL, NULL},
    {"__Type", GQL_K_OBJECT, NULL, f_type, NULL, NULL},
    {"__Field", GQL_K_OBJECT, NULL, f_field, NULL, NULL},
    {"__InputValue", GQL_K_OBJECT, NULL, f_input, NULL, NULL},
    {"__EnumValue", GQL_K_OBJECT, NULL, f_enum, NULL, NULL},
    {"__Directive", GQL_K_OBJECT, NULL, f_directive, NULL, NULL},
    {"__TypeKind", GQL_K_ENUM, NULL, NULL, NULL, e_kind},
    {"__DirectiveLocation", GQL_K_ENUM, NULL, NULL, NULL, e_loc},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static const char *const l_incl[] = {"FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT", NULL};
static const char *const l_depr[] = {"FIELD_DEFINITION", "ARGUMENT_DEFINITION",
                                     "INPUT_FIELD_DEFINITION", "ENUM_VALUE", NULL};
static const char *const l_spec[] = {"SCALAR", NULL};
static const gql_arg_def_t a_if_incl[] = {{"if", "Boolean!", NULL, "Included when true."}, END};
static const gql_arg_def_t a_if_skip[] = {{"if", "Boolean!", NULL, "Skipped when true."}, END};
static const gql_arg_def_t a_reason[] = {{"reason", "String", "\"No longer supported\"", NULL},
                                         END};
static const gql_arg_def_t a_url[] = {{"url", "String!", NULL, NULL}, END};
static const gql_dir_def_t directives[] = {
    {"include",
     "Directs the executor to include this field or fragment only when the `if` "
     "argument is true.",
     l_incl, a_if_incl},
    {"skip", "Directs the executor to skip this field or fragment when the `if` argument is true.",
     l_incl, a_if_skip},
    {"deprecated", "Marks an element of a GraphQL schema as no longer supported.", l_depr,
     a_reason},
    {"specifiedBy", "Exposes a URL that specifies the behavior of this scalar.", l_spec, a_url},
};
#define NDIRS (sizeof(directives) / sizeof(directives[0]))

static const gql_field_def_t meta_typename = {"__typename", "String!", NULL, NULL, GQL_R_TYPENAME};
static const gql_field_def_t meta_schema = {"__schema", "__Schema!", NULL, NULL, GQL_R_SCHEMA};
static const gql_field_def_t meta_type = {"__type", "__Type", NULL, a_type, GQL_R_TYPE};

const gql_type_def_t *gql_schema_type(const char *name)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(types[i].name, name) == 0) return &types[i];
    return NULL;
}

const gql_type_def_t *gql_schema_root(int mutation)
{
    return &types[mutation ? 1 : 0];
}

const gql_field_def_t *gql_schema_field(const gql_type_def_t *t, const char *name)
{
    if (t->kind != GQL_K_OBJECT) return NULL;
    if (strcmp(name, "__typename") == 0) return &meta_typename;
    if (t == &types[0] && strcmp(name, "__schema") == 0) return &meta_schema;
    if (t == &types[0] && strcmp(name, "__type") == 0) return &meta_type;
    for (const gql_field_def_t *f = t->fields; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

const gql_arg_def_t *gql_schema_arg(const gql_arg_def_t *args, const char *name)
{
    for (const gql_arg_def_t *a = args; a && a->name; a++)
        if (strcmp(a->name, name) == 0) return a;
    return NULL;
}

const gql_dir_def_t *gql_schema_directive(const char *name)
{
    for (size_t i = 0; i < NDIRS; i++)
        if (strcmp(directives[i].name, name) == 0) return &directives[i];
    return NULL;
}

size_t gql_type_named(const char *type, const char **name)
{
    while (*type == '[')
        type++;
    *name = type;
    return strcspn(type, "]!");
}

/* ---- SDL ------------------------------------------------------------------------------------- */

static int builtin(const gql_type_def_t *t)
{
    return strncmp(t->name, "__", 2) == 0 || !strcmp(t->name, "String") ||
           !strcmp(t->name, "Int") || !strcmp(t->name, "Float") || !strcmp(t->name, "Boolean");
}

static void sdl_desc(FILE *f, const char *desc, const char *indent)
{
    if (desc) fprintf(f, "%s\"\"\"%s\"\"\"\n", indent, desc);
}

/* graphql-js printDescription: a blank line first unless it opens its block. */
static void sdl_desc_in(FILE *f, const char *desc, const char *indent, int first)
{
    if (desc) fprintf(f, "%s%s\"\"\"%s\"\"\"\n", first ? "" : "\n", indent, desc);
}

/* graphql-js printArgs: inline unless an argument has a description. */
static void sdl_args(FILE *f, const gql_arg_def_t *args)
{
    if (!args || !args->name) return;
    int described = 0;
    for (const gql_arg_def_t *a = args; a->name; a++)
        described |= a->desc != NULL;
    fputc('(', f);
    for (const gql_arg_def_t *a = args; a->name; a++) {
        if (described) {
            fputc('\n', f);
            sdl_desc_in(f, a->desc, "    ", a == args);
            fputs("    ", f);
        } else if (a != args) {
            fputs(", ", f);
        }
        fprintf(f, "%s: %s%s%s", a->name, a->type, a->def ? " = " : "", a->def ? a->def : "");
    }
    fputs(described ? "\n  )" : ")", f);
}

static void sdl_type(FILE *f, const gql_type_def_t *t)
{
    sdl_desc(f, t->desc, "");
    if (t->kind == GQL_K_SCALAR) {
        fprintf(f, "scalar %s\n\n", t->name);
        return;
    }
    fprintf(f, "%s %s {\n", t->kind == GQL_K_INPUT ? "input" : "type", t->name);
    if (t->kind == GQL_K_INPUT) {
        for (const gql_arg_def_t *a = t->inputs; a->name; a++) {
            sdl_desc_in(f, a->desc, "  ", a == t->inputs);
            fprintf(f, "  %s: %s\n", a->name, a->type);
        }
    } else {
        for (const gql_field_def_t *x = t->fields; x->name; x++) {
            sdl_desc_in(f, x->desc, "  ", x == t->fields);
            fprintf(f, "  %s", x->name);
            sdl_args(f, x->args);
            fprintf(f, ": %s\n", x->type);
        }
    }
    fprintf(f, "}\n\n");
}

static char *sdl_text;
static size_t sdl_len;
static pthread_once_t sdl_once = PTHREAD_ONCE_INIT;

static void sdl_build(void)
{
    FILE *f = open_memstream(&sdl_text, &sdl_len);
    if (!f) return;
    for (size_t i = 0; i < NTYPES; i++)
        if (!builtin(&types[i])) sdl_type(f, &types[i]);
    fclose(f);
    if (sdl_len >= 1 && sdl_text[sdl_len - 1] == '\n') sdl_text[--sdl_len] = '\0';
}

const char *gql_schema_sdl(size_t *len)
{
    pthread_once(&sdl_once, sdl_build);
    *len = sdl_text ? sdl_len : 0;
    return sdl_text ? sdl_text : "";
}

/* ---- introspection --------------------------------------------------------------------------- */

static json_t *named_json[NTYPES];
static json_t *schema_json;
static pthread_once_t intro_once = PTHREAD_ONCE_INIT;

static const char *kind_name(gql_kind_t k)
{
    return k == GQL_K_SCALAR   ? "SCALAR"
           : k == GQL_K_OBJECT ? "OBJECT"
           : k == GQL_K_INPUT  ? "INPUT_OBJECT"
                               : "ENUM";
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A __Type for type text t[0..n): wrappers built here, named types shared. */
static json_t *typeref(const char *t, size_t n)
{
    if (n && t[n - 1] == '!')
        return json_pack("{s:s,s:n,s:o}", "kind", "NON_NULL", "name", "ofType", typeref(t, n - 1));
    if (n >= 2 && t[0] == '[')
        return json_pack("{s:s,s:n,s:o}", "kind", "LIST", "name", "ofType", typeref(t + 1, n - 2));
    for (size_t i = 0; i < NTYPES; i++)
        if (strlen(types[i].name) == n && memcmp(types[i].name, t, n) == 0)
            return json_incref(named_json[i]);
    return json_null();
}

static json_t *input_values(const gql_arg_def_t *args)
{
    json_t *a = json_array();
    for (const gql_arg_def_t *x = args; x && x->name; x++)
        json_array_append_new(a, json_pack("{s:s,s:o,s:o,s:o,s:b,s:n}", "name", x->name,
                                           "description", str_or_null(x->desc), "type",
                                           typeref(x->type, strlen(x->type)), "defaultValue",
                                           str_or_null(x->def), "isDeprecated", 0,
                                           "deprecationReason"));
    return a;
}

static void fill_type(json_t *o, const gql_type_def_t *t)
{
    json_t *fields = json_null(), *inputs = json_null(), *enums = json_null();
    if (t->kind == GQL_K_OBJECT) {
        fields = json_array();
        for (const gql_field_def_t *f = t->fields; f->name; f++)
            json_array_append_new(fields, json_pack("{s:s,s:o,s:o,s:o,s:b,s:n}", "name", f->name,
                                                    "description", str_or_null(f->desc), "args",
                                                    input_values(f->args), "type",
                                                    typeref(f->type, strlen(f->type)),
                                                    "isDeprecated", 0, "deprecationReason"));
    } else if (t->kind == GQL_K_INPUT) {
        inputs = input_values(t->inputs);
    } else if (t->kind == GQL_K_ENUM) {
        enums = json_array();
        for (const char *const *e = t->enums; *e; e++)
            json_array_append_new(enums, json_pack("{s:s,s:n,s:b,s:n}", "name", *e, "description",
                                                   "isDeprecated", 0, "deprecationReason"));
    }
    json_object_set_new(o, "fields", fields);
    json_object_set_new(o, "inputFields", inputs);
    json_object_set_new(o, "enumValues", enums);
    json_object_set_new(o, "interfaces", t->kind == GQL_K_OBJECT ? json_array() : json_null());
    json_object_set_new(o, "isOneOf", t->kind == GQL_K_INPUT ? json_false() : json_null());
}

static void intro_build(void)
{
    json_t *list = json_array(), *dirs = json_array();
    for (size_t i = 0; i < NTYPES; i++)
        named_json[i] = json_pack("{s:s,s:s,s:o,s:n,s:n,s:n}", "kind", kind_name(types[i].kind),
                                  "name", types[i].name, "description", str_or_null(types[i].desc),
                                  "specifiedByURL", "possibleTypes", "ofType");
    for (size_t i = 0; i < NTYPES; i++) {
        fill_type(named_json[i], &types[i]); /* named types refer to each other: a cycle, kept */
        json_array_append(list, named_json[i]);
    }
    for (size_t i = 0; i < NDIRS; i++) {
        json_t *locs = json_array();
        for (const char *const *l = directives[i].locations; *l; l++)
            json_array_append_new(locs, json_string(*l));
        json_array_append_new(dirs, json_pack("{s:s,s:s,s:b,s:o,s:o}", "name", directives[i].name,
                                              "description", directives[i].desc, "isRepeatable", 0,
                                              "locations", locs, "args",
                                              input_values(directives[i].args)));
    }
    schema_json = json_pack("{s:n,s:o,s:O,s:O,s:n,s:o}", "description", "types", list, "queryType",
                            named_json[0], "mutationType", named_json[1], "subscriptionType",
                            "directives", dirs);
}

json_t *gql_schema_introspection(void)
{
    pthread_once(&intro_once, intro_build);
    return schema_json;
}

json_t *gql_schema_type_json(const char *name)
{
    pthread_once(&intro_once, intro_build);
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(types[i].name, name) == 0) return named_json[i];
    return NULL;
}
