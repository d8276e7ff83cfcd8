/* gzip / deflate for fake_qdrant's responses and request bodies (zlib; deflate is the zlib
 * format, as RFC 9110 8.4.1.2 defines the "deflate" coding). */
#include "fq_gzip.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <zlib.h>

#define OUT_CHUNK (64 * 1024)

/* One Accept-Encoding element "name[;q=x]": its q (1 when absent, -1 when malformed). */
static double element_q(const char *p, size_t n)
{
    const char *semi = memchr(p, ';', n);
    if (!semi) return 1;
    const char *q = semi + 1, *end = p + n;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (end - q < 2 || (q[0] != 'q' && q[0] != 'Q') || q[1] != '=') return -1;
    char buf[16];
    size_t len = (size_t)(end - q - 2) < sizeof(buf) - 1 ? (size_t)(end - q - 2) : sizeof(buf) - 1;
    memcpy(buf, q + 2, len);
    buf[len] = '\0';
    char *e;
    double v = strtod(buf, &e);
    while (*e == ' ' || *e == '\t')
        e++;
    return *e || v < 0 || v > 1 ? -1 : v;
}

static int name_is(const char *p, size_t n, const char *name)
{
    size_t k = strcspn(p, ";, \t");
    if (k > n) k = n;
    return k == strlen(name) && strncasecmp(p, name, k) == 0;
}

fq_coding_t fq_coding_negotiate(const char *ae)
{
    double gz = -1, df = -1, star = -1;
    const char *p = ae;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        if (!n) break;
        double q = element_q(p, n);
        if (name_is(p, n, "gzip") || name_is(p, n, "x-gzip"))
            gz = q;
        else if (name_is(p, n, "deflate"))
            df = q;
        else if (name_is(p, n, "*"))
            star = q;
        p += n;
    }
    if (gz < 0 && star >= 0) gz = star;
    if (gz > 0 && gz >= df) return FQ_CODING_GZIP;
    if (df > 0) return FQ_CODING_DEFLATE;
    return FQ_CODING_IDENTITY;
}

fq_coding_t fq_coding_parse(const char *ce)
{
    if (!ce) return FQ_CODING_IDENTITY;
    while (*ce == ' ' || *ce == '\t')
        ce++;
    size_t n = strlen(ce);
    while (n && (ce[n - 1] == ' ' || ce[n - 1] == '\t'))
        n--;
    if (!n || (n == 8 && strncasecmp(ce, "identity", 8) == 0)) return FQ_CODING_IDENTITY;
    if ((n == 4 && strncasecmp(ce, "gzip", 4) == 0) ||
        (n == 6 && strncasecmp(ce, "x-gzip", 6) == 0))
        return FQ_CODING_GZIP;
    if (n == 7 && strncasecmp(ce, "deflate", 7) == 0) return FQ_CODING_DEFLATE;
    return FQ_CODING_OTHER;
}

const char *fq_coding_name(fq_coding_t c)
{
    return c == FQ_CODING_GZIP ? "gzip" : c == FQ_CODING_DEFLATE ? "deflate" : "identity";
}

/* Runs z over all of in (drained) into out. 0 done, -1 zlib error or corrupt / truncated /
 * trailing input, 1 the output would pass limit. Bodies are at most a few tens of MiB: in is
 * made contiguous first. */
static int pump(z_stream *z, int encode, struct evbuffer *in, struct evbuffer *out, size_t limit)
{
    size_t n = evbuffer_get_length(in), total = 0;
    z->next_in = n ? evbuffer_pullup(in, -1) : NULL;
    z->avail_in = (uInt)n;
    int rc;
    do {
        struct evbuffer_iovec ov;
        if (evbuffer_reserve_space(out, OUT_CHUNK, &ov, 1) < 1) return -1;
        z->next_out = ov.iov_base;
        z->avail_out = OUT_CHUNK;
        rc = encode ? deflate(z, Z_FINISH) : inflate(z, Z_NO_FLUSH);
        ov.iov_len = OUT_CHUNK - z->avail_out;
        evbuffer_commit_space(out, &ov, 1);
        total += ov.iov_len;
        if (total > limit) return 1;
        if (rc == Z_BUF_ERROR && !encode && z->avail_in == 0) return -1; /* truncated */
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return -1;
    } while (rc != Z_STREAM_END);
    if (z->avail_in) return -1; /* bytes after the end of the stream */
    evbuffer_drain(in, n);
    return 0;
}

struct evbuffer *fq_coding_encode(fq_coding_t c, struct evbuffer *in)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, c == FQ_CODING_GZIP ? 31 : 15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    struct evbuffer *out = evbuffer_new();
    int rc = pump(&z, 1, in, out, SIZE_MAX);
    deflateEnd(&z);
    if (rc != 0) {
        evbuffer_free(out);
        return NULL;
    }
    return out;
}

struct evbuffer *fq_coding_decode(fq_coding_t c, struct evbuffer *in, size_t limit, int *overflow)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    *overflow = 0;
    if (inflateInit2(&z, c == FQ_CODING_GZIP ? 31 : 15) != Z_OK) return NULL;
    struct evbuffer *out = evbuffer_new();
    int rc = pump(&z, 0, in, out, limit);
    inflateEnd(&z);
    if (rc != 0) {
        *overflow = rc == 1;
        evbuffer_free(out);
        return NULL;
    }
    return out;
}
