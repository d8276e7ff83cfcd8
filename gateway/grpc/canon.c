/* Canonical re-encoding of cacheable gRPC reads; see canon.h. */
#include "gateway/grpc/canon.h"

#include <stdlib.h>
#include <string.h>

#include "points.pb-c.h"

typedef struct canon_row {
    const char *method;
    const ProtobufCMessageDescriptor *desc;
} canon_row_t;

static const canon_row_t rows[] = {
    {"/qdrant.Points/Search", &qdrant__search_points__descriptor},
    {"/qdrant.Points/SearchBatch", &qdrant__search_batch_points__descriptor},
    {"/qdrant.Points/Scroll", &qdrant__scroll_points__descriptor},
    {"/qdrant.Points/Count", &qdrant__count_points__descriptor},
    {"/qdrant.Points/Get", &qdrant__get_points__descriptor},
    {"/qdrant.Points/Facet", &qdrant__facet_counts__descriptor},
    {"/qdrant.Points/SearchMatrixPairs", &qdrant__search_matrix_points__descriptor},
    {"/qdrant.Points/SearchMatrixOffsets", &qdrant__search_matrix_points__descriptor},
    {"/qdrant.Points/Query", &qdrant__query_points__descriptor},
};

static const canon_row_t *canon_row(const char *method)
{
    for (size_t i = 0; method && i < sizeof(rows) / sizeof(rows[0]); i++)
        if (strcmp(rows[i].method, method) == 0) return &rows[i];
    return NULL;
}

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* protobuf-c keeps strings NUL-terminated and packs them with strlen: a string with a NUL
 * inside would come out cut, and two different requests would share a key. Walks the wire
 * bytes with the descriptors: 1 when every string field (nested messages and map entries too)
 * is free of NUL bytes, 0 when one is not, -1 when the bytes do not parse. */
static int strings_clean(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                         int depth)
{
    if (depth > 64) return 0; /* too deep to check: not cached */
    while (p < end) {
        uint64_t key, v;
        if (varint(&p, end, &key) != 0 || key >> 3 == 0) return -1; /* no field 0 */
        unsigned wt = (unsigned)(key & 7);
        if (wt == 0) {
            if (varint(&p, end, &v) != 0) return -1;
        } else if (wt == 1 || wt == 5) {
            size_t n = wt == 1 ? 8 : 4;
            if ((size_t)(end - p) < n) return -1;
            p += n;
        } else if (wt == 2) {
            if (varint(&p, end, &v) != 0 || v > (uint64_t)(end - p)) return -1;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)v)) return 0;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int rc = strings_clean(f->descriptor, p, p + v, depth + 1);
                if (rc != 1) return rc;
            }
            p += v;
        } else {
            return -1; /* groups are not proto3 */
        }
    }
    return 1;
}

int gw_grpc_canon_method(const char *method)
{
    return canon_row(method) != NULL;
}

int gw_grpc_canon(const char *method, const uint8_t *msg, size_t len, uint8_t **out,
                  size_t *out_len, const char **why)
{
    const canon_row_t *row = canon_row(method);
    if (!row) {
        *why = "not a cached RPC";
        return 0;
    }
    int clean = strings_clean(row->desc, msg, msg + len, 0);
    if (clean == 0) {
        *why = "a string with a NUL byte (or nesting too deep) cannot be keyed";
        return 0;
    }
    ProtobufCMessage *m = clean < 0 ? NULL : protobuf_c_message_unpack(row->desc, NULL, len, msg);
    if (!m) {
        *why = "the request message does not decode";
        return -1;
    }
    int rc = 1;
    if (row->desc == &qdrant__query_points__descriptor &&
        ((Qdrant__QueryPoints *)m)->_lookup_from_case != 0) {
        *why = "lookup_from reads a second collection";
        rc = 0;
    }
    if (rc == 1) {
        size_t n = protobuf_c_message_get_packed_size(m);
        *out = malloc(n ? n : 1);
        if (!*out) {
            *why = "out of memory";
            rc = -1;
        } else {
            *out_len = protobuf_c_message_pack(m, *out);
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
