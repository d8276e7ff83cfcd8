/* Unit tests for common/yconf, the generic binder: value syntax, the YAML rules and includes
 * (through the gateway's key table), a test table of every type, and a mutation fuzz. Maps of
 * named sections (YCONF_MAP) are in test_yconf_map.c. */
#include "common/yconf.h"
#include "gateway/core/config.h"
#include "unit_util.h"
#include "yconf_mode.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- value syntax */

static const struct {
    const char *text;
    int rc;
    uint64_t bytes;
} size_cases[] = {
    {"0", 0, 0},
    {"1", 0, 1},
    {"1B", 0, 1},
    {"1k", 0, 1024},
    {"1K", 0, 1024},
    {"1KiB", 0, 1024},
    {"1KB", 0, 1000},
    {"1kB", 0, 1000},
    {"3m", 0, 3 << 20},
    {"2MiB", 0, 2 << 20},
    {"5MB", 0, 5000000},
    {"1g", 0, 1 << 30},
    {"1GiB", 0, 1 << 30},
    {"2GB", 0, 2000000000},
    {"1T", 0, 1ull << 40},
    {"1TiB", 0, 1ull << 40},
    {"1TB", 0, 1000000000000ull},
    {"18446744073709551615", 0, UINT64_MAX},
    {"16777215TiB", 0, 16777215ull << 40},
    {"16777216TiB", -1, 0},
    {"18446744073709551616", -1, 0},
    {"", -1, 0},
    {"k", -1, 0},
    {"1.5k", -1, 0},
    {" 1", -1, 0},
    {"1 ", -1, 0},
    {"+1", -1, 0},
    {"-1", -1, 0},
    {"1kib", -1, 0},
    {"1KIB", -1, 0},
    {"1Ki", -1, 0},
    {"1kk", -1, 0},
    {"0x10", -1, 0},
};

START_TEST(test_parse_size)
{
    uint64_t v = 12345;
    guarded_t g;
    int rc;

    guard_open(&g, size_cases[_i].text);
    rc = yconf_parse_size(g.s, &v);
    guard_close(&g);
    ck_assert_msg(rc == size_cases[_i].rc, "\"%s\": rc %d", size_cases[_i].text, rc);
    if (rc == 0)
        ck_assert_uint_eq(v, size_cases[_i].bytes);
    else
        ck_assert_uint_eq(v, 12345); /* untouched on error */
}
END_TEST

static const struct {
    const char *text;
    int rc;
    uint64_t ms;
} duration_cases[] = {
    {"0", 0, 0},
    {"0ms", 0, 0},
    {"250ms", 0, 250},
    {"5s", 0, 5000},
    {"5", 0, 5000},
    {"2m", 0, 120000},
    {"1h", 0, 3600000},
    {"1d", 0, 86400000},
    {"1.5s", 0, 1500},
    {"1.5", 0, 1500},
    {"0.001s", 0, 1},
    {"1.25m", 0, 75000},
    {"0.5h", 0, 1800000},
    {"1.0ms", 0, 1},
    {"1.100000000s", 0, 1100},
    {"18446744073709551615ms", 0, UINT64_MAX},
    {"18446744073709551615s", -1, 0},
    {"", -1, 0},
    {"s", -1, 0},
    {"1.s", -1, 0},
    {".5s", -1, 0},
    {"1.5ms", -1, 0},
    {"0.0001s", -1, 0},
    {"1.1234567891s", -1, 0},
    {"1sec", -1, 0},
    {"1S", -1, 0},
    {"-1s", -1, 0},
    {"+1s", -1, 0},
    {"1 s", -1, 0},
    {"1e3", -1, 0},
    {"1h30m", -1, 0},
};

START_TEST(test_parse_duration)
{
    uint64_t v = 12345;
    guarded_t g;
    int rc;

    guard_open(&g, duration_cases[_i].text);
    rc = yconf_parse_duration(g.s, &v);
    guard_close(&g);
    ck_assert_msg(rc == duration_cases[_i].rc, "\"%s\": rc %d", duration_cases[_i].text, rc);
    if (rc == 0)
        ck_assert_uint_eq(v, duration_cases[_i].ms);
    else
        ck_assert_uint_eq(v, 12345);
}
END_TEST

START_TEST(test_format_round_trip)
{
    static const struct {
        uint64_t v;
        const char *size, *duration;
    } cases[] = {
        {0, "0", "0s"},
        {1, "1", "1ms"},
        {1000, "1000", "1s"},
        {1024, "1KiB", "1024ms"},
        {1500, "1500", "1500ms"},
        {60000, "60000", "1m"},
        {90000, "90000", "90s"},
        {3600000, "3600000", "1h"},
        {86400000, "84375KiB", "24h"},
        {32 << 20, "32MiB", "33554432ms"},
        {64ull << 30, "64GiB", "68719476736ms"},
        {3ull << 40, "3TiB", "3298534883328ms"},
        {UINT64_MAX, "18446744073709551615", "18446744073709551615ms"},
    };
    char buf[64];
    uint64_t back;
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        yconf_format_size(cases[i].v, buf, sizeof buf);
        ck_assert_str_eq(buf, cases[i].size);
        ck_assert_int_eq(yconf_parse_size(buf, &back), 0);
        ck_assert_uint_eq(back, cases[i].v);
        yconf_format_duration(cases[i].v, buf, sizeof buf);
        ck_assert_str_eq(buf, cases[i].duration);
        ck_assert_int_eq(yconf_parse_duration(buf, &back), 0);
        ck_assert_uint_eq(back, cases[i].v);
    }
}
END_TEST

static const struct {
    const char *text, *host;
    uint16_t port;
} listen_cases[] = {
    {"127.0.0.1:8000", "127.0.0.1", 8000},
    {"[::1]:8000", "::1", 8000},
    {"localhost:8000", "localhost", 8000},
    {"*:8000", "0.0.0.0", 8000},
    {"0.0.0.0:8000", "0.0.0.0", 8000},
    {"[::]:1", "::", 1},
    {"gw-1.example.com:65535", "gw-1.example.com", 65535},
    {"[2001:db8::1]:443", "2001:db8::1", 443},
    {"[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80},
};

START_TEST(test_listen_forms)
{
    char *host = NULL, err[ERRLEN] = "";
    uint16_t port = 0;
    guarded_t g;
    int rc;

    guard_open(&g, listen_cases[_i].text);
    rc = yconf_parse_listen(g.s, &host, &port, err, sizeof err);
    guard_close(&g);
    ck_assert_msg(rc == 0, "%s: %s", listen_cases[_i].text, err);
    ck_assert_str_eq(host, listen_cases[_i].host);
    ck_assert_uint_eq(port, listen_cases[_i].port);
    free(host);
}
END_TEST

START_TEST(test_valid_host)
{
    ck_assert(yconf_valid_host("a", 1));
    ck_assert(yconf_valid_host("xn--bcher-kva.example", 21));
    ck_assert(yconf_valid_host("10.1.2.3", 8));
    ck_assert(yconf_valid_host("fe80::1", 7));
    ck_assert(!yconf_valid_host("", 0));
    ck_assert(!yconf_valid_host("a..b", 4));
    ck_assert(!yconf_valid_host("a-.b", 4));
    ck_assert(!yconf_valid_host("a.b.", 4));
    ck_assert(!yconf_valid_host("1.2.3", 5));
    ck_assert(!yconf_valid_host("1.2.3.4.5", 9));
    ck_assert(!yconf_valid_host("fe80::1%eth0", 12));
    ck_assert(!yconf_valid_host("0123456789012345678901234567890123456789012345678901234567890123",
                                64)); /* a label longer than 63 */
    /* Only len bytes count: the rest may be a port. */
    ck_assert(yconf_valid_host("h:80", 1));
}
END_TEST

/* ---------------------------------------------------------------- YAML rules, exact errors */

#define F "{D}/c.yaml"

/* The YAML accepted (yconf.h), loaded through the gateway's key table as a real file; the errors
 * of that table's own values are in test_config.c. */
static const err_case_t yaml_errors[] = {
    /* duplicates */
    {"server:\n  workers: 1\n  backlog: 2\n  workers: 3\n",
     F ":4: server.workers: duplicate key, first defined at line 2"},
    {"log:\n  level: info\nlog:\n  level: warn\n",
     F ":3: log: duplicate key, first defined at line 1"},
    /* wrong node kinds */
    {"server: 8000\n", F ":1: server: expected a mapping of server.* keys, got \"8000\""},
    {"server: [a, b]\n", F ":1: server: expected a mapping of server.* keys, got a list"},
    {"server:\n  workers:\n    count: 4\n",
     F ":2: server.workers: expected an integer from 0 to 256, got a mapping"},
    {"upstream:\n  url: [http://h]\n", F ":2: upstream.url: expected a string, got a list"},
    {"server:\n  workers: ~\n",
     F ":2: server.workers: expected an integer from 0 to 256, got null (remove the key to use "
       "the default)"},
    {"server:\n  workers:\n",
     F ":2: server.workers: expected an integer from 0 to 256, got null (remove the key to use "
       "the default)"},
    {"log:\n  level: null\n",
     F ":2: log.level: expected a string, got null (remove the key to use the default)"},
    {"- server\n", F ":1: expected a mapping of keys at the top level, got a list"},
    {"just text\n", F ":1: expected a mapping of keys at the top level, got \"just text\""},
    /* YAML features we refuse */
    {"server:\n  workers: &w 4\n  backlog: *w\n", F ":2: anchors (&name) are not supported"},
    {"server:\n  backlog: *w\n", F ":2: aliases (*name) are not supported"},
    {"log:\n  level: info\n---\nserver:\n  workers: 1\n",
     F ":3: more than one YAML document (---); a config is one document"},
    {"? [a, b]\n: 1\n", F ":1: a mapping key must be a plain name, not a list or mapping"},
    {"server.listen: 127.0.0.1:9000\n",
     F ":1: server.listen: dotted keys are not supported; nest \"listen:\" under \"server:\""},
    {"log:\n  level: \"in\\0fo\"\n",
     F ":2: log.level: contains a NUL character, got \"in\\x00fo\""},
    {"a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
     F ":1: nested deeper than 64 levels"},
    /* malformed YAML: libyaml's words, its line and column */
    {"server:\n  listen: \"127.0.0.1:8000\n",
     F ":3: malformed YAML: found unexpected end of stream at column 1 (while scanning a quoted "
       "scalar at line 2 column 11)"},
    {"server:\n\tlisten: x\n", F ":2: malformed YAML: a tab at column 1 (indent with spaces)"},
    {"a: b: c\n",
     F ":1: malformed YAML: mapping values are not allowed in this context at column 5"},
    {"server:\n  listen: x\n workers: 2\n",
     F ":3: malformed YAML: did not find expected key at column 2 (while parsing a block mapping "
       "at line 1 column 1)"},
    {"log:\n  level: \xff\n",
     F ":2: malformed YAML: invalid leading UTF-8 octet (byte 0xFF at offset 14)"},
    /* includes */
    {"include: {a: b}\n", F ":1: include: expected a file name or a list of file names"},
    {"include: [a.yaml, [b.yaml]]\n",
     F ":1: include: expected a file name or a list of file names"},
    {"include: \"\"\n", F ":1: include: expected a file name or a list of file names"},
    {"include:\n", F ":1: include: expected a file name or a list of file names"},
    {"include: nope.yaml\n", F ":1: include: {D}/nope.yaml: No such file or directory"},
    {"log:\n  level: warn\ninclude:\n  - c.yaml\n", F ":4: include: loop: " F " -> " F},
};

START_TEST(test_yaml_error)
{
    check_load_error(&yaml_errors[_i], _i);
}
END_TEST

/* ---------------------------------------------------------------- includes */

START_TEST(test_include_relative_and_order)
{
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    tmp_t t;

    tmp_open(&t);
    /* main.yaml: log.level before the include (overridden), server after it (wins). */
    tmp_write(&t, "main.yaml", "log:\n  level: debug\ninclude: sub/a.yaml\nserver:\n  workers: 5\n",
              path, sizeof path);
    /* sub/a.yaml names b.yaml relative to its own directory, sub/. */
    tmp_write(&t, "sub/a.yaml",
              "include: [b.yaml, b.yaml]\nlog:\n  level: warn\nserver:\n  workers: 3\n", err,
              sizeof err);
    tmp_write(&t, "sub/b.yaml", "server:\n  backlog: 7\nlog:\n  level: error\n", err, sizeof err);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c->log_level, "warn"); /* a.yaml after its include, after main's own */
    ck_assert_int_eq(c->workers, 5);
    ck_assert_int_eq(c->backlog, 7);
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

START_TEST(test_include_absolute_and_errors_inside)
{
    char path[PATHLEN], inc[PATHLEN], yaml[ERRLEN], err[ERRLEN] = "", want[ERRLEN];
    gw_config_t *c = gw_config_new();
    tmp_t t;

    tmp_open(&t);
    tmp_write(&t, "abs/x.yaml", "server:\n  backlog: 9\n", inc, sizeof inc);
    snprintf(yaml, sizeof yaml, "include: %s\n", inc);
    tmp_write(&t, "main.yaml", yaml, path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c->backlog, 9);
    /* An error inside an included file names that file and its line. */
    tmp_write(&t, "sub/bad.yaml", "# bad\nserver:\n  backlog: many\n", inc, sizeof inc);
    tmp_write(&t, "main.yaml", "include:\n  - sub/bad.yaml\n", path, sizeof path);
    ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
    ck_assert_str_eq(err, expand("{D}/sub/bad.yaml:3: server.backlog: expected an integer from 1 "
                                 "to 65535, got \"many\"",
                                 &t, want, sizeof want));
    tmp_write(&t, "main.yaml", "include:\n  - sub/none.yaml\n", path, sizeof path);
    ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
    ck_assert_str_eq(err, expand("{D}/main.yaml:2: include: {D}/sub/none.yaml: No such file or "
                                 "directory",
                                 &t, want, sizeof want));
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

START_TEST(test_include_loop)
{
    char path[PATHLEN], err[ERRLEN] = "", want[ERRLEN];
    gw_config_t *c = gw_config_new();
    tmp_t t;

    tmp_open(&t);
    tmp_write(&t, "a.yaml", "include: b.yaml\n", path, sizeof path);
    tmp_write(&t, "b.yaml", "log:\n  level: warn\ninclude: [c.yaml]\n", err, sizeof err);
    tmp_write(&t, "c.yaml", "include: ./a.yaml\n", err, sizeof err);
    ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
    ck_assert_str_eq(err, expand("{D}/c.yaml:1: include: loop: {D}/a.yaml -> {D}/b.yaml -> "
                                 "{D}/c.yaml -> {D}/./a.yaml",
                                 &t, want, sizeof want));
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

START_TEST(test_include_depth)
{
    char name[32], text[64], path[PATHLEN], err[ERRLEN] = "", want[ERRLEN];
    gw_config_t *c = gw_config_new();
    tmp_t t;
    int i;

    tmp_open(&t);
    /* f0 includes f1 ... includes f8: eight levels of nesting are allowed. */
    for (i = 0; i <= 9; i++) {
        snprintf(name, sizeof name, "f%d.yaml", i);
        snprintf(text, sizeof text, i < 8 ? "include: f%d.yaml\n" : "server:\n  backlog: %d\n",
                 i + 1);
        tmp_write(&t, name, text, path, sizeof path);
    }
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/f0.yaml", t.dir), (int)sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c->backlog, 9);
    /* One more level is refused. */
    tmp_write(&t, "f8.yaml", "include: f9.yaml\n", path, sizeof path);
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/f0.yaml", t.dir), (int)sizeof path);
    ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
    ck_assert_str_eq(err, expand("{D}/f8.yaml:1: include: {D}/f9.yaml: includes nested deeper "
                                 "than 8 levels",
                                 &t, want, sizeof want));
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

/* ---------------------------------------------------------------- yconf on its own table */

typedef struct demo {
    bool flag;
    double ratio;
    char *name;
    char *token;
    int any_int;
    size_t any_size;
    uint64_t any_ms;
    double any_number;
    char *mode; /* custom: uppercased copy of "fast" or "safe" */
    int deep;
    yconf_listen_t addr;
} demo_t;

#define D(field, ctype) YCONF_OFFSET(demo_t, field, ctype)

static const yconf_key_t demo_keys[] = {
    {.name = "feature.flag",
     .flags = YCONF_BOOL,
     .offset = D(flag, bool),
     .def = "false",
     .help = "a switch"},
    {.name = "feature.ratio",
     .flags = YCONF_DOUBLE,
     .offset = D(ratio, double),
     .min = 0,
     .max = 1,
     .def = "0.5"},
    {.name = "feature.name", .flags = YCONF_STRING, .offset = D(name, char *)},
    {.name = "any.int", .flags = YCONF_INT, .offset = D(any_int, int), .def = "-5"},
    /* out of its section's run on purpose: the dump must still write "feature:" once */
    {.name = "feature.token",
     .flags = YCONF_STRING | YCONF_SECRET,
     .offset = D(token, char *),
     .def = "s3cret"},
    {.name = "any.size", .flags = YCONF_SIZE, .offset = D(any_size, size_t), .def = "1"},
    {.name = "any.duration", .flags = YCONF_DURATION, .offset = D(any_ms, uint64_t)},
    {.name = "any.number", .flags = YCONF_DOUBLE, .offset = D(any_number, double), .def = "-1e300"},
    {.name = "mode",
     .flags = YCONF_CUSTOM,
     .offset = D(mode, char *),
     .def = "fast",
     .custom = &mode_ops},
    {.name = "deep.a.b.c", .flags = YCONF_INT, .offset = D(deep, int), .def = "1"},
    {.name = "addr", .flags = YCONF_LISTEN, .offset = D(addr, yconf_listen_t), .def = "*:1"},
    YCONF_END,
};

static const err_case_t demo_errors[] = {
    {"feature:\n  flag: yes\n",
     "demo.yaml:2: feature.flag: expected true or false (yes/no/on/off are not accepted), got "
     "\"yes\""},
    {"feature:\n  flag: On\n",
     "demo.yaml:2: feature.flag: expected true or false (yes/no/on/off are not accepted), got "
     "\"On\""},
    {"feature:\n  flag: True\n", "demo.yaml:2: feature.flag: expected true or false, got \"True\""},
    {"feature:\n  flag: 1\n", "demo.yaml:2: feature.flag: expected true or false, got \"1\""},
    {"feature:\n  ratio: 1.5\n",
     "demo.yaml:2: feature.ratio: expected a number from 0 to 1, got \"1.5\""},
    {"feature:\n  ratio: nan\n",
     "demo.yaml:2: feature.ratio: expected a number from 0 to 1, got \"nan\""},
    {"feature:\n  ratio: 0x1p-1\n",
     "demo.yaml:2: feature.ratio: expected a number from 0 to 1, got \"0x1p-1\""},
    {"feature:\n  ratio: \"\"\n",
     "demo.yaml:2: feature.ratio: expected a number from 0 to 1, got \"\""},
    {"any:\n  number: 1e999\n", "demo.yaml:2: any.number: expected a number, got \"1e999\""},
    {"any:\n  number: inf\n", "demo.yaml:2: any.number: expected a number, got \"inf\""},
    {"any:\n  int: 2147483648\n",
     "demo.yaml:2: any.int: expected an integer from -2147483648 to 2147483647, got "
     "\"2147483648\""},
    {"any:\n  size: 1x\n", "demo.yaml:2: any.size: expected a size, got \"1x\""},
    {"any:\n  duration: 1y\n", "demo.yaml:2: any.duration: expected a duration, got \"1y\""},
    {"mode: slow\n", "demo.yaml:1: mode: must be fast or safe, got \"slow\""},
    {"mode: [fast]\n", "demo.yaml:1: mode: expected fast or safe, got a list"},
    {"deep:\n  a:\n    b:\n      c: x\n",
     "demo.yaml:4: deep.a.b.c: expected an integer from -2147483648 to 2147483647, got \"x\""},
    {"deep:\n  a: 5\n", "demo.yaml:2: deep.a: expected a mapping of deep.a.* keys, got \"5\""},
    {"deep:\n  a:\n    bb: 1\n", "demo.yaml:3: deep.a.bb: unknown key (did you mean deep.a.b?)"},
    {"feature:\n  token: [x]\n", "demo.yaml:2: feature.token: expected a string, got a list"},
    {"addr: 1.2.3.4\n",
     "demo.yaml:1: addr: expected host:port such as 127.0.0.1:8000 or *:8000, got \"1.2.3.4\""},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: "
     "1\n",
     "demo.yaml:1: invalid key "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
    {"\"\": 1\n", "demo.yaml:1: invalid key \"\""},
    {"\"a\\nb\": 1\n", "demo.yaml:1: invalid key \"a\\x0ab\""},
    {"feature:\n  \"a\\0b\": 1\n", "demo.yaml:2: feature: invalid key \"a\\x00b\""},
    /* a long value is cut in the message */
    {"any:\n  size: 0123456789012345678901234567890123456789012345678901234567890123456789x\n",
     "demo.yaml:2: any.size: expected a size, got "
     "\"012345678901234567890123456789012345678901234567890123456789...\""},
};

START_TEST(test_demo_error)
{
    char err[ERRLEN] = "";
    demo_t d;
    int rc;

    memset(&d, 0, sizeof d);
    ck_assert_int_eq(yconf_init(demo_keys, &d, err, sizeof err), 0);
    rc = yconf_load_buffer(demo_keys, &d, "demo.yaml", demo_errors[_i].yaml,
                           strlen(demo_errors[_i].yaml), err, sizeof err);
    yconf_dispose(demo_keys, &d);
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err, demo_errors[_i].want);
}
END_TEST

START_TEST(test_demo_values_and_dump)
{
    static const char yaml[] =
        "feature:\n  flag: true\n  ratio: 0.1\n  name: \"tab\\there \\\"q\\\" "
        "\\\\ \xc3\xa9\"\n"
        "any:\n  int: -2147483648\n  size: 5TB\n  duration: 1d\n"
        "  number: 1e-300\nmode: safe\ndeep:\n  a:\n    b:\n      c: 42\n";
    char err[ERRLEN] = "", *text = NULL, *text2 = NULL;
    size_t size = 0, size2 = 0;
    demo_t d, back;
    const char *which;
    FILE *f;

    memset(&d, 0, sizeof d);
    memset(&back, 0, sizeof back);
    ck_assert_int_eq(yconf_init(demo_keys, &d, err, sizeof err), 0);
    ck_assert_str_eq(d.name, ""); /* a string without default is "", never NULL */
    ck_assert_str_eq(d.mode, "FAST");
    ck_assert_str_eq(d.addr.host, "0.0.0.0");
    ck_assert_msg(
        yconf_load_buffer(demo_keys, &d, "demo.yaml", yaml, strlen(yaml), err, sizeof err) == 0,
        "%s", err);
    ck_assert(d.flag);
    ck_assert_str_eq(d.name, "tab\there \"q\" \\ \xc3\xa9");
    ck_assert_int_eq(d.any_int, -2147483648);
    ck_assert_uint_eq(d.any_size, 5000000000000ull);
    ck_assert_str_eq(d.mode, "SAFE");
    ck_assert_int_eq(d.deep, 42);
    ck_assert_int_eq(yconf_set(demo_keys, &d, "feature.flag=false", err, sizeof err), 0);
    ck_assert(!d.flag);
    ck_assert_int_eq(yconf_set(demo_keys, &d, "feature.token=a\nb", err, sizeof err), 0);

    /* With secrets and help: everything reads back, the deep key is nested three times. */
    f = memstream(&text, &size);
    yconf_dump(demo_keys, &d, f, YCONF_DUMP_SECRETS | YCONF_DUMP_HELP);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "feature:\n  # a switch\n  flag: false\n"));
    ck_assert_ptr_nonnull(strstr(text, "  token: \"a\\x0ab\"\n"));
    ck_assert_ptr_nonnull(strstr(text, "deep:\n  a:\n    b:\n      c: 42\n"));
    ck_assert_ptr_nonnull(strstr(text, "mode: \"safe\"\n"));
    ck_assert_ptr_nonnull(strstr(text, "addr: \"0.0.0.0:1\"\n"));
    ck_assert_int_eq(yconf_init(demo_keys, &back, err, sizeof err), 0);
    ck_assert_msg(yconf_load_buffer(demo_keys, &back, "dump", text, size, err, sizeof err) == 0,
                  "%s\n%s", err, text);
    ck_assert_msg(same_values(demo_keys, &d, &back, false, &which), "%s differs", which);
    ck_assert_str_eq(back.mode, "SAFE");
    /* Dumping what was read back gives the same text. */
    f = memstream(&text2, &size2);
    yconf_dump(demo_keys, &back, f, YCONF_DUMP_SECRETS | YCONF_DUMP_HELP);
    fclose(f);
    ck_assert_str_eq(text, text2);
    free(text);
    free(text2);
    yconf_dispose(demo_keys, &d);
    yconf_dispose(demo_keys, &back);
    ck_assert_ptr_null(d.mode);
}
END_TEST

/* Broken tables are reported by yconf_init, naming the key. */
static const yconf_key_t bad_dup[] = {
    {.name = "a.b", .flags = YCONF_INT, .offset = D(any_int, int)},
    {.name = "a.b", .flags = YCONF_INT, .offset = D(deep, int)},
    YCONF_END,
};
static const yconf_key_t bad_section[] = {
    {.name = "a", .flags = YCONF_INT, .offset = D(any_int, int)},
    {.name = "a.b", .flags = YCONF_INT, .offset = D(deep, int)},
    YCONF_END,
};
static const yconf_key_t bad_name[] = {
    {.name = "A.b", .flags = YCONF_INT, .offset = D(any_int, int)},
    YCONF_END,
};
static const yconf_key_t bad_dots[] = {
    {.name = "a..b", .flags = YCONF_INT, .offset = D(any_int, int)},
    YCONF_END,
};
static const yconf_key_t bad_include[] = {
    {.name = "include", .flags = YCONF_STRING, .offset = D(name, char *)},
    YCONF_END,
};
static const yconf_key_t bad_type[] = {
    {.name = "a", .flags = 0, .offset = D(any_int, int)},
    YCONF_END,
};
static const yconf_key_t bad_default[] = {
    {.name = "a", .flags = YCONF_INT, .offset = D(any_int, int), .min = 0, .max = 10, .def = "x"},
    YCONF_END,
};
static const yconf_key_t bad_range[] = {
    {.name = "a", .flags = YCONF_STRING, .offset = D(name, char *), .min = 1, .max = 2},
    YCONF_END,
};
static const yconf_key_t bad_custom[] = {
    {.name = "a", .flags = YCONF_CUSTOM, .offset = D(mode, char *)},
    YCONF_END,
};

static const struct {
    const yconf_key_t *keys;
    const char *want;
} bad_tables[] = {
    {bad_dup, "key table: a.b: defined twice"},
    {bad_section, "key table: a: is both a key and a section"},
    {bad_name, "key table: A.b: invalid key name"},
    {bad_dots, "key table: a..b: invalid key name"},
    {bad_include, "key table: include: \"include\" is reserved for includes"},
    {bad_type, "key table: a: invalid type or flags 0x0"},
    {bad_default, "key table: a: default: expected an integer from 0 to 10, got \"x\""},
    {bad_range, "key table: a: invalid range"},
    {bad_custom, "key table: a: YCONF_CUSTOM without custom->parse"},
};

START_TEST(test_bad_table)
{
    char err[ERRLEN] = "";
    demo_t d;

    memset(&d, 0, sizeof d);
    ck_assert_int_eq(yconf_init(bad_tables[_i].keys, &d, err, sizeof err), -1);
    yconf_dispose(bad_tables[_i].keys, &d);
    ck_assert_str_eq(err, bad_tables[_i].want);
}
END_TEST

START_TEST(test_secret_not_dumped_by_default)
{
    char err[ERRLEN] = "", *text = NULL;
    size_t size = 0;
    demo_t d;
    FILE *f;

    memset(&d, 0, sizeof d);
    ck_assert_int_eq(yconf_init(demo_keys, &d, err, sizeof err), 0);
    f = memstream(&text, &size);
    yconf_dump(demo_keys, &d, f, 0);
    fclose(f);
    ck_assert_ptr_null(strstr(text, "s3cret"));
    ck_assert_ptr_nonnull(strstr(text, "  # token: (secret, not shown)\n"));
    ck_assert_ptr_null(strstr(text, "# a switch"));
    free(text);
    yconf_dispose(demo_keys, &d);
}
END_TEST

/* Mutated copies of a shipped file: whatever the bytes, no crash, no leak (valgrind), and every
 * error names the file it is about. */
START_TEST(test_mutations)
{
    static const char alphabet[] = ":-[]{}&*!|>'\"#%@` \n\t\\,?0a.~\x01\xff";
    static const char name[] = "/nonexistent/fuzz.yaml";
    char path[PATHLEN], err[ERRLEN], *text = NULL, *copy;
    size_t size = 0, len;
    unsigned seed = 12345;
    FILE *f, *in;
    int round, j;

    conf_path("performance.yaml", path, sizeof path);
    ck_assert_ptr_nonnull(in = fopen(path, "r"));
    f = memstream(&text, &size);
    while ((j = fgetc(in)) != EOF)
        fputc(j, f);
    fclose(in);
    fclose(f);
    ck_assert_ptr_nonnull(copy = malloc(size + 1));
    for (round = 0; round < 1000; round++) {
        gw_config_t *c = gw_config_new();
        memcpy(copy, text, size + 1);
        len = size;
        for (j = 0; j < 1 + round % 4; j++)
            copy[(size_t)rand_r(&seed) % len] =
                alphabet[(size_t)rand_r(&seed) % (sizeof alphabet - 1)];
        if (round % 7 == 0) len = (size_t)rand_r(&seed) % len; /* cut short */
        err[0] = '\0';
        if (yconf_load_buffer(gw_config_keys(), c, name, copy, len, err, sizeof err) < 0)
            ck_assert_msg(strncmp(err, name, strlen(name)) == 0, "round %d: %s", round, err);
        gw_config_free(c);
    }
    free(copy);
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- runner */

static Suite *yconf_suite(void)
{
    Suite *s = suite_create("yconf");
    TCase *values = tcase_create("values"), *yaml = tcase_create("yaml");
    TCase *files = tcase_create("files"), *table = tcase_create("table");

    tcase_add_loop_test(values, test_parse_size, 0, (int)NELEM(size_cases));
    tcase_add_loop_test(values, test_parse_duration, 0, (int)NELEM(duration_cases));
    tcase_add_test(values, test_format_round_trip);
    tcase_add_loop_test(values, test_listen_forms, 0, (int)NELEM(listen_cases));
    tcase_add_test(values, test_valid_host);
    tcase_add_loop_test(yaml, test_yaml_error, 0, (int)NELEM(yaml_errors));
    tcase_add_test(files, test_include_relative_and_order);
    tcase_add_test(files, test_include_absolute_and_errors_inside);
    tcase_add_test(files, test_include_loop);
    tcase_add_test(files, test_include_depth);
    tcase_add_loop_test(table, test_demo_error, 0, (int)NELEM(demo_errors));
    tcase_add_test(table, test_demo_values_and_dump);
    tcase_add_loop_test(table, test_bad_table, 0, (int)NELEM(bad_tables));
    tcase_add_test(table, test_secret_not_dumped_by_default);
    tcase_add_test(table, test_mutations);
    suite_add_tcase(s, values);
    suite_add_tcase(s, yaml);
    suite_add_tcase(s, files);
    suite_add_tcase(s, table);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(yconf_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
