/* libFuzzer target for L2's stored bytes (gateway/cache/l2_entry.c): entries as Redis returns
 * them to l2_lookup, generations' decimal text, and invalidation messages from the channel.
 * Input: the bytes, in an exact-size heap copy (a read past the end faults).
 * Properties:
 * - gw_l2_entry_parse either refuses with a non-empty reason, or accepts with every view inside
 *   the value, a status in 200..599, and lengths that account for every byte: the value is
 *   gw_l2_entry_size long and gw_l2_entry_write of what was read gives the same bytes back;
 * - an entry built from the input (its first bytes pick the generations and the split into
 *   header block and body) is written and read back field for field, and its prefixes (cut at
 *   each part's edge and in the middle) and its one-byte extension are refused;
 * - gw_l2_gen_parse accepts exactly 1..20 decimal digits whose value fits 64 bits, with that
 *   value (checked against strtoull), and what "%llu" writes of it parses back;
 * - gw_l2_inval_parse agrees with a model of "INSTANCE NAME": our own instance ignored, a
 *   name without NUL bytes copied whole and NUL-terminated when it fits, -2 when it does not,
 *   -1 for anything else; the name buffer is never written past cap. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/cache/l2_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const unsigned char *p, size_t n, const unsigned char *v, size_t len)
{
    return p >= v && n <= len && p - v <= (ptrdiff_t)(len - n);
}

static void check_parsed(const unsigned char *v, size_t len)
{
    gw_l2_entry_t e;
    const char *bad = gw_l2_entry_parse(v, len, &e);
    if (bad) {
        if (!bad[0]) abort();
        return;
    }
    if (!inside(e.inst, GW_L2_INST_LEN, v, len) || !inside(e.l1key, GW_DIGEST_LEN, v, len) ||
        !inside(e.gens, 8 * (size_t)e.ngens, v, len) || !inside(e.hdrs, e.hdrs_len, v, len) ||
        !inside(e.body, e.body_len, v, len))
        abort();
    if (e.status < 200 || e.status > 599) abort();
    if (gw_l2_entry_size(e.ngens, e.hdrs_len, e.body_len) != len) abort();
    uint64_t *gens = malloc(8 * (size_t)e.ngens + 1);
    for (uint32_t i = 0; i < e.ngens; i++)
        gens[i] = gw_l2_entry_gen(&e, i);
    unsigned char *again = malloc(len);
    gw_l2_entry_write(again, &e, gens);
    if (memcmp(again, v, len) != 0) abort();
    free(again);
    free(gens);
}

static uint64_t take_u64(const uint8_t *d, size_t n, size_t at)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (at + i < n ? d[at + i] : 0x5a);
    return v;
}

static void check_built(const uint8_t *d, size_t n)
{
    if (n < 3) return;
    uint64_t gens[17];
    gw_l2_entry_t e = {0};
    e.ngens = d[0] % 18;
    e.status = 200 + d[1] % 400;
    for (uint32_t i = 0; i < e.ngens; i++)
        gens[i] = take_u64(d, n, 3 + 8 * i);
    e.created_ms = take_u64(d, n, 7);
    unsigned char inst[GW_L2_INST_LEN], key[GW_DIGEST_LEN];
    for (size_t i = 0; i < sizeof(inst); i++)
        inst[i] = (unsigned char)"0123456789abcdef"[(i < n ? d[i] : 0) & 15];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = n > i ? d[n - 1 - i] : 0;
    e.inst = inst;
    e.l1key = key;
    size_t rest = n - 3;
    e.hdrs = d + 3;
    e.hdrs_len = rest ? d[2] % (rest + 1) : 0;
    e.body = d + 3 + e.hdrs_len;
    e.body_len = rest - e.hdrs_len;
    size_t len = gw_l2_entry_size(e.ngens, e.hdrs_len, e.body_len);
    unsigned char *v = malloc(len + 1);
    gw_l2_entry_write(v, &e, gens);
    gw_l2_entry_t r;
    if (gw_l2_entry_parse(v, len, &r) != NULL) abort();
    if (memcmp(r.inst, inst, sizeof(inst)) != 0 || memcmp(r.l1key, key, sizeof(key)) != 0 ||
        r.created_ms != e.created_ms || r.status != e.status || r.ngens != e.ngens ||
        r.hdrs_len != e.hdrs_len || r.body_len != e.body_len ||
        memcmp(r.hdrs, e.hdrs, e.hdrs_len) != 0 || memcmp(r.body, e.body, e.body_len) != 0)
        abort();
    for (uint32_t i = 0; i < e.ngens; i++)
        if (gw_l2_entry_gen(&r, i) != gens[i]) abort();
    /* Cut short at each part's edge or in the middle, or one byte too long: refused. */
    size_t gens_end = GW_L2_FIXED_LEN + 8 * (size_t)e.ngens;
    size_t cuts[] = {0, GW_L2_FIXED_LEN - 1, GW_L2_FIXED_LEN, gens_end + 7, len / 2, len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        unsigned char *p = malloc(cuts[i] + 1);
        memcpy(p, v, cuts[i]);
        if (gw_l2_entry_parse(p, cuts[i], &r) == NULL) abort();
        free(p);
    }
    v[len] = 'x';
    if (gw_l2_entry_parse(v, len + 1, &r) == NULL) abort();
    free(v);
}

static void check_gen(const char *s, size_t n)
{
    uint64_t v = 7;
    int rc = gw_l2_gen_parse(s, n, &v);
    int digits = n >= 1 && n <= 20;
    for (size_t i = 0; digits && i < n; i++)
        if (s[i] < '0' || s[i] > '9') digits = 0;
    unsigned long long model = 0;
    if (digits) {
        char buf[21];
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        model = strtoull(buf, NULL, 10);
        if (errno == ERANGE) digits = 0;
    }
    if ((rc == 0) != digits) abort();
    if (rc != 0) {
        if (v != 7) abort(); /* untouched */
        return;
    }
    if (v != model) abort();
    char text[24];
    int tl = snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
    uint64_t back;
    if (gw_l2_gen_parse(text, (size_t)tl, &back) != 0 || back != v) abort();
}

static void check_inval(const char *m, size_t n)
{
    static const char self[] = "00000000deadbeef";
    char name[40];
    for (size_t cap = 1; cap <= 33; cap += 16) {
        memset(name, 'z', sizeof(name));
        int rc = gw_l2_inval_parse(m, n, self, name, cap);
        for (size_t i = cap; i < sizeof(name); i++)
            if (name[i] != 'z') abort();
        int shaped = n > GW_L2_INST_LEN + 1 && m[GW_L2_INST_LEN] == ' ' &&
                     !memchr(m + GW_L2_INST_LEN + 1, '\0', n - GW_L2_INST_LEN - 1);
        size_t nl = shaped ? n - GW_L2_INST_LEN - 1 : 0;
        int want = !shaped ? -1 : memcmp(m, self, GW_L2_INST_LEN) == 0 ? 0 : nl >= cap ? -2 : 1;
        if (rc != want) abort();
        if (rc == 1 && (memcmp(name, m + GW_L2_INST_LEN + 1, nl) != 0 || name[nl] != '\0')) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) return 0;
    unsigned char *v = malloc(size ? size : 1);
    memcpy(v, data, size);
    check_parsed(v, size);
    check_built(v, size);
    check_gen((const char *)v, size);
    check_inval((const char *)v, size);
    free(v);
    return 0;
}
