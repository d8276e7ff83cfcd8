/* libFuzzer target for Redis replies as the gateway reads them: hiredis 0.14's reader with the
 * gateway's bound (gateway/redis/reply.c) on it, fed and drained as the client does (every
 * complete reply taken after each read, then gw_reply_bound_check), and what the cache does with
 * the replies it accepts (an MGET's generations and entry through gateway/cache/l2_entry.c, a
 * pub/sub message's payload as an invalidation message).
 * Input: byte 0 holds flags (bit 0: the subscribed connection; bits 1-2: reads of the whole
 * input, 1, 5 or 64 bytes; bits 3-5: max_reply_bytes, 64 << n), then the bytes from Redis.
 * Properties:
 * - every reply let through has at most GW_REDIS_MAX_ELEMENTS array elements (nested ones
 *   counted) and at most max_reply_bytes of strings; on the subscribed connection every array
 *   is [subscribe|message, channel, x] with both first elements strings (what hiredis's
 *   async.c asserts on);
 * - while nothing is refused, the reader holds at most max_reply_bytes + 64 bytes unparsed
 *   (a hostile length buffers no more than that), and no allocation is huge (libFuzzer's
 *   -malloc_limit_mb catches a two-billion-element array);
 * - a refusal or a reader error always comes with a reason, and nothing is let through after;
 * - the same bytes read in one piece give the same replies, and end the same way. */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/cache/generations.h"
#include "gateway/cache/l2_entry.h"
#include "gateway/redis/client.h"
#include "gateway/redis/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct outcome {
    char *log; /* every reply let through, written out */
    size_t len, cap;
    int replies;
    int ended; /* 0 all read, 1 refused (bound), 2 reader error */
    char why[160];
} outcome_t;

static void out_add(outcome_t *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 256;
        o->log = realloc(o->log, o->cap);
        if (!o->log) abort();
    }
    memcpy(o->log + o->len, p, n);
    o->len += n;
}

/* Writes r out (type, length, content) and counts its elements and string bytes. */
static void walk(outcome_t *o, const redisReply *r, size_t *elems, size_t *bytes, int depth)
{
    char head[48];
    int hl = snprintf(head, sizeof(head), "%d:%zu:%lld:", r->type,
                      r->type == REDIS_REPLY_ARRAY ? r->elements : r->len, r->integer);
    out_add(o, head, (size_t)hl);
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        if (!r->str || r->str[r->len] != '\0') abort();
        *bytes += r->len;
        out_add(o, r->str, r->len);
        break;
    case REDIS_REPLY_ARRAY:
        if (depth > 8) abort();
        *elems += r->elements;
        for (size_t i = 0; i < r->elements; i++)
            walk(o, r->element[i], elems, bytes, depth + 1);
        break;
    case REDIS_REPLY_INTEGER:
    case REDIS_REPLY_NIL:
        break;
    default:
        abort(); /* hiredis 0.14 makes nothing else */
    }
}

static int is_str(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && strcasecmp(r->str, s) == 0;
}

/* What the cache does with a reply: l2_on_mget's reading, l2_on_message's. */
static void use(const redisReply *r, int pubsub)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return;
    if (pubsub) {
        const redisReply *p = r->element[2];
        if (is_str(r->element[0], "message") && p->type == REDIS_REPLY_STRING) {
            char name[GW_NAME_MAX];
            int rc = gw_l2_inval_parse(p->str, p->len, "00000000deadbeef", name, sizeof(name));
            if (rc < -2 || rc > 1 || (rc == 1 && strlen(name) >= sizeof(name))) abort();
        }
        return;
    }
    for (size_t i = 0; i + 1 < r->elements; i++) {
        uint64_t g;
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING) gw_l2_gen_parse(e->str, e->len, &g);
    }
    const redisReply *v = r->element[r->elements - 1];
    gw_l2_entry_t le;
    if (v->type == REDIS_REPLY_STRING && v->len >= GW_L2_FIXED_LEN &&
        !gw_l2_entry_parse((const unsigned char *)v->str, v->len, &le) &&
        le.hdrs + le.hdrs_len > (const unsigned char *)v->str + v->len)
        abort();
}

static void check_reply(const redisReply *r, int pubsub, size_t max, outcome_t *o)
{
    size_t elems = 0, bytes = 0;
    walk(o, r, &elems, &bytes, 0);
    out_add(o, "\n", 1);
    o->replies++;
    if (elems > GW_REDIS_MAX_ELEMENTS || bytes > max) {
        fprintf(stderr, "let through: %zu elements, %zu string bytes (max %zu)\n", elems, bytes,
                max);
        abort();
    }
    if (pubsub && r->type == REDIS_REPLY_ARRAY &&
        (r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
         r->element[1]->type != REDIS_REPLY_STRING ||
         !(is_str(r->element[0], "subscribe") || is_str(r->element[0], "message"))))
        abort();
    use(r, pubsub);
}

/* One connection's reads: pieces of `step` bytes. */
static void run(const uint8_t *d, size_t n, size_t step, int pubsub, size_t max, outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    redisReader *rd = redisReaderCreate();
    if (!rd) abort();
    gw_reply_bound_t b;
    gw_reply_bound_attach(&b, rd, max, pubsub, NULL);
    for (size_t off = 0; off < n && !o->ended; off += step) {
        size_t len = n - off < step ? n - off : step;
        char *piece = malloc(len); /* an exact-size read buffer */
        memcpy(piece, d + off, len);
        if (redisReaderFeed(rd, piece, len) != REDIS_OK) abort();
        free(piece);
        for (;;) {
            void *reply = NULL;
            if (redisReaderGetReply(rd, &reply) != REDIS_OK) {
                gw_reply_bound_error(&b, rd->err, rd->errstr);
                o->ended = b.bad ? 1 : 2;
                snprintf(o->why, sizeof(o->why), "%s", b.bad ? b.why : rd->errstr);
                if (!o->why[0]) abort();
                break;
            }
            if (!reply) break;
            if (b.bad) abort(); /* nothing after a refusal */
            check_reply(reply, pubsub, max, o);
            freeReplyObject(reply);
        }
        if (o->ended) break;
        if (gw_reply_bound_check(&b, rd)) {
            o->ended = 1;
            snprintf(o->why, sizeof(o->why), "%s", b.why);
            if (!b.why[0]) abort();
            break;
        }
        if (rd->len - rd->pos > max + 64) {
            fprintf(stderr, "%zu bytes buffered unrefused (max %zu)\n", rd->len - rd->pos, max);
            abort();
        }
    }
    redisReaderFree(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    int pubsub = data[0] & 1;
    static const size_t steps[] = {SIZE_MAX, 1, 5, 64};
    size_t step = steps[(data[0] >> 1) & 3];
    size_t max = (size_t)64 << ((data[0] >> 3) & 7);
    outcome_t a, whole;
    run(data + 1, size - 1, step, pubsub, max, &a);
    if (step != SIZE_MAX) {
        run(data + 1, size - 1, SIZE_MAX, pubsub, max, &whole);
        if (a.replies != whole.replies || a.len != whole.len || memcmp(a.log, whole.log, a.len) ||
            a.ended != whole.ended) {
            fprintf(stderr,
                    "in pieces of %zu: %d replies, end %d (%s); whole: %d replies, end %d (%s)\n",
                    step, a.replies, a.ended, a.why, whole.replies, whole.ended, whole.why);
            abort();
        }
        free(whole.log);
    }
    free(a.log);
    return 0;
}
