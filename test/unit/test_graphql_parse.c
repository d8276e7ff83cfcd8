/* Unit tests for gateway/graphql/lex.c and parse.c: the syntax tree of executable documents
 * (operations, variables with defaults, aliases, arguments, directives, fragments), string
 * decoding, and every syntax error with graphql-js 16's message and exact line:column. Each
 * input ends right before an unreadable page, without a NUL, so a read past its length faults. */
#include "gateway/graphql/parse.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* src copied flush against a PROT_NONE page, no NUL. */
typedef struct fenced {
    char *map;
    size_t maplen;
    const char *s;
    size_t len;
} fenced_t;

static void fence(fenced_t *f, const char *src, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;
    f->maplen = (pages + 1) * page;
    f->map = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(f->map, MAP_FAILED);
    ck_assert_int_eq(mprotect(f->map + pages * page, page, PROT_NONE), 0);
    f->s = memcpy(f->map + pages * page - len, src, len);
    f->len = len;
}

static gql_doc_t *parse_lim(const char *src, size_t len, const gql_limits_t *lim, gql_error_t *e)
{
    fenced_t f;
    fence(&f, src, len);
    gql_doc_t *d = gql_parse(f.s, f.len, lim, e);
    munmap(f.map, f.maplen);
    return d;
}

static gql_doc_t *parse_ok(const char *src)
{
    gql_error_t e;
    gql_doc_t *d = parse_lim(src, strlen(src), NULL, &e);
    ck_assert_msg(d != NULL, "%s: %s", src, e.msg);
    return d;
}

static void parse_fails(const char *src, const char *msg, unsigned line, unsigned col)
{
    gql_error_t e;
    gql_doc_t *d = parse_lim(src, strlen(src), NULL, &e);
    ck_assert_msg(d == NULL, "%s parsed", src);
    ck_assert_str_eq(e.msg, msg);
    ck_assert_uint_eq(e.nlocs, line ? 1 : 0);
    if (line) {
        ck_assert_msg(e.locs[0].line == line && e.locs[0].col == col, "%s: at %u:%u, not %u:%u",
                      src, e.locs[0].line, e.locs[0].col, line, col);
    }
}

START_TEST(test_operation_tree)
{
    gql_doc_t *d = parse_ok("query Find($v: [Float!]! = [1, 2.5], $n: Int = 3 @x) @op {\n"
                            "  hits: search(collection: \"c\", vector: $v, limit: $n) @skip(if: "
                            "false) {\n    id ...F ... on ScoredPoint @include(if: true) { score "
                            "}\n  }\n}\nfragment F on ScoredPoint { payload }");
    gql_op_t *op = d->ops;
    ck_assert_ptr_nonnull(op);
    ck_assert_ptr_null(op->next);
    ck_assert_int_eq(op->kind, GQL_QUERY);
    ck_assert_str_eq(op->name, "Find");
    ck_assert_uint_eq(op->name_loc.col, 7);
    ck_assert_str_eq(op->dirs->name, "op");
    gql_var_t *v = op->vars;
    ck_assert_str_eq(v->name, "v");
    ck_assert_uint_eq(v->loc.col, 12);
    ck_assert_uint_eq(v->name_loc.col, 13);
    ck_assert_str_eq(v->type, "[Float!]!");
    ck_assert_str_eq(v->type_name, "Float");
    ck_assert_int_eq(v->def->kind, GQL_V_LIST);
    ck_assert_int_eq(v->def->items->kind, GQL_V_INT);
    ck_assert_str_eq(v->def->items->next->str, "2.5");
    ck_assert_int_eq(v->def->items->next->kind, GQL_V_FLOAT);
    v = v->next;
    ck_assert_str_eq(v->name, "n");
    ck_assert_str_eq(v->type, "Int");
    ck_assert_str_eq(v->def->str, "3");
    ck_assert_str_eq(v->dirs->name, "x");
    ck_assert_ptr_null(v->next);
    gql_sel_t *s = op->sel;
    ck_assert_int_eq(s->kind, GQL_SEL_FIELD);
    ck_assert_str_eq(s->alias, "hits");
    ck_assert_str_eq(s->name, "search");
    ck_assert_uint_eq(s->loc.line, 2);
    ck_assert_uint_eq(s->loc.col, 3);
    ck_assert_str_eq(s->args->name, "collection");
    ck_assert_str_eq(s->args->value->str, "c");
    ck_assert_int_eq(s->args->next->value->kind, GQL_V_VAR);
    ck_assert_str_eq(s->args->next->value->str, "v");
    ck_assert_str_eq(s->dirs->name, "skip");
    ck_assert_int_eq(s->dirs->args->value->kind, GQL_V_BOOL);
    ck_assert_int_eq(s->dirs->args->value->boolean, 0);
    ck_assert(s->has_sel);
    gql_sel_t *id = s->sel, *spread = id->next, *inl = spread->next;
    ck_assert_str_eq(id->name, "id");
    ck_assert_ptr_null(id->alias);
    ck_assert(!id->has_sel);
    ck_assert_int_eq(spread->kind, GQL_SEL_SPREAD);
    ck_assert_str_eq(spread->name, "F");
    ck_assert_uint_eq(spread->name_loc.col, 11);
    ck_assert_int_eq(inl->kind, GQL_SEL_INLINE);
    ck_assert_str_eq(inl->type_cond, "ScoredPoint");
    ck_assert_str_eq(inl->dirs->name, "include");
    ck_assert_str_eq(inl->sel->name, "score");
    gql_frag_t *f = d->frags;
    ck_assert_str_eq(f->name, "F");
    ck_assert_str_eq(f->type_cond, "ScoredPoint");
    ck_assert_uint_eq(f->loc.line, 6);
    ck_assert_uint_eq(f->name_loc.col, 10);
    gql_doc_free(d);
}
END_TEST

START_TEST(test_shorthand_and_kinds)
{
    gql_doc_t *d = parse_ok("{ a } mutation M { b } subscription { c } query { d }");
    gql_op_t *op = d->ops;
    ck_assert_int_eq(op->kind, GQL_QUERY);
    ck_assert_ptr_null(op->name);
    ck_assert_int_eq(op->next->kind, GQL_MUTATION);
    ck_assert_int_eq(op->next->next->kind, GQL_SUBSCRIPTION);
    ck_assert_int_eq(op->next->next->next->kind, GQL_QUERY);
    gql_doc_free(d);
    /* keywords are names elsewhere: fields called query, fragment, on, true */
    d = parse_ok("{ query fragment on: on(on: on) true null }");
    ck_assert_str_eq(d->ops->sel->name, "query");
    ck_assert_str_eq(d->ops->sel->next->next->alias, "on");
    ck_assert_int_eq(d->ops->sel->next->next->args->value->kind, GQL_V_ENUM);
    gql_doc_free(d);
}
END_TEST

START_TEST(test_values)
{
    gql_doc_t *d = parse_ok("{ f(a: -0, b: 1.5e-3, c: true, d: null, e: ENUM, f: [], g: {}, "
                            "h: {x: [1, {y: $v}], z: \"s\"}, i: -12E+2) }");
    gql_arg_t *a = d->ops->sel->args;
    ck_assert_int_eq(a->value->kind, GQL_V_INT);
    ck_assert_str_eq(a->value->str, "-0");
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_FLOAT);
    ck_assert_str_eq(a->value->str, "1.5e-3");
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_BOOL);
    ck_assert_int_eq(a->value->boolean, 1);
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_NULL);
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_ENUM);
    ck_assert_str_eq(a->value->str, "ENUM");
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_LIST);
    ck_assert_ptr_null(a->value->items);
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_OBJECT);
    a = a->next;
    gql_value_t *h = a->value;
    ck_assert_str_eq(h->items->key, "x");
    ck_assert_uint_eq(h->items->key_loc.col, 68);
    ck_assert_str_eq(h->items->items->next->items->str, "v");
    ck_assert_str_eq(h->items->next->str, "s");
    a = a->next;
    ck_assert_int_eq(a->value->kind, GQL_V_FLOAT);
    gql_doc_free(d);
}
END_TEST

static const char *arg_string(const char *src, size_t *len)
{
    static char out[256];
    gql_doc_t *d = parse_ok(src);
    const gql_value_t *v = d->ops->sel->args->value;
    ck_assert_int_eq(v->kind, GQL_V_STRING);
    ck_assert_uint_lt(v->len, sizeof(out));
    memcpy(out, v->str, v->len);
    out[v->len] = '\0';
    *len = v->len;
    gql_doc_free(d);
    return out;
}

START_TEST(test_strings)
{
    size_t n;
    ck_assert_str_eq(arg_string("{ f(s: \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\") }", &n),
                     "a\"b\\c/d\b\f\n\r\t");
    ck_assert_str_eq(arg_string("{ f(s: \"\\u00e9\\u{1F600}\\uD83D\\uDE00\") }", &n),
                     "\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    ck_assert_str_eq(arg_string("{ f(s: \"\x01\tx\") }", &n), "\x01\tx"); /* controls: fine */
    ck_assert_str_eq(arg_string("{ f(s: \"\\u0000x\") }", &n), "");
    ck_assert_uint_eq(n, 2); /* an escaped NUL is kept: len says so */
    /* block strings: common indentation and blank first/last lines removed, \""" kept */
    ck_assert_str_eq(
        arg_string("{ f(s: \"\"\"\n    hello\n      world\n    \\\"\"\"\n  \"\"\") }", &n),
        "hello\n  world\n\"\"\"");
    ck_assert_str_eq(arg_string("{ f(s: \"\"\"  a\n    b\n  c\"\"\") }", &n), "  a\n  b\nc");
    ck_assert_str_eq(arg_string("{ f(s: \"\"\"\\n\"\"\") }", &n), "\\n"); /* no escapes */
    ck_assert_str_eq(arg_string("{ f(s: \"\"\"\r\n  x\r\n\"\"\") }", &n), "x");
}
END_TEST

START_TEST(test_locations_count_utf16)
{
    /* é is one UTF-16 unit, 😀 two, a tab one column; \r\n is one line break */
    parse_fails("{ f(a: \"é😀\", b: ?) }", "Syntax Error: Unexpected character: \"?\".", 1, 18);
    parse_fails("{\r\n\tf(a: 1.) }", "Syntax Error: Invalid number, expected digit but got: \")\".",
                2, 9);
    /* a BOM is skipped, but counts as a column, as in graphql-js */
    parse_fails("\xef\xbb\xbf{ a } }", "Syntax Error: Unexpected \"}\".", 1, 8);
    parse_fails("# c\n,,{ a\n\r  b(x: } }", "Syntax Error: Unexpected \"}\".", 4, 8);
}
END_TEST

typedef struct bad {
    const char *src, *msg;
    unsigned line, col;
} bad_t;

/* Messages and locations as graphql-js 16.9 reports them (checked against its parse()). */
static const bad_t bad[] = {
    {"", "Syntax Error: Unexpected <EOF>.", 1, 1},
    {"# only a comment", "Syntax Error: Unexpected <EOF>.", 1, 17},
    {"{ collections { name", "Syntax Error: Expected Name, found <EOF>.", 1, 21},
    {"{ \"x\" }", "Syntax Error: Expected Name, found String \"x\".", 1, 3},
    {"{ }", "Syntax Error: Expected Name, found \"}\".", 1, 3},
    {"{ a } extra", "Syntax Error: Unexpected Name \"extra\".", 1, 7},
    {"{ a } }", "Syntax Error: Unexpected \"}\".", 1, 7},
    {"{ &a }", "Syntax Error: Expected Name, found \"&\".", 1, 3},
    {"{ a ... on }", "Syntax Error: Expected Name, found \"}\".", 1, 12},
    {"{ a(x: $) }", "Syntax Error: Expected Name, found \")\".", 1, 9},
    {"{ a(x: 0x1) }", "Syntax Error: Invalid number, expected digit but got: \"x\".", 1, 9},
    {"{ a(x: 01) }", "Syntax Error: Invalid number, unexpected digit after 0: \"1\".", 1, 9},
    {"{ a(x: 1.) }", "Syntax Error: Invalid number, expected digit but got: \")\".", 1, 10},
    {"{ a(x: .5) }", "Syntax Error: Unexpected character: \".\".", 1, 8},
    {"{ a(x: 1.5e+) }", "Syntax Error: Invalid number, expected digit but got: \")\".", 1, 13},
    {"{ a(x: 12a) }", "Syntax Error: Invalid number, expected digit but got: \"a\".", 1, 10},
    {"{ a(x: \"bad \\q\") }", "Syntax Error: Invalid character escape sequence: \"\\q\".", 1, 13},
    {"{ a(x: \"\\u12\") }", "Syntax Error: Invalid Unicode escape sequence: \"\\u12\")\".", 1, 9},
    {"{ a(x: \"\\uD800\") }", "Syntax Error: Invalid Unicode escape sequence: \"\\uD800\".", 1, 9},
    {"{ a(x: \"\\u{110000}\") }", "Syntax Error: Invalid Unicode escape sequence: \"\\u{110000}\".",
     1, 9},
    {"{ a(x: \"unterminated\n\") }", "Syntax Error: Unterminated string.", 1, 21},
    {"{ a(x: \"\"\"never", "Syntax Error: Unterminated string.", 1, 16},
    {"{ a(x: \"\xff\") }", "Syntax Error: Invalid character within String: <invalid UTF-8>.", 1, 9},
    {"{ a(x: \"\xed\xa0\x80\") }", /* a surrogate is no scalar value */
     "Syntax Error: Invalid character within String: <invalid UTF-8>.", 1, 9},
    {"{ a\x01 }", "Syntax Error: Unexpected character: U+0001.", 1, 4},
    {"{ a\x7f }", "Syntax Error: Unexpected character: U+007F.", 1, 4},
    {"{ a(x: [1, 2) }", "Syntax Error: Unexpected \")\".", 1, 13},
    {"{ a(x: {b 1}) }", "Syntax Error: Expected \":\", found Int \"1\".", 1, 11},
    {"{ a() }", "Syntax Error: Expected Name, found \")\".", 1, 5},
    {"query ($v: Int = $w) { a }", "Syntax Error: Unexpected variable \"$w\" in constant value.", 1,
     18},
    {"query ($v) { a }", "Syntax Error: Expected \":\", found \")\".", 1, 10},
    {"query ($v: [Int) { a }", "Syntax Error: Expected \"]\", found \")\".", 1, 16},
    {"fragment on on T { a }", "Syntax Error: Unexpected Name \"on\".", 1, 10},
    {"fragment F T { a }", "Syntax Error: Expected \"on\", found Name \"T\".", 1, 12},
    {"type Query { a: Int }", "Syntax Error: Unexpected Name \"type\".", 1, 1},
    {"{ a @ }", "Syntax Error: Expected Name, found \"}\".", 1, 7},
    {"{ a..b }", "Syntax Error: Unexpected character: \".\".", 1, 4},
};

START_TEST(test_syntax_errors)
{
    parse_fails(bad[_i].src, bad[_i].msg, bad[_i].line, bad[_i].col);
}
END_TEST

START_TEST(test_limit_size_and_tokens)
{
    gql_error_t e;
    gql_limits_t lim = {.max_bytes = 10};
    ck_assert_ptr_null(parse_lim("{ abcdefghij }", 14, &lim, &e));
    ck_assert_str_eq(e.msg, "Document too large: 14 bytes (limit: 10 bytes).");
    ck_assert_uint_eq(e.nlocs, 0);
    gql_doc_t *d = parse_lim("{ abcdefg }", 11, &(gql_limits_t){.max_bytes = 11}, &e);
    ck_assert_ptr_nonnull(d);
    gql_doc_free(d);

    lim = (gql_limits_t){.max_tokens = 5};
    d = parse_lim("{ a b c }", 9, &lim, &e); /* 5 tokens, <EOF> not counted */
    ck_assert_ptr_nonnull(d);
    gql_doc_free(d);
    ck_assert_ptr_null(parse_lim("{ a b c d }", 11, &lim, &e));
    ck_assert_str_eq(e.msg, "Document has too many tokens: more than 5.");
    ck_assert_uint_eq(e.locs[0].col, 11);
}
END_TEST

START_TEST(test_limit_nesting)
{
    /* selection sets, lists and objects: bounded recursion, whatever the limits say */
    char src[600];
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, "{a");
    gql_error_t e;
    ck_assert_ptr_null(parse_lim(src, n, NULL, &e));
    ck_assert_str_eq(e.msg, "Document nested too deeply: more than 64 levels.");
    ck_assert_uint_eq(e.locs[0].col, 2 * 64 + 1);

    n = (size_t)snprintf(src, sizeof(src), "{ a(x: ");
    for (int i = 0; i < 70; i++)
        src[n++] = '[';
    ck_assert_ptr_null(parse_lim(src, n, NULL, &e));
    ck_assert_str_eq(e.msg, "Document nested too deeply: more than 64 levels.");

    n = (size_t)snprintf(src, sizeof(src), "query ($v: ");
    for (int i = 0; i < 70; i++)
        src[n++] = '[';
    ck_assert_ptr_null(parse_lim(src, n, NULL, &e));
    ck_assert_str_eq(e.msg, "Document nested too deeply: more than 64 levels.");
}
END_TEST

START_TEST(test_limits_resolve)
{
    gql_limits_t l = gql_limits_resolve(&(gql_limits_t){.max_depth = 3});
    ck_assert_uint_eq(l.max_depth, 3);
    ck_assert_uint_eq(l.max_bytes, GQL_DEFAULT_MAX_BYTES);
    ck_assert_uint_eq(l.max_aliases, GQL_DEFAULT_MAX_ALIASES);
    l = gql_limits_resolve(NULL);
    ck_assert_uint_eq(l.max_tokens, GQL_DEFAULT_MAX_TOKENS);
    ck_assert_uint_eq(l.max_roots, GQL_DEFAULT_MAX_ROOTS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("graphql_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_operation_tree);
    tcase_add_test(tc, test_shorthand_and_kinds);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_locations_count_utf16);
    tcase_add_loop_test(tc, test_syntax_errors, 0, (int)NELEM(bad));
    tcase_add_test(tc, test_limit_size_and_tokens);
    tcase_add_test(tc, test_limit_nesting);
    tcase_add_test(tc, test_limits_resolve);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
