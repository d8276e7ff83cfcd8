/* libFuzzer target for gw_jwt_verify (gateway/auth/jwt.c). Input: byte 0 picks the secret
 * (one of a few), byte 1 the clock offset, the rest is the token.
 * Properties: the answer is 0, 401 or 403; on 0 the claims are consistent (a list access has
 * named entries with a known mode, global access has none); on a refusal the message is
 * non-empty and NUL-terminated, also into a 4-byte buffer; a token over max_bytes is always
 * 401; the result does not depend on the error buffer's size; freeing the claims after any
 * answer is safe (leaks are LeakSanitizer's). A re-encoded base64url part decodes to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const secrets[] = {"s3cret", "", "k", "a-much-longer-secret-key-for-hmac"};
    if (size < 2 || size > 16384) return 0;
    const char *secret = secrets[data[0] % 4];
    gw_jwt_opts_t o = {(const unsigned char *)secret,
                       strlen(secret),
                       1700000000ull + (uint64_t)data[1] * 1000,
                       30,
                       data[1] & 1,
                       8192};
    const char *tok = (const char *)data + 2;
    size_t len = size - 2;
    gw_jwt_claims_t c;
    char msg[256] = "", small[4] = "";
    int st = gw_jwt_verify(tok, len, &o, &c, msg, sizeof(msg));
    if (st != 0 && st != 401 && st != 403) abort();
    if (st == 0) {
        if (c.access.global == GW_GLOBAL_LIST) {
            for (size_t i = 0; i < c.access.n; i++)
                if (!c.access.coll[i].name || c.access.coll[i].mode < GW_COLL_R ||
                    c.access.coll[i].mode > GW_COLL_PRW)
                    abort();
        } else if (c.access.n || c.access.global == GW_GLOBAL_W) {
            abort();
        }
    } else if (!msg[0] || strlen(msg) >= sizeof(msg)) {
        abort();
    }
    if (len > o.max_bytes && st != 401) abort();
    gw_jwt_claims_free(&c);
    int st2 = gw_jwt_verify(tok, len, &o, &c, small, sizeof(small));
    if (st2 != st || strlen(small) >= sizeof(small)) abort();
    gw_jwt_claims_free(&c);

    /* base64url round trip of the first part, when it decodes */
    const char *dot = memchr(tok, '.', len);
    size_t plen = dot ? (size_t)(dot - tok) : len;
    if (plen <= 4096) {
        unsigned char *buf = malloc(plen + 1);
        long n = gw_b64url_decode(tok, plen, buf, plen + 1);
        if (n >= 0) {
            char *enc = malloc(plen + 8);
            size_t el = gw_b64url_encode(buf, (size_t)n, enc);
            if (el != plen || memcmp(enc, tok, plen) != 0) abort();
            free(enc);
        }
        free(buf);
    }
    return 0;
}
