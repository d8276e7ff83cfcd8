/* yconf: binds a YAML config file to a C struct through a declarative key table.
 * Generic and reusable: it knows YAML, value types and error messages, nothing of the program. */
#ifndef YCONF_H
#define YCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The YAML accepted (libyaml 0.2.5 underneath, which does no implicit typing):
 * - One document whose top level is a mapping. An empty file (or only comments) sets nothing.
 * - Nested mappings give dotted key names: "server:\n  listen: x" sets "server.listen". Keys
 *   written with dots ("server.listen: x") are rejected: one spelling per key keeps files
 * greppable.
 * - Scalars are text; quoted or not makes no difference ("8000" and 8000 are the same integer).
 *   An empty value ("key:") is the empty string for a string key. Otherwise empty, "~" and "null"
 *   are rejected for keys (remove the key to get the default) and mean "nothing set" for a
 *   section ("server:" with everything under it commented out).
 * - Anchors, aliases, multiple documents, complex keys and tabs for indentation are rejected.
 * - Duplicate keys in one mapping are rejected. Across files (include) a later value wins.
 * - Top-level "include: FILE" or "include: [FILE, ...]": each file is loaded right there, in
 *   order, so keys after the include override it and it overrides keys before it. Relative paths
 *   are relative to the including file's directory. Loops and nesting deeper than 8 are errors.
 *
 * Value syntax per type:
 * - bool: exactly "true" or "false" (YAML 1.1 yes/no/on/off are refused, with a message saying so).
 * - int: decimal, optional sign ("0x10", "1e3", "1_000" are refused).
 * - size: digits with an optional suffix: none or B = bytes; k K KiB = 1024; m M MiB = 1024^2;
 *   g G GiB = 1024^3; t T TiB = 1024^4; KB kB MB GB TB = powers of 1000. No fractions, no spaces.
 * - duration: a number with an optional fraction and unit: ms, s, m, h, d; no unit = seconds.
 *   "250ms", "1.5s", "2m", "1h", "30". The result must be a whole number of milliseconds.
 * - double: strtod syntax, finite values only.
 * - listen: "host:port", "[ipv6]:port", "*:port" (stored as host "0.0.0.0"), port 1..65535.
 *   The host is a DNS name or an IP literal; it is stored without brackets.
 *
 * Errors are written to a caller buffer as "FILE:LINE: KEY: problem, got "value"" (the value is
 * left out for YCONF_SECRET keys); functions return 0 on success and -1 on error. Nothing here
 * keeps global state: every function is reentrant and may run on any thread.
 */

/* Value types, the low byte of yconf_key_t.flags, and the C type the field must have. */
enum yconf_type {
    YCONF_STRING = 1, /* char *: heap string owned by the struct, never NULL after yconf_init */
    YCONF_BOOL,       /* bool */
    YCONF_INT,        /* int */
    YCONF_SIZE,       /* size_t, bytes */
    YCONF_DURATION,   /* uint64_t, milliseconds */
    YCONF_DOUBLE,     /* double */
    YCONF_LISTEN,     /* a struct laid out like yconf_listen_t (host is a heap string) */
    YCONF_CUSTOM,     /* anything: key->custom parses, formats and disposes it */
    YCONF_MAP,        /* T *: a growable array of T, one per user-chosen name (key->map) */
};
#define YCONF_TYPE_MASK 0xffu
/* Flag: the value is a credential. yconf_dump leaves it out unless asked, and error messages
 * never echo it. */
#define YCONF_SECRET 0x100u
/* Flag, for YCONF_STRING: a YAML list of scalars is accepted too, stored joined by ", " (the
 * validator and the user of the field split it). Each element must be non-empty, without ','. */
#define YCONF_LIST 0x200u

typedef struct yconf_listen {
    char *host; /* never NULL once set; IPv6 literals without brackets */
    uint16_t port;
} yconf_listen_t;

/* Extra check run on a parsed value before it is stored. text is the value as written (for
 * YCONF_STRING, value is that same string); value points to the parsed value, typed like the
 * field. Return 0, or -1 after writing the problem to err ("must start with http://");
 * yconf adds the file, line, key and the value itself. */
typedef int (*yconf_validate_cb)(const char *text, const void *value, char *err, size_t errlen);

/* Operations of a YCONF_CUSTOM key. parse replaces *field (releasing what it held) and returns
 * 0, or returns -1 with the problem in err and the field untouched. format writes text that
 * parse accepts (for yconf_dump; NULL = not shown) and returns 0 / -1. dispose releases the
 * field and may be NULL. The field starts zero-filled. */
typedef struct yconf_custom {
    const char *what; /* for "expected <what>", e.g. "a log level" */
    int (*parse)(const char *text, void *field, char *err, size_t errlen);
    int (*format)(const void *field, char *buf, size_t len);
    void (*dispose)(void *field);
} yconf_custom_t;

/*
 * YCONF_MAP: a key whose value is a mapping of names the user chooses, each a section bound by
 * a sub-table of keys into one element of a growable array of structs:
 *
 *   models:               # the YCONF_MAP key "models", field `gw_model_t *models`
 *     minilm:             # one element, its name stored in the element
 *       dimension: 384    # "dimension" in the sub-table, a field of gw_model_t
 *
 * - Elements keep the order in which their names first appear; each starts at the sub-table's
 *   defaults. A name seen again (in a later file) updates the same element key by key, like a
 *   section; a name twice in one mapping is a duplicate key. "models:" with nothing under it
 *   adds nothing; there is no way to remove an element once added.
 * - Names are non-empty, at most 64 bytes, without '.', '=', spaces or control characters
 *   (they become part of dotted names); map->check_name may narrow that.
 * - Errors name the element: "FILE:LINE: models.minilm.dimension: expected ...".
 * - map->check, when set, runs on an element once its mapping in a file has been applied
 *   ("FILE:LINE: models.minilm: problem", the line of the name) and again from yconf_check.
 * - yconf_set("models.minilm.dimension=384") sets one key of the element named minilm and
 *   creates the element (at its defaults) when there is none: run yconf_check once every
 *   override is applied, so that an element created from the command line is complete.
 * - yconf_dump writes every element; an empty map is written "models: {}".
 * - The key's offset is the array pointer's (YCONF_OFFSET(stype, field, T *)), the count is a
 *   size_t at map->count_offset of the same struct; no default, range or validate. Sub-tables
 *   may have sections but no YCONF_MAP keys.
 */
typedef struct yconf_key yconf_key_t;
typedef struct yconf_map {
    const yconf_key_t *keys; /* YCONF_END-terminated; names relative to the element */
    size_t elem_size;        /* sizeof(T) */
    size_t name_offset;      /* char * in T receiving the element's name (heap, owned) */
    size_t count_offset;     /* size_t in the parent struct: number of elements */
    size_t max_count;        /* most elements; 0 = no limit */
    /* Optional narrower rule for names: 0, or -1 with the problem in err. */
    int (*check_name)(const char *name, char *err, size_t errlen);
    /* Optional check of one whole element (required keys, keys that depend on each other). */
    int (*check)(const void *elem, char *err, size_t errlen);
} yconf_map_t;

/* One key. A table is an array of these ending with YCONF_END. */
struct yconf_key {
    const char *name; /* dotted path, [a-z0-9_] components: "server.listen" */
    unsigned flags;   /* one enum yconf_type | YCONF_SECRET */
    size_t offset;    /* of the field in the struct: use YCONF_OFFSET */
    double min, max;  /* inclusive range in the stored unit (bytes, ms); min == max: none */
    const char *def;  /* default, written like a config value; NULL: "" / zero */
    yconf_validate_cb validate;   /* optional; not for YCONF_CUSTOM (its parse checks) */
    const char *help;             /* one line: what the key does (yconf_dump YCONF_DUMP_HELP) */
    const yconf_custom_t *custom; /* YCONF_CUSTOM only */
    const yconf_map_t *map;       /* YCONF_MAP only */
};

/* clang-format off */
#define YCONF_END {.name = NULL}
/* clang-format on */

/* offsetof that also fails to compile unless stype.field has C type ctype, so a table entry
 * cannot bind an int key to a size_t field. */
#define YCONF_OFFSET(stype, field, ctype)                                                          \
    (offsetof(stype, field) + 0 * sizeof(_Generic(((stype *)0)->field, ctype : 1)))

/* Checks the table (names, types, no key that is also a section, defaults that parse and are in
 * range) and sets every field to its default. base must be zero-filled or hold values from an
 * earlier yconf_init: old strings are freed. 0 / -1 (a table bug, or out of memory). */
int yconf_init(const yconf_key_t *keys, void *base, char *err, size_t errlen);

/* Applies a YAML file (and its includes) on top of what base holds. On -1 base may be partly
 * updated but stays consistent (yconf_dispose frees it): load into a fresh struct and swap on
 * success if the old one must survive a failed reload. */
int yconf_load_file(const yconf_key_t *keys, void *base, const char *path, char *err,
                    size_t errlen);

/* Same for YAML held in memory; name is used in errors and to resolve relative includes. */
int yconf_load_buffer(const yconf_key_t *keys, void *base, const char *name, const char *buf,
                      size_t len, char *err, size_t errlen);

/* Applies one "key=value" override (a command line --set): the value is raw text, not YAML,
 * checked like a file value. Errors read "--set key=value: problem". 0 / -1. */
int yconf_set(const yconf_key_t *keys, void *base, const char *key_eq_value, char *err,
              size_t errlen);

/* Runs the checks that span keys: map->check on every element of every YCONF_MAP key, errors
 * reading "models.minilm: problem". Call after the last file and --set. 0 / -1. */
int yconf_check(const yconf_key_t *keys, const void *base, char *err, size_t errlen);

#define YCONF_DUMP_SECRETS 0x1u /* print YCONF_SECRET values instead of a comment */
#define YCONF_DUMP_HELP    0x2u /* a "# help" comment line above each key */
/* Writes the values as nested YAML that yconf_load_file reads back to the same values
 * (secrets excepted, unless YCONF_DUMP_SECRETS). */
void yconf_dump(const yconf_key_t *keys, const void *base, FILE *out, unsigned flags);

/* Frees what the table's fields own (strings, listen hosts, custom values) and sets them to
 * NULL / zero. base itself is the caller's. */
void yconf_dispose(const yconf_key_t *keys, void *base);

/* The key named name, or NULL. */
const yconf_key_t *yconf_find(const yconf_key_t *keys, const char *name);

/* The value parsers and formatters behind the types, for callers with text from elsewhere.
 * Parsers take a NUL-terminated string and return 0 / -1; formatters write the shortest exact
 * form ("32MiB", "1500ms", "1h") and return what snprintf returns. */
int yconf_parse_size(const char *s, uint64_t *bytes);
int yconf_parse_duration(const char *s, uint64_t *ms);
int yconf_parse_listen(const char *s, char **host, uint16_t *port, char *err, size_t errlen);
int yconf_format_size(uint64_t bytes, char *buf, size_t len);
int yconf_format_duration(uint64_t ms, char *buf, size_t len);

/* Whether host[0..len) is a DNS name, an IPv4 literal or an IPv6 literal (no brackets). */
bool yconf_valid_host(const char *host, size_t len);

#endif /* YCONF_H */
