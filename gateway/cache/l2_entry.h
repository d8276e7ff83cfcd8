/* The bytes L2 keeps in Redis (see l2.c for the keys): an entry as l2_store writes it and
 * l2_lookup reads it back, a generation's decimal text, and an invalidation message. Pure
 * functions over bytes a Redis (maybe another replica, maybe a corrupt or hostile one) holds:
 * every reader checks all of it and says what is wrong. */
#ifndef GW_CACHE_L2_ENTRY_H
#define GW_CACHE_L2_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

#define GW_L2_MAGIC    "QGW1"
#define GW_L2_INST_LEN 16 /* the storing process's instance id, hex */
/* magic, instance, L1 key, created_ms (u64), status (u32), ngens (u32); then ngens u64
 * generations, hdrs_len (u32), body_len (u32), the header block, the body. Little-endian. */
#define GW_L2_FIXED_LEN (4 + GW_L2_INST_LEN + GW_DIGEST_LEN + 8 + 4 + 4)

/* A decoded entry: views into the stored value. */
typedef struct gw_l2_entry {
    const unsigned char *inst;  /* GW_L2_INST_LEN bytes */
    const unsigned char *l1key; /* GW_DIGEST_LEN bytes: the storing process's local key */
    uint64_t created_ms;        /* wall clock, ms */
    int status;                 /* 200..599 */
    uint32_t ngens;
    const unsigned char *gens; /* ngens u64: read them with gw_l2_entry_gen */
    const unsigned char *hdrs, *body;
    size_t hdrs_len, body_len;
} gw_l2_entry_t;

/* The stored size of an entry; 0 when it would not fit the format (u32 lengths). */
size_t gw_l2_entry_size(uint32_t ngens, size_t hdrs_len, size_t body_len);
/* Writes e (its views are read, gens as ngens host-order values) into out, which has
 * gw_l2_entry_size(...) bytes. */
void gw_l2_entry_write(unsigned char *out, const gw_l2_entry_t *e, const uint64_t *gens);
/* Decodes a stored value. NULL with *e filled, or what is wrong with it (a constant string; *e
 * is then unspecified). Every byte is accounted for: a value longer or shorter than its lengths
 * say is refused. */
const char *gw_l2_entry_parse(const unsigned char *v, size_t len, gw_l2_entry_t *e);
uint64_t gw_l2_entry_gen(const gw_l2_entry_t *e, uint32_t i);

/* A generation as Redis stores it (SET NX of the time in µs, then INCR): 1 to 20 decimal
 * digits, at most UINT64_MAX, nothing else. 0, or -1 for anything else. */
int gw_l2_gen_parse(const char *s, size_t len, uint64_t *out);

/* An invalidation message on the channel: "INSTANCE NAME", INSTANCE GW_L2_INST_LEN bytes and
 * NAME non-empty without NUL bytes. 1: name (cap bytes, NUL-terminated) is what another process
 * bumped ("*": everything); 0: our own bump (self, GW_L2_INST_LEN bytes, is INSTANCE), already
 * applied; -1: not such a message (no gateway sent it: ignored); -2: another process bumped a
 * name of cap bytes or more (which this one cannot track: bump everything). */
int gw_l2_inval_parse(const char *msg, size_t len, const char *self, char *name, size_t cap);

#endif
