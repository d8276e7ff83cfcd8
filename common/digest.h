/* SHA-256 digests for cache keys: incremental, with helpers to feed length-delimited fields so
 * that ("ab","c") and ("a","bc") never produce the same key. Thin layer over OpenSSL's EVP:
 * small updates are gathered in the struct and handed to EVP together (each EVP call costs a
 * provider dispatch), and each thread reuses one EVP context instead of allocating one per
 * digest. A gw_digest_t belongs to one thread from init to final. */
#ifndef GW_COMMON_DIGEST_H
#define GW_COMMON_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define GW_DIGEST_LEN 32
#define GW_DIGEST_HEX (2 * GW_DIGEST_LEN + 1)

#define GW_DIGEST_GATHER 512

typedef struct gw_digest {
    void *ctx;   /* EVP_MD_CTX */
    size_t held; /* bytes in buf not yet given to EVP */
    unsigned char buf[GW_DIGEST_GATHER];
} gw_digest_t;

/* 0 / -1 (out of memory). gw_digest_final or gw_digest_dispose must follow. */
int gw_digest_init(gw_digest_t *d);
void gw_digest_update(gw_digest_t *d, const void *data, size_t len);
/* A field: its length (8 bytes, little endian) then its bytes. */
void gw_digest_field(gw_digest_t *d, const void *data, size_t len);
void gw_digest_u64(gw_digest_t *d, uint64_t v);
/* Writes GW_DIGEST_LEN bytes and releases the context. */
void gw_digest_final(gw_digest_t *d, unsigned char out[GW_DIGEST_LEN]);
void gw_digest_dispose(gw_digest_t *d);

/* One-shot digest of a buffer. 0 / -1. */
int gw_digest_buf(const void *data, size_t len, unsigned char out[GW_DIGEST_LEN]);
/* Lower-case hex, NUL-terminated. */
void gw_digest_hex(const unsigned char d[GW_DIGEST_LEN], char out[GW_DIGEST_HEX]);

#endif
