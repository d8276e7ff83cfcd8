/* Serde-compatible JSON for fake_qdrant: a parser whose error texts and positions read like
 * serde_json's, and a compact serializer that prints floats the way Rust's ryu does. */
#ifndef FQ_JSON_H
#define FQ_JSON_H

#include <stddef.h>
#include <jansson.h>

struct evbuffer;

/* A parsed document: the jansson tree plus the end offset of every value, so later type errors
 * can name "line L column C" like serde does. Opaque. */
typedef struct fq_jdoc fq_jdoc_t;

/* Parses buf[0..len). On a syntax error returns NULL and writes serde's message ("expected value
 * at line 1 column 1") to err. */
fq_jdoc_t *fq_jdoc_parse(const char *buf, size_t len, char *err, size_t errlen);
json_t *fq_jdoc_root(const fq_jdoc_t *doc);
void fq_jdoc_free(fq_jdoc_t *doc);
/* Writes " at line L column C" for the end of value v (or of the whole document when v is NULL
 * or unknown) into out. */
void fq_jdoc_where(const fq_jdoc_t *doc, const json_t *v, char *out, size_t outlen);

/* Serializes compactly (serde_json::to_string style). Returns 0, -1 on allocation failure. */
int fq_json_dump_evbuffer(const json_t *v, struct evbuffer *out);
/* Same into a malloc'd NUL-terminated string; *len gets its length. NULL on failure. */
char *fq_json_dumps(const json_t *v, size_t *len);

/* A real that serializes exactly as Rust prints the f32 f (shortest round-trip digits). NaN and
 * infinities become null, as serde_json does. Never NULL. */
json_t *fq_json_f32(float f);
/* A real printed like a Rust f64. Non-finite values become null. Never NULL. */
json_t *fq_json_f64(double d);

/* Formats d like ryu (shortest digits, "1.0", "1e-7") into out (>= 32 bytes); returns length. */
int fq_fmt_f64(double d, char *out, size_t outlen);

#endif
