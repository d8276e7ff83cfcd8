/* SHA-256 through OpenSSL's EVP interface (the low-level SHA256_* calls are deprecated in 3.0). */
#include "common/digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

/* EVP_sha256() makes every EVP_DigestInit_ex look the algorithm up again in OpenSSL 3 (an
 * implicit fetch, ~4% of a cache hit): fetch it once. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? sha256_md : EVP_sha256();
}

/* One spare EVP context per thread, freed when the thread exits. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void spare_init(void)
{
    if (pthread_key_create(&spare_key, spare_free) != 0) spare_key = (pthread_key_t)-1;
}

static EVP_MD_CTX *ctx_take(void)
{
    pthread_once(&spare_once, spare_init);
    EVP_MD_CTX *c = NULL;
    if (spare_key != (pthread_key_t)-1 && (c = pthread_getspecific(spare_key)) != NULL)
        pthread_setspecific(spare_key, NULL);
    return c ? c : EVP_MD_CTX_new();
}

static void ctx_give_back(EVP_MD_CTX *c)
{
    if (!c) return;
    if (spare_key != (pthread_key_t)-1 && pthread_getspecific(spare_key) == NULL &&
        pthread_setspecific(spare_key, c) == 0)
        return;
    EVP_MD_CTX_free(c);
}

int gw_digest_init(gw_digest_t *d)
{
    EVP_MD_CTX *c = ctx_take();
    if (!c) return -1;
    if (EVP_DigestInit_ex(c, sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return -1;
    }
    d->ctx = c;
    d->held = 0;
    return 0;
}

static void flush(gw_digest_t *d)
{
    if (d->held) EVP_DigestUpdate(d->ctx, d->buf, d->held);
    d->held = 0;
}

void gw_digest_update(gw_digest_t *d, const void *data, size_t len)
{
    if (!len) return;
    if (d->held + len <= sizeof(d->buf)) {
        memcpy(d->buf + d->held, data, len);
        d->held += len;
        return;
    }
    flush(d);
    if (len <= sizeof(d->buf)) {
        memcpy(d->buf, data, len);
        d->held = len;
    } else {
        EVP_DigestUpdate(d->ctx, data, len);
    }
}

void gw_digest_u64(gw_digest_t *d, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    gw_digest_update(d, b, sizeof(b));
}

void gw_digest_field(gw_digest_t *d, const void *data, size_t len)
{
    gw_digest_u64(d, (uint64_t)len);
    gw_digest_update(d, data, len);
}

void gw_digest_final(gw_digest_t *d, unsigned char out[GW_DIGEST_LEN])
{
    unsigned int n = 0;
    flush(d);
    EVP_DigestFinal_ex(d->ctx, out, &n);
    gw_digest_dispose(d);
}

void gw_digest_dispose(gw_digest_t *d)
{
    ctx_give_back(d->ctx);
    d->ctx = NULL;
    d->held = 0;
}

int gw_digest_buf(const void *data, size_t len, unsigned char out[GW_DIGEST_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, sha256(), NULL) == 1 ? 0 : -1;
}

void gw_digest_hex(const unsigned char d[GW_DIGEST_LEN], char out[GW_DIGEST_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < GW_DIGEST_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * GW_DIGEST_LEN] = '\0';
}
