/* Content codings of fake_qdrant, as Qdrant's actix Compress middleware and Json extractor use
 * them: gzip / deflate responses for clients whose Accept-Encoding asks for them, and gzip /
 * deflate request bodies decoded (bounded) before JSON parsing. zlib does the work. */
#ifndef FQ_GZIP_H
#define FQ_GZIP_H

#include <stddef.h>

struct evbuffer;

typedef enum {
    FQ_CODING_IDENTITY = 0,
    FQ_CODING_GZIP,
    FQ_CODING_DEFLATE,
    FQ_CODING_OTHER
} fq_coding_t;

/* The coding to answer with for this Accept-Encoding value (NULL: identity): the supported one
 * with the highest q (gzip before deflate on a tie, `*` counts as gzip); q=0 refuses. */
fq_coding_t fq_coding_negotiate(const char *accept_encoding);
/* The coding a Content-Encoding value names (NULL or "identity": identity; br, zstd, …: OTHER). */
fq_coding_t fq_coding_parse(const char *content_encoding);
const char *fq_coding_name(fq_coding_t c);

/* Compresses all of in (drained) into a new buffer; NULL on a zlib failure. */
struct evbuffer *fq_coding_encode(fq_coding_t c, struct evbuffer *in);
/* Decodes in (drained) into a new buffer of at most limit bytes. NULL on failure, with
 * *overflow set when the decoded body is larger than limit, else the data is corrupt. */
struct evbuffer *fq_coding_decode(fq_coding_t c, struct evbuffer *in, size_t limit, int *overflow);

#endif
