/* libFuzzer target for the global rate limit script's reply (gateway/auth/rate_global.c), as
 * Redis's bulk string hands it over. Properties: a reply is accepted or refused with a reason;
 * an accepted one is allowed without a retry time or refused with one, within the bounds, and
 * it is exactly what its fields print as again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth/rate_global.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_rlg_verdict_t v;
    char err[160] = "";
    if (gw_rlg_parse_reply((const char *)data, size, &v, err, sizeof(err)) != 0) {
        if (!err[0]) abort();
        return 0;
    }
    if (v.allowed != (v.retry_us == 0) || v.retry_us > GW_RLG_RETRY_MAX_US) abort();
    if (v.available < 0 || v.available > (double)GW_RLG_AVAIL_MAX / 1000) abort();
    char again[96];
    int n =
        snprintf(again, sizeof(again), "%d %llu %llu", v.allowed, (unsigned long long)v.retry_us,
                 (unsigned long long)(v.available * 1000 + 0.5));
    if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0) abort();
    return 0;
}
