/* libFuzzer target for the gateway keys' configuration: auth.keys.NAME.* through the key table
 * (gateway/core/config.c, yconf_load_buffer) and gw_keys_build (gateway/auth/keys.c). Input:
 * YAML put under "auth:\n  keys:\n" (so most inputs reach the keys' sub-table).
 * Properties: loading either succeeds or fails with a message; a loaded configuration either
 * builds a key table or fails with "auth.keys.NAME..." ; a built table has one entry per
 * declared key, each with a role, an access grant matching the role and allowlist, and is
 * found by nothing but its own digest (a lookup of the input text never returns a key whose
 * SHA-256 differs from the text's). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "gateway/auth/keys.h"
#include "gateway/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char pre[] = "auth:\n  keys:\n";
    if (size > 8192) return 0;
    char *buf = malloc(sizeof(pre) + size);
    memcpy(buf, pre, sizeof(pre) - 1);
    memcpy(buf + sizeof(pre) - 1, data, size);
    buf[sizeof(pre) - 1 + size] = '\0';
    gw_config_t *c = gw_config_new();
    if (!c) abort();
    char err[512] = "";
    if (yconf_load_buffer(gw_config_keys(), c, "fuzz.yaml", buf, sizeof(pre) - 1 + size, err,
                          sizeof(err)) != 0) {
        if (!err[0]) abort();
        goto out;
    }
    gw_keys_t t;
    if (gw_keys_build(&t, c, err, sizeof(err)) != 0) {
        if (strncmp(err, "auth.keys.", 10) != 0 && strcmp(err, "out of memory") != 0) abort();
        goto out;
    }
    if (t.n != c->nauth_keys) abort();
    for (size_t i = 0; i < t.n; i++) {
        const gw_key_t *k = &t.key[i];
        if (k->role < GW_ROLE_READ || k->role > GW_ROLE_ADMIN) abort();
        if (c->auth_keys[i].collections[0] ? k->access.global != GW_GLOBAL_LIST || !k->access.n
                                           : k->access.global == GW_GLOBAL_LIST)
            abort();
    }
    const gw_key_t *k = gw_keys_find(&t, (const char *)data, size);
    if (k) {
        unsigned char d[GW_DIGEST_LEN];
        if (gw_digest_buf(data, size, d) != 0 || memcmp(d, k->sha256, GW_DIGEST_LEN) != 0) abort();
    }
    gw_keys_free(&t);
out:
    gw_config_free(c);
    free(buf);
    return 0;
}
