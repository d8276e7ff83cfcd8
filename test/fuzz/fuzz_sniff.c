/* libFuzzer target for gw_conn_sniff (gateway/conn/sniff.c), the first-bytes protocol choice.
 * Input: the first bytes a client sent, in an exact-size heap copy (no read past len).
 * Properties: the answer for every prefix is a valid value; MORE exactly while all bytes are a
 * prefix of the preface (shorter than it); once decided, every longer prefix gets the same
 * decision; H2 exactly when the input starts with "PRI * HTTP/2.0" and is not a proper prefix of
 * the preface. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/conn/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64) size = 64;
    int decided = -1;
    for (size_t n = 0; n <= size; n++) {
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, data, n);
        gw_sniff_t s = gw_conn_sniff(n ? p : NULL, n);
        free(p);
        if (s != GW_SNIFF_MORE && s != GW_SNIFF_H1 && s != GW_SNIFF_H2) abort();
        size_t cmp = n < GW_H2_PREFACE_LEN ? n : GW_H2_PREFACE_LEN;
        int prefix = memcmp(data, GW_H2_PREFACE, cmp) == 0;
        if ((s == GW_SNIFF_MORE) != (prefix && n < GW_H2_PREFACE_LEN)) abort();
        if (decided >= 0 && (int)s != decided) abort();
        if (s != GW_SNIFF_MORE) {
            decided = (int)s;
            int h2 = n >= 14 && memcmp(data, "PRI * HTTP/2.0", 14) == 0;
            if ((s == GW_SNIFF_H2) != h2) abort();
        }
    }
    return 0;
}
