/* libFuzzer target: the Sentinel list (cache.redis.sentinels) and +switch-master messages.
 * Property: no crash, and what is accepted is well formed (ports in range, hosts terminated). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_sentinel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_hostport_t hp[GW_SENTINEL_MAX], to;
    size_t n;
    char err[256];
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (gw_sentinel_parse_list(text, hp, GW_SENTINEL_MAX, &n, err, sizeof(err)) == 0) {
        if (n == 0 || n > GW_SENTINEL_MAX) abort();
        for (size_t i = 0; i < n; i++)
            if (hp[i].port < 1 || hp[i].port > 65535 || !memchr(hp[i].host, 0, sizeof(hp[i].host)))
                abort();
    }
    if (gw_sentinel_parse_switch((const char *)data, size, "mymaster", &to) == 1 &&
        (to.port < 1 || to.port > 65535 || !memchr(to.host, 0, sizeof(to.host))))
        abort();
    free(text);
    return 0;
}
