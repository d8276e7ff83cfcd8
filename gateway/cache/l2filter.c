/* The rotating Bloom filter of stored L2 keys; see l2filter.h. */
#include "gateway/cache/l2filter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct gw_l2filter {
    size_t words; /* per half */
    uint64_t mask;
    uint64_t period_us;
    _Atomic uint64_t *half[2];
    atomic_uint cur;              /* the half adds go to */
    _Atomic uint64_t rotated_us;  /* when cur last changed */
    _Atomic uint64_t complete_us; /* from when "surely not" may be said */
    pthread_mutex_t lock;         /* rotation and reset */
};

gw_l2filter_t *gw_l2filter_new(unsigned bits_log2, uint64_t period_us, uint64_t now_us)
{
    if (bits_log2 < 10) bits_log2 = 10;
    gw_l2filter_t *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->words = ((size_t)1 << bits_log2) / 64;
    f->mask = ((uint64_t)1 << bits_log2) - 1;
    f->period_us = period_us ? period_us : 1;
    for (int i = 0; i < 2; i++)
        f->half[i] = calloc(f->words, sizeof(*f->half[i]));
    if (!f->half[0] || !f->half[1]) {
        gw_l2filter_free(f);
        return NULL;
    }
    atomic_init(&f->cur, 0);
    atomic_init(&f->rotated_us, now_us);
    atomic_init(&f->complete_us, now_us + f->period_us);
    return f;
}

void gw_l2filter_free(gw_l2filter_t *f)
{
    if (!f) return;
    free((void *)f->half[0]);
    free((void *)f->half[1]);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static void clear_half(gw_l2filter_t *f, unsigned h)
{
    for (size_t i = 0; i < f->words; i++)
        atomic_store_explicit(&f->half[h][i], 0, memory_order_relaxed);
}

/* Past a period since the last rotation: the older half is emptied and becomes current. */
static void maybe_rotate(gw_l2filter_t *f, uint64_t now_us)
{
    if (now_us - atomic_load(&f->rotated_us) < f->period_us) return;
    pthread_mutex_lock(&f->lock);
    if (now_us - atomic_load(&f->rotated_us) >= f->period_us) {
        unsigned next = atomic_load(&f->cur) ^ 1u;
        clear_half(f, next);
        atomic_store(&f->cur, next);
        atomic_store(&f->rotated_us, now_us);
    }
    pthread_mutex_unlock(&f->lock);
}

static void bits_of(const gw_l2filter_t *f, const unsigned char key[16], uint64_t bit[2])
{
    uint64_t a, b;
    memcpy(&a, key, 8); /* the key is a SHA-256 prefix: its bits are already uniform */
    memcpy(&b, key + 8, 8);
    bit[0] = a & f->mask;
    bit[1] = b & f->mask;
}

void gw_l2filter_add(gw_l2filter_t *f, const unsigned char key[16], uint64_t now_us)
{
    if (!f) return;
    maybe_rotate(f, now_us);
    uint64_t bit[2];
    bits_of(f, key, bit);
    _Atomic uint64_t *h = f->half[atomic_load(&f->cur)];
    for (int i = 0; i < 2; i++)
        atomic_fetch_or_explicit(&h[bit[i] / 64], (uint64_t)1 << (bit[i] % 64),
                                 memory_order_relaxed);
}

static int half_has(_Atomic uint64_t *h, const uint64_t bit[2])
{
    for (int i = 0; i < 2; i++)
        if (!(atomic_load_explicit(&h[bit[i] / 64], memory_order_relaxed) &
              ((uint64_t)1 << (bit[i] % 64))))
            return 0;
    return 1;
}

int gw_l2filter_may_have(gw_l2filter_t *f, const unsigned char key[16], uint64_t now_us)
{
    if (!f || now_us < atomic_load(&f->complete_us)) return 1;
    maybe_rotate(f, now_us);
    uint64_t bit[2];
    bits_of(f, key, bit);
    return half_has(f->half[0], bit) || half_has(f->half[1], bit);
}

void gw_l2filter_complete(gw_l2filter_t *f)
{
    if (f) atomic_store(&f->complete_us, 0);
}

int gw_l2filter_check_add(gw_l2filter_t *f, const unsigned char key[16], uint64_t now_us)
{
    int had = gw_l2filter_may_have(f, key, now_us);
    if (!had) gw_l2filter_add(f, key, now_us);
    return had;
}

void gw_l2filter_reset(gw_l2filter_t *f, uint64_t now_us)
{
    if (!f) return;
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->complete_us, now_us + f->period_us);
    clear_half(f, 0);
    clear_half(f, 1);
    atomic_store(&f->rotated_us, now_us);
    pthread_mutex_unlock(&f->lock);
}

void gw_l2filter_format(const unsigned char key[16], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[key[i] >> 4];
        out[2 * i + 1] = hex[key[i] & 15];
    }
    out[32] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int gw_l2filter_parse(const char *s, size_t len, unsigned char key[16])
{
    if (len != 32) return -1;
    for (int i = 0; i < 16; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
