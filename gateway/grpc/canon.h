/* The canonical form of a cacheable gRPC read: the request message decoded with protoc-c's
 * code (proto/qdrant) and packed again, which writes known fields in field-number order and
 * repeated scalars packed, so two clients' different encodings of one request (fields in another
 * order, unpacked repeated floats, a field given twice) come out as the same bytes. Pure: no I/O.
 */
#ifndef GW_GRPC_CANON_H
#define GW_GRPC_CANON_H

#include <stddef.h>
#include <stdint.h>

/* 1 when method ("/qdrant.Points/Search", ...) is a read the cache keeps, else 0. The cached
 * ones: Search, SearchBatch, Scroll, Count, Get, Facet, SearchMatrixPairs/Offsets, Query (not
 * with lookup_from, which depends on a second collection). */
int gw_grpc_canon_method(const char *method);

/* Decodes msg[0..len) as method's request and re-encodes it into *out (malloc'd, *out_len
 * bytes; the caller frees). 1 on success; 0 when it is not cached (the method, or a Query with
 * lookup_from: *why says which); -1 when the message does not decode (*why). */
int gw_grpc_canon(const char *method, const uint8_t *msg, size_t len, uint8_t **out,
                  size_t *out_len, const char **why);

#endif
