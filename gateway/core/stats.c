/* Names of the per-worker counters' method slots (the metrics' method label). */
#include "gateway/core/stats.h"

#include <string.h>

int gw_stats_method_index(const char *m)
{
    static const char *const names[GW_M_N - 1] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
    for (int i = 0; i < GW_M_N - 1; i++)
        if (strcmp(m, names[i]) == 0) return i;
    return GW_M_OTHER;
}

const char *gw_stats_method_name(int idx)
{
    static const char *const names[GW_M_N] = {"GET",    "POST", "PUT",  "PATCH",
                                              "DELETE", "HEAD", "OTHER"};
    return idx >= 0 && idx < GW_M_N ? names[idx] : "OTHER";
}
