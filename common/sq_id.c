/* SPDX-License-Identifier: MIT
 *
 * sq_id.c: random bytes and UUID v4.
 */
#include "sq_id.h"
#include "sq_hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* One pool per thread: threads that create tasks at once (the HTTP API
 * answers each connection on its own thread) must never copy the same
 * bytes out of a shared pool, which would give two tasks one id. */
static _Thread_local unsigned char pool[4096];
static _Thread_local size_t pool_left;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A forked child must never hand out its parent's bytes: it refills on
 * its first use. The handler runs in the child's only thread, the one
 * that forked, whose pool is the one it inherited. (Asking getpid() on
 * every call instead cost a system call per task id: glibc no longer
 * caches the pid.) */
static void
forget_pool(void)
{
    pool_left = 0;
}

static void
watch_forks(void)
{
    pthread_atfork(NULL, NULL, forget_pool);
}

/* SplitMix64 (Steele, Lea, Flood 2014): a bijection of a counter, so a
 * stream never repeats a 64-bit word before 2^64 of them. */
static void
fallback_fill(unsigned char *p, size_t n)
{
    static _Thread_local uint64_t state;
    struct timespec ts;

    if (state == 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)p;
    }
    while (n > 0) {
        uint64_t z = (state += 0x9e3779b97f4a7c15u);
        size_t take = n < sizeof z ? n : sizeof z;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        memcpy(p, &z, take);
        p += take;
        n -= take;
    }
}

static void
refill(void)
{
    size_t got = 0;

    while (got < sizeof pool) {
        ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            /* getrandom cannot fail on Linux >= 3.17 once seeded. Ids
             * drawn here are not looked up before a record is written
             * (enqueue.lua), so a last resort must never repeat itself:
             * a SplitMix64 stream whose state only moves forward,
             * seeded by the clock, the pid and the thread's pool. */
            fallback_fill(pool + got, sizeof pool - got);
            break;
        }
        got += (size_t)n;
    }
    pool_left = sizeof pool;
}

void
sq_random_bytes(void *out, size_t n)
{
    unsigned char *o = out;

    while (n > 0) {
        size_t take;
        if (pool_left == 0) {
            pthread_once(&atfork_once, watch_forks);
            refill();
        }
        take = n < pool_left ? n : pool_left;
        memcpy(o, pool + sizeof pool - pool_left, take);
        /* Never hand out the same bytes twice. */
        memset(pool + sizeof pool - pool_left, 0, take);
        pool_left -= take;
        o += take;
        n -= take;
    }
}

uint64_t
sq_random_below(uint64_t bound)
{
    uint64_t r;
    uint64_t limit;

    if (bound <= 1) {
        return 0;
    }
    limit = UINT64_MAX - UINT64_MAX % bound;
    do {
        sq_random_bytes(&r, sizeof r);
    } while (r >= limit);
    return r % bound;
}

void
sq_uuid_new(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    int o = 0;

    sq_random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* variant 10 */
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0F];
    }
    out[o] = '\0';
}

void
sq_uuid_derive(const char *seed, size_t i, char out[37])
{
    char in[128], h[65];
    int n = snprintf(in, sizeof in, "%.100s/%zu", seed, i), x;

    sq_sha256_hex(in, (size_t)n, h);
    /* the variant nibble: 8, 9, a or b by the low bits of the hash's */
    x = h[16] <= '9' ? h[16] - '0' : h[16] - 'a' + 10;
    snprintf(out, 37, "%.8s-%.4s-4%.3s-%c%.3s-%.12s", h, h + 8, h + 13,
             "89ab"[x & 3], h + 17, h + 20);
}

bool
sq_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != SQ_UUID_LEN) {
        return false;
    }
    for (int i = 0; i < SQ_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return false;
            }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}
