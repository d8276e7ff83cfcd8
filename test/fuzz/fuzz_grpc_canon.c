/* libFuzzer target for the gRPC cache-key path: gateway/http/grpc_route.c's gw_grpc_field1 (the
 * collection_name the access gate and the cache read from a request message) and
 * gateway/grpc/canon.c (decode with protoc-c, re-encode canonically). Input: byte 0 picks the
 * method (of the cached reads, and one that is not), the rest is the request message.
 * Properties: field 1, when found, is a view inside the message; the canonical form is a fixed
 * point (canonicalising it again gives the same bytes) and names the same collection; a
 * message that does not decode fails with a reason, never a crash; the `wait` scanner of point
 * writes answers 0 or 1 for any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/grpc/canon.h"
#include "gateway/http/grpc_route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {
    "/qdrant.Points/Search",
    "/qdrant.Points/SearchBatch",
    "/qdrant.Points/Scroll",
    "/qdrant.Points/Count",
    "/qdrant.Points/Get",
    "/qdrant.Points/Facet",
    "/qdrant.Points/SearchMatrixPairs",
    "/qdrant.Points/Query",
    "/qdrant.Points/Upsert", /* not cached */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *m = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    const uint8_t *name = NULL;
    size_t nl = 0;
    int wt = gw_grpc_wait_true(msg, len);
    if (wt != 0 && wt != 1) abort();
    int f1 = gw_grpc_field1(msg, len, &name, &nl);
    if (f1 == 1 && (name < msg || name + nl > msg + len)) abort();
    uint8_t *out = NULL, *again = NULL;
    size_t olen = 0, alen = 0;
    const char *why = NULL;
    int rc = gw_grpc_canon(m, msg, len, &out, &olen, &why);
    if (rc != 1) {
        if (!why || !why[0] || out) abort();

        return 0;
    }
    if (gw_grpc_canon(m, out, olen, &again, &alen, &why) != 1) abort();
    if (alen != olen || memcmp(again, out, olen) != 0) abort();
    const uint8_t *cname = NULL;
    size_t cnl = 0;
    int cf1 = gw_grpc_field1(out, olen, &cname, &cnl);
    /* A decodable message gives the same collection_name, or none when it was empty (proto3
     * does not write a default string). */
    if (f1 == 1 && nl > 0 && (cf1 != 1 || cnl != nl || memcmp(cname, name, nl) != 0)) abort();
    free(out);
    free(again);
    return 0;
}
