/* L2's stored bytes (see l2_entry.h): entries, generations, invalidation messages. */
#include "gateway/cache/l2_entry.h"

#include <string.h>

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

size_t gw_l2_entry_size(uint32_t ngens, size_t hdrs_len, size_t body_len)
{
    if (hdrs_len > UINT32_MAX || body_len > UINT32_MAX) return 0;
    return GW_L2_FIXED_LEN + 8u * (size_t)ngens + 8 + hdrs_len + body_len;
}

void gw_l2_entry_write(unsigned char *out, const gw_l2_entry_t *e, const uint64_t *gens)
{
    unsigned char *p = out;
    memcpy(p, GW_L2_MAGIC, 4);
    memcpy(p + 4, e->inst, GW_L2_INST_LEN);
    memcpy(p + 4 + GW_L2_INST_LEN, e->l1key, GW_DIGEST_LEN);
    p += 4 + GW_L2_INST_LEN + GW_DIGEST_LEN;
    put_u64(p, e->created_ms);
    put_u32(p + 8, (uint32_t)e->status);
    put_u32(p + 12, e->ngens);
    p += 16;
    for (uint32_t i = 0; i < e->ngens; i++, p += 8)
        put_u64(p, gens[i]);
    put_u32(p, (uint32_t)e->hdrs_len);
    put_u32(p + 4, (uint32_t)e->body_len);
    p += 8;
    if (e->hdrs_len) memcpy(p, e->hdrs, e->hdrs_len);
    if (e->body_len) memcpy(p + e->hdrs_len, e->body, e->body_len);
}

const char *gw_l2_entry_parse(const unsigned char *v, size_t len, gw_l2_entry_t *e)
{
    if (len < GW_L2_FIXED_LEN) return "shorter than an entry's fixed part";
    if (memcmp(v, GW_L2_MAGIC, 4) != 0) return "not an entry (no " GW_L2_MAGIC " magic)";
    e->inst = v + 4;
    e->l1key = e->inst + GW_L2_INST_LEN;
    const unsigned char *p = e->l1key + GW_DIGEST_LEN;
    e->created_ms = get_u64(p);
    uint32_t status = get_u32(p + 8);
    e->ngens = get_u32(p + 12);
    p += 16;
    if (status < 200 || status > 599) return "status is not a final HTTP status (200..599)";
    e->status = (int)status;
    size_t left = len - (size_t)(p - v);
    if (left < 8 || (left - 8) / 8 < e->ngens) return "shorter than its generations";
    e->gens = p;
    p += 8 * (size_t)e->ngens;
    left -= 8 * (size_t)e->ngens + 8;
    e->hdrs_len = get_u32(p);
    e->body_len = get_u32(p + 4);
    p += 8;
    if (e->hdrs_len > left || e->body_len != left - e->hdrs_len)
        return e->hdrs_len + e->body_len > left ? "shorter than its header block and body"
                                                : "longer than its header block and body";
    e->hdrs = p;
    e->body = p + e->hdrs_len;
    return NULL;
}

uint64_t gw_l2_entry_gen(const gw_l2_entry_t *e, uint32_t i)
{
    return get_u64(e->gens + 8 * (size_t)i);
}

int gw_l2_gen_parse(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int gw_l2_inval_parse(const char *msg, size_t len, const char *self, char *name, size_t cap)
{
    if (len <= GW_L2_INST_LEN + 1 || msg[GW_L2_INST_LEN] != ' ') return -1;
    const char *n = msg + GW_L2_INST_LEN + 1;
    size_t nl = len - GW_L2_INST_LEN - 1;
    if (memchr(n, '\0', nl)) return -1;
    if (memcmp(msg, self, GW_L2_INST_LEN) == 0) return 0;
    if (nl >= cap) return -2;
    memcpy(name, n, nl);
    name[nl] = '\0';
    return 1;
}
